// Self-test mutant: a mapper that skips the page->mapping re-check after trylock_page().
//
// The bug: between the speculative lookup (folio_try_get + xas_reload) and trylock_page() the page
// can be truncated — deleted from the page cache, page->mapping = NULL — and the file grown back
// (i_size restored) by a later truncate_setsize(). Mainline's "page->mapping != mapping -> unlock"
// (kernel-protocols §3.4 step 7, "truncated/reclaimed under us") is the only check that sees it:
// the page is still uptodate, and i_size is below the new EOF again. Without it the mapper
// installs a PTE for a page the page cache no longer holds.
//
// Must trip: MAP-CACHE (zap_pte_range's check, the live and quiescent checks: the PTE maps a page
// that is not the page cache's page there) or DATA-STAMP (a reader through that PTE sees a page
// the page cache no longer has at that index). Run it with --map-pages map-norecheck-mapping.
// As a table: vmOps.nextUptodatePage only; mainline filemap_map_pages() maps what it returns.
import { putPage } from '../../mm/page_alloc.ts';
import { iSizeRead, maxIndex, xaLoad } from '../../shm/files.ts';
import { PageLocked, PageReadahead, PageUptodate, pageTryGet } from '../../shm/page.ts';
import { NIL } from '../../shm/shm.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

/** nextUptodatePage() (src/mm/filemap.ts) with the mapping re-check left out. */
function* nextUptodatePageNoMappingCheck(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
  const shm = t.shm, file = vmf.file;
  for (let index = from; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_next_entry';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    yield 'PageLocked';
    if (PageLocked(shm, pfn)) continue;
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue;
    yield 'xas_reload';
    if (xaLoad(shm, file, index) === pfn) {
      yield 'PageUptodate';
      if (PageUptodate(shm, pfn) && !PageReadahead(shm, pfn)) {
        if (yield* t.ops.lock.trylockPage(t, pfn)) {
          t.page = pfn;
          // BUG: no "if (folio->mapping != mapping) goto unlock;"
          yield 'PageUptodate';
          if (PageUptodate(shm, pfn)) {
            yield 'i_size_read';
            if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked: true };
          }
          yield* t.ops.lock.unlockPage(t, pfn);
        }
      }
    }
    yield* putPage(t, pfn);
  }
  return null;
}

export const mapNoRecheckMapping: Variant = {
  name: 'map-norecheck-mapping',
  kind: 'map-pages',
  summary: 'self-test: map_pages without the page->mapping re-check after trylock_page()',
  source: 'mutant of next_uptodate_folio() (kernel-protocols §3.4 step 7)',
  expected: ['MAP-CACHE', 'DATA-STAMP'],
  reasoning: 'a page truncated (and the file grown back) between the lookup and trylock_page() is mapped though the page cache no longer holds it',
  hidden: true,
  ops: () => ({ vmOps: { nextUptodatePage: nextUptodatePageNoMappingCheck } }),
};
