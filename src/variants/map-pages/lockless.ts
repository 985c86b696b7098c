// What the two lockless map_pages proposals of 2020 share (Linus, Msg-ID
// CAHk-=wjXBv0ZKqH4muuo2j4bH2km=7wedrEeQJxY6g2JcdOZSQ@mail.gmail.com; Willy, Msg-ID
// 20200915033210.GA5449@casper.infradead.org): the page is found without trylock_page(), the
// mapper raises the mapcount under the PTL and then re-checks a page bit the remover sets before
// it looks at the mapcount (PG_locked for Linus, !PG_uptodate for Willy), and backs out if it
// lost the race. kernel-protocols §1.8 explains the handshake.
//
// The cost both share, and why their truncate side deletes with a relaxed assertion: between
// the mapper's increment and its back-out the mapcount of a page someone else holds locked is
// transiently >= 0 although no PTE maps it. The remover may look at page_mapped() just before the
// increment (sees -1, does not unmap) and delete the page just after it: the kernel's
// VM_BUG_ON_FOLIO(folio_mapped(folio)) in filemap_unaccount_folio() — the model's DEL-LOCKED
// mapcount test in pageCacheDelete() — fires although the mapper is about to back out and never
// sets a PTE. That is an artefact of the assertion, not a bug of the protocol: the assertion is
// there to catch a PTE left pointing at a deleted page, and page_mapped() stops being an exact
// witness of that once mappers may raise the mapcount without the page lock. Either proposal,
// merged, would have to relax it. The relaxed assertion here checks what the original meant: at
// deletion the page is locked and no PTE of the file's VMAs maps it (a walk of the page tables
// at that index, as rmap would do). A real "deleted while mapped" — a PTE set for a page the
// remover did not see mapped — still trips DEL-LOCKED here, and MAP-CACHE / DATA-STAMP after.
// As a table: the proposals replace pagecache.filemapRemoveFolio with filemapRemoveFolioRelaxed
// below (truncation is its only caller; reclaim deletes through __remove_mapping(), whose
// refcount freeze already excludes a mapper holding its lookup reference).
import { putPage } from '../../mm/page_alloc.ts';
import { iSizeRead, maxIndex, slotOf, xaLoad, xaStore } from '../../shm/files.ts';
import { pteAnon, ptePfn, ptePresent, pteRead, vmaContains } from '../../shm/mm.ts';
import { PageLocked, PageReadahead, PageUptodate, folioNrPages, pageTryGet } from '../../shm/page.ts';
import { NIL, PG_locked, type Shm } from '../../shm/shm.ts';
import { spinLock, spinUnlock } from '../../locks/spinlock.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import { vmasOfFile } from '../../mm/rmap.ts';
import type { Step } from '../../kernel/step.ts';

/**
 * next_uptodate_page() without trylock_page(): skip if locked -> try_get -> xas_reload ->
 * uptodate && !readahead -> mapping -> i_size, all without the page lock ("racy, but it won't
 * hurt": the handshake under the PTL is what serialises against removal). Returns the page
 * referenced, not locked.
 */
export function* nextPageNoLock(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
  const shm = t.shm, file = vmf.file;
  for (let index = from; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_next_entry';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    // the cheap pre-check stays: it is about not disturbing lockers with a reference, not safety
    yield 'PageLocked';
    if (PageLocked(shm, pfn)) {
      t.stat('skippedLocked');
      continue;
    }
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue;
    check: {
      yield 'xas_reload';
      if (xaLoad(shm, file, index) !== pfn) break check;
      yield 'PageUptodate';
      if (!PageUptodate(shm, pfn) || PageReadahead(shm, pfn)) break check;
      yield 'page->mapping';
      if (Atomics.load(shm.mapping, pfn) !== file + 1) break check;
      yield 'i_size_read';
      if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked: false };
    }
    yield* putPage(t, pfn); // skip:
  }
  return null;
}

/** The mapper lost the handshake: page_remove_rmap() (undo the increment; PTL still held), then
 * drop the lookup reference. No PTE was set. */
export function* backOut(t: Task, pfn: number): Step<false> {
  yield* t.ops.rmap.pageRemoveRmap(t, pfn);
  t.stat('backedOut');
  yield* putPage(t, pfn);
  return false;
}

/** Does a file PTE of `file`'s VMAs map `pfn` at `index`? (an rmap walk; no PTL: an instantaneous
 * read, which is enough where every installer of such a PTE is excluded by the caller's locks) */
export function pteMapsPage(shm: Shm, pfn: number, file: number, index: number): boolean {
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaContains(shm, vma, index)) continue;
    const pte = pteRead(shm, vma, index);
    if (ptePresent(pte) && !pteAnon(pte) && ptePfn(pte) === pfn) return true;
  }
  return false;
}

/**
 * filemap_remove_folio() (pagecache.filemapRemoveFolio) for a protocol whose mappers raise the
 * mapcount without the page lock:
 * page_cache_delete() under the i_pages lock, with the relaxed assertion explained at the top of
 * this file — DEL-LOCKED if the page is not locked by us or a PTE maps it; a mapcount >= 0 with
 * no PTE is a mapper inside its back-out window (counted as deletedTransient, not reported).
 */
export function* filemapRemoveFolioRelaxed(t: Task, pfn: number, file: number): Step {
  const shm = t.shm;
  t.page = pfn;
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_cache_delete';
  const flags = Atomics.load(shm.flags, pfn), owner = Atomics.load(shm.owner, pfn);
  const mapcount = Atomics.load(shm.mapcount, pfn);
  const index = Atomics.load(shm.index, pfn), nr = folioNrPages(shm, pfn); // a large folio: each of its pages
  let ptes = false, raised = mapcount >= 0;
  for (let i = 0; i < nr; i++) {
    ptes ||= pteMapsPage(shm, pfn + i, file, index + i);
    raised ||= Atomics.load(shm.mapcount, pfn + i) >= 0;
  }
  if ((flags & PG_locked) === 0 || (owner !== 0 && owner !== t.id + 1) || ptes)
    t.violation('DEL-LOCKED', pfn, flags, mapcount, owner);
  else if (raised) t.stat('deletedTransient');
  for (let i = 0; i < nr; i++) {
    if (Atomics.load(shm.slots, slotOf(shm, file, index + i)) === pfn + 1) xaStore(shm, file, index + i, NIL);
    else t.violation('MAP-CACHE', pfn, file, index + i); // deleting a page that is not in the cache
  }
  for (let i = nr - 1; i >= 0; i--) Atomics.store(shm.mapping, pfn + i, 0);
  Atomics.sub(shm.nrpages, file, nr);
  spinUnlock(shm.iPagesLock, file);
}
