// Patch 4/4 of "[PATCH 0/4] Some more lock_page work.." (Linus Torvalds, 13 Oct 2020, Msg-ID
// CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com): "mm: make
// filemap_map_pages() avoid the page lock if possible". Exactly its changes, applied to the
// 5.12 loop the model runs (the patch was written against the 5.10 alloc_set_pte() code; the
// order of the checks it touches is the same):
//   - re-check PageLocked() after taking the speculative reference;
//   - trylock_page() only if the VMA is VM_SHARED (or the page is compound: the model has no
//     compound pages, so that half of the condition is always false);
//   - the mapping / uptodate / i_size checks run whether or not the page is locked ("It won't
//     hurt, even if it's racy"), and the page is unlocked only if it was locked.
// Kirill's objection (Msg-ID 20201014130555.kdbxyavqoyfnpos3@box, kernel-protocols §1.3, §1.7):
// for a private mapping nothing serialises the checks with truncation any more, so a PTE can be
// installed for a page truncation has already removed (mapping == NULL) beyond the new EOF.
//
// As a table: only vmOps.nextUptodatePage changes; mainline filemap_map_pages() calls it and
// installs what it returns (unlocking only what came back locked).
import { putPage } from '../../mm/page_alloc.ts';
import { iSizeRead, maxIndex, xaLoad } from '../../shm/files.ts';
import { vmaShared } from '../../shm/mm.ts';
import { PageLocked, PageReadahead, PageUptodate, pageTryGet } from '../../shm/page.ts';
import { NIL } from '../../shm/shm.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

export function* nextUptodatePagePatch4(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
  const shm = t.shm, file = vmf.file;
  const shared = vmaShared(shm, vmf.vma);
  for (let index = from; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_next_entry';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    yield 'PageLocked';
    if (PageLocked(shm, pfn)) {
      t.stat('skippedLocked');
      continue;
    }
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue;
    let locked = false;
    check: {
      yield 'xas_reload';
      if (xaLoad(shm, file, index) !== pfn) break check;
      // "also recheck the page lock after getting the reference, so that any page lockers will
      // have seen us incrementing it or not see us at all."
      yield 'PageLocked';
      if (PageLocked(shm, pfn)) break check;
      yield 'PageUptodate';
      if (!PageUptodate(shm, pfn) || PageReadahead(shm, pfn)) break check;
      // "We only need to be really careful about races with truncate etc for shared mappings."
      if (shared) {
        if (!(yield* t.ops.lock.trylockPage(t, pfn))) break check;
        locked = true;
        t.page = pfn;
      }
      // "Even if we don't get the page lock, we'll re-check the page mapping and the mapping
      // size. It won't hurt, even if it's racy."
      yield 'page->mapping';
      if (Atomics.load(shm.mapping, pfn) === file + 1 && PageUptodate(shm, pfn)) {
        yield 'i_size_read';
        if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked };
      }
      if (locked) yield* t.ops.lock.unlockPage(t, pfn); // unlock:
    }
    yield* putPage(t, pfn); // skip:
  }
  return null;
}

export const patch4: Variant = {
  name: 'patch4',
  kind: 'map-pages',
  summary: "Linus's patch 4 (Oct 2020): no trylock_page() in map_pages for private mappings, PageLocked re-checked after the speculative ref",
  source: 'Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com (0004-mm-make-filemap_map_pages-avoid-the-page-lock-if-pos.patch); rejected (Kirill, 20201014130555.kdbxyavqoyfnpos3@box)',
  expected: ['MAP-CACHE', 'MAP-EOF', 'DATA-STAMP', 'DEL-LOCKED'],
  reasoning: "Kirill's objection: for a private mapping nothing serialises the unlocked checks with truncation, so a PTE is installed for a page truncation already removed (mapping == NULL) beyond the new EOF; a 2-context-switch race",
  ops: () => ({ vmOps: { nextUptodatePage: nextUptodatePagePatch4 } }),
};
