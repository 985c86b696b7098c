// Self-test mutant `--variant rmap-unmap-stale-pte` (hidden): try_to_unmap()'s rmap walk that
// decides which PTE maps the page from a read made before it took the PTL, and unmaps what it read.
//
// The walk's guards (6.6 mm/rmap.c rmap_walk_file(), mm/page_vma_mapped.c): i_mmap_lock_read() holds
// the VMA tree still (the model's VMAs never change, so it is a schedule point here), the walk stops
// early once folio_not_mapped() (rwc->done), and page_vma_mapped_walk() may skip a none PTE without
// the lock but re-checks a PTE under the PTL (map_pte() -> check_pte()) before try_to_unmap_one()
// clears it. The early exit alone is harmless to reclaim — shrink_folio_list() re-tests
// folio_mapped() after try_to_unmap() and __remove_mapping()'s refcount freeze fails while any PTE
// holds a reference (test/mm/pte-alloc.test.ts steps an exit after the first VMA) —; the re-check
// under the PTL is what the walk itself must not lose: a zap (MADV_DONTNEED, truncation's
// unmap_mapping_range(), which hold no page lock) may clear the PTE between the read and the lock.
//
// Must trip: the page's mapcount and reference are dropped a second time. With one more mapping
// left the early exit then trusts the wrong mapcount: folio_not_mapped() with a VMA not yet
// visited, and the freeze succeeds on the references left: the page is freed while that VMA's PTE
// maps it (FREE-BAD, MAP-CACHE, DATA-STAMP); else MAP-COUNT (below -1) and REF-COUNT. As a table:
// rmap.tryToUnmap only.
import { pageFile } from '../../shm/files.ts';
import { pageMapped } from '../../shm/page.ts';
import { pteAnon, pteNone, ptePfn, pteRead, vmaContains } from '../../shm/mm.ts';
import { pteLock, pteUnlock } from '../../mm/pgtable.ts';
import { vmasOfFile } from '../../mm/rmap.ts';
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

function* tryToUnmapStalePte(t: Task, pfn: number): Step<boolean> {
  const shm = t.shm;
  const file = pageFile(shm, pfn), index = Atomics.load(shm.index, pfn);
  if (file < 0) return !pageMapped(shm, pfn);
  t.page = pfn;
  t.aux = index;
  yield 'i_mmap_lock_read';
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaContains(shm, vma, index)) continue;
    t.page = pfn;
    t.aux = index;
    yield 'page_vma_mapped_walk';
    const pte = pteRead(shm, vma, index); // BUG (deliberate): read before the PTL, never re-checked under it
    if (pteNone(pte) || pteAnon(pte) || ptePfn(pte) !== pfn) continue;
    const ptl = yield* pteLock(t, vma, index);
    yield* t.ops.rmap.zapPte(t, vma, index, pte);
    pteUnlock(t, ptl);
    t.page = pfn;
    yield 'folio_not_mapped';
    if (!pageMapped(shm, pfn)) break; // rwc->done(folio)
  }
  return !pageMapped(shm, pfn);
}

export const rmapUnmapStalePte: Variant = {
  name: 'rmap-unmap-stale-pte',
  kind: 'variant',
  summary: "self-test: try_to_unmap()'s walk unmaps a PTE it read before taking the PTL (no check_pte() under the lock)",
  source: 'mutant of try_to_unmap() / page_vma_mapped_walk() (6.6 mm/rmap.c, mm/page_vma_mapped.c)',
  expected: ['MAP-COUNT', 'REF-COUNT', 'FREE-BAD', 'DEL-LOCKED', 'MAP-CACHE', 'DATA-STAMP'],
  reasoning: 'a zap that clears the PTE between the walk\'s read and its PTL makes the walk unmap it again: the page\'s mapcount '
    + 'and reference are dropped twice, and the early exit (folio_not_mapped()) may then stop before a VMA that still maps the page, '
    + 'which reclaim frees',
  hidden: true,
  ops: () => ({ rmap: { tryToUnmap: tryToUnmapStalePte } }),
};
