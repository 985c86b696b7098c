// Dirtying and writing back page-cache pages: the write side of shared file mappings.
//
//   mm/filemap.c         filemap_page_mkwrite()  (->page_mkwrite of generic_file_vm_ops)
//   mm/memory.c          do_page_mkwrite(), fault_dirty_shared_page(), wp_page_shared(),
//                        finish_mkwrite_fault()
//   mm/page-writeback.c  set_page_dirty(), clear_page_dirty_for_io(), write_cache_pages() for
//                        one page, end_page_writeback() (folio_end_writeback)
//   mm/rmap.c            page_mkclean()
//
// The protocol (5.9, unchanged since in what matters here): a page is dirtied only under its page
// lock with page->mapping re-checked (page_mkwrite), before its PTE becomes writable; writeback
// locks the page, write-protects every PTE that maps it and clears PG_dirty, sets PG_writeback
// and unlocks, "writes", then clears PG_writeback and wakes PG_writeback waiters. Writeback holds
// no reference of its own while the I/O is in flight: truncation waits for PG_writeback
// (truncate_inode_pages_range pass 2) and reclaim skips pages under writeback, so the page cannot
// be freed before end_page_writeback ("Writeback does not hold a folio reference of its own,
// relying on truncation to wait for the clearing of PG_writeback", mm/filemap.c).
import { putPage } from './page_alloc.ts';
import { pageFile } from '../shm/files.ts';
import { pteNone, ptePfn, pteRead, pteWrite, pteAnon, vmaContains } from '../shm/mm.ts';
import { pteUnlock } from './pgtable.ts';
import { pteLock } from './pgtable.ts';
import { PageLocked, PageWriteback, getPage } from '../shm/page.ts';
import { NIL, PG_dirty, PG_free, PG_writeback, PTE_WRITE } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, WritebackResult } from '../kernel/task.ts';
import { VM_FAULT_ERROR, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, type VmFault } from '../kernel/fault.ts';
import { vmasOfFile } from './rmap.ts';

/** do_wp_page()'s code for a write fault that made the PTE writable (VM_FAULT_WRITE). */
export const VM_FAULT_WRITE = 0x0008;

// ---- VM_FAULT_LOCKED hand-overs -----------------------------------------------------------

/**
 * VM_BUG_ON_PAGE(!PageLocked(page), page) where a fault path is told VM_FAULT_LOCKED: the page
 * must be locked, and by us (the shadow owner; 0 is a lock hand-off the new owner has not yet
 * recorded, which cannot be ours to have missed). FAULT-LOCKED otherwise.
 */
export function vmFaultLockedCheck(t: Task, pfn: number): void {
  const owner = Atomics.load(t.shm.owner, pfn);
  // the owner is in the record's page state; the values say which page, as at filemap_fault()'s check
  if (!PageLocked(t.shm, pfn) || (owner !== 0 && owner !== t.id + 1)) t.violation('FAULT-LOCKED', pfn, pageFile(t.shm, pfn), Atomics.load(t.shm.index, pfn));
}

// ---- dirtying -------------------------------------------------------------------------------

/** set_page_dirty() -> __set_page_dirty_nobuffers(): TestSetPageDirty (the xarray's DIRTY tag
 * and the accounting are not modelled). Returns true if this call dirtied it. */
export function setPageDirty(t: Task, pfn: number): boolean {
  return (Atomics.or(t.shm.flags, pfn, PG_dirty) & PG_dirty) === 0;
}

/**
 * filemap_page_mkwrite(): lock the page; if truncation took it meanwhile
 * (page->mapping != inode->i_mapping) unlock and return VM_FAULT_NOPAGE (the fault is retried);
 * else dirty it and wait_for_stable_page() (a wait for writeback when the device wants stable
 * pages: t.options['stable-pages'], default on), and return VM_FAULT_LOCKED with the page locked.
 */
export function* filemapPageMkwrite(t: Task, vmf: VmFault, pfn: number): Step<number> {
  const shm = t.shm;
  yield* t.ops.lock.lockPage(t, pfn);
  t.page = pfn;
  t.aux = vmf.index;
  yield 'page->mapping';
  if (Atomics.load(shm.mapping, pfn) !== vmf.file + 1) {
    yield* t.ops.lock.unlockPage(t, pfn);
    return VM_FAULT_NOPAGE;
  }
  // "We mark the page dirty already here so that when freeze is in progress, we are guaranteed
  // that writeback during freezing will see the dirty page and writeprotect it again."
  yield 'set_page_dirty';
  t.ops.writeback.setPageDirty(t, pfn);
  if (t.options['stable-pages'] !== false) yield* t.ops.lock.waitOnPageWriteback(t, pfn); // wait_for_stable_page()
  return VM_FAULT_LOCKED;
}

/**
 * do_page_mkwrite(): ->page_mkwrite with the page unlocked; errors and NOPAGE pass through; if it
 * did not return the page locked, lock it and re-check page->mapping (0 = retry the fault), else
 * VM_BUG_ON_PAGE(!PageLocked). Returns with VM_FAULT_LOCKED and the page locked, or the failure.
 */
export function* doPageMkwrite(t: Task, vmf: VmFault, pfn: number): Step<number> {
  let ret = yield* t.ops.vmOps.pageMkwrite(t, vmf, pfn);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret;
  if (!(ret & VM_FAULT_LOCKED)) {
    yield* t.ops.lock.lockPage(t, pfn);
    t.page = pfn;
    yield 'page->mapping';
    if (Atomics.load(t.shm.mapping, pfn) === 0) {
      yield* t.ops.lock.unlockPage(t, pfn);
      return 0; // retry
    }
    ret |= VM_FAULT_LOCKED;
  } else {
    vmFaultLockedCheck(t, pfn);
  }
  return ret;
}

/** fault_dirty_shared_page(): set_page_dirty(), then unlock_page() (balance_dirty_pages() is not
 * modelled). The page was locked by the fault path. */
export function* faultDirtySharedPage(t: Task, pfn: number): Step<number> {
  t.page = pfn;
  yield 'set_page_dirty';
  t.ops.writeback.setPageDirty(t, pfn);
  yield* t.ops.lock.unlockPage(t, pfn);
  return 0;
}

/**
 * do_wp_page() -> wp_page_shared(): a write to a present, read-only PTE of a shared mapping
 * (writeback write-protected it, or it was mapped by a read fault). Under the PTL the PTE still
 * maps the page: take a reference, drop the PTL, do_page_mkwrite() (locks and dirties the page),
 * then finish_mkwrite_fault(): retake the PTL and make the PTE writable only if it did not change
 * meanwhile (pte_same), else VM_FAULT_NOPAGE. fault_dirty_shared_page() unlocks.
 */
export function* doWpPageShared(t: Task, vmf: VmFault): Step<number> {
  const shm = t.shm, { vma, index } = vmf;
  t.page = -1;
  t.aux = index;
  let ptl = yield* pteLock(t, vma, index);
  yield 'pte_same';
  const orig = pteRead(shm, vma, index);
  if (pteNone(orig) || pteAnon(orig) || (orig & PTE_WRITE) !== 0) { // changed before we got the PTL
    pteUnlock(t, ptl);
    return VM_FAULT_NOPAGE;
  }
  const pfn = ptePfn(orig);
  t.page = pfn;
  getPage(shm, pfn); // get_page(vmf->page): the PTE's reference keeps it alive until here
  pteUnlock(t, ptl);
  const tmp = yield* t.ops.fault.doPageMkwrite(t, vmf, pfn);
  if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
    yield* putPage(t, pfn);
    return tmp;
  }
  // finish_mkwrite_fault(): "We might have raced with another page fault while we released the
  // pte_offset_map_lock."
  ptl = yield* pteLock(t, vma, index);
  t.page = pfn;
  yield 'pte_same';
  if (pteRead(shm, vma, index) !== orig) {
    pteUnlock(t, ptl);
    yield* t.ops.lock.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return VM_FAULT_NOPAGE;
  }
  yield 'wp_page_reuse';
  pteWrite(shm, vma, index, orig | PTE_WRITE);
  pteUnlock(t, ptl);
  yield* t.ops.fault.faultDirtySharedPage(t, pfn);
  yield* putPage(t, pfn);
  return VM_FAULT_WRITE;
}

// ---- writeback ----------------------------------------------------------------------------

/** page_mkclean(): write-protect every PTE of a shared mapping that maps this locked page, so
 * the next store faults (wp_page_shared) and dirties it again. Returns the PTEs cleaned. */
export function* pageMkclean(t: Task, pfn: number): Step<number> {
  const shm = t.shm;
  const file = pageFile(shm, pfn), index = Atomics.load(shm.index, pfn);
  if (file < 0) return 0;
  let cleaned = 0;
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaContains(shm, vma, index)) continue;
    t.page = pfn;
    t.aux = index;
    const ptl = yield* pteLock(t, vma, index); // page_vma_mkclean_one()
    yield 'pte_wrprotect';
    const pte = pteRead(shm, vma, index);
    if (!pteNone(pte) && !pteAnon(pte) && ptePfn(pte) === pfn && (pte & PTE_WRITE)) {
      pteWrite(shm, vma, index, pte & ~PTE_WRITE);
      cleaned++;
    }
    pteUnlock(t, ptl);
  }
  return cleaned;
}

/** clear_page_dirty_for_io() on a locked page: page_mkclean(), then TestClearPageDirty. (A PTE
 * that was writable may have dirtied the page again: page_mkclean() returning true re-dirties it
 * in the kernel; the model has no PTE dirty bit, so the page's PG_dirty already says it.)
 * Returns true if the page was dirty. */
export function* clearPageDirtyForIo(t: Task, pfn: number): Step<boolean> {
  yield* t.ops.writeback.pageMkclean(t, pfn);
  t.page = pfn;
  yield 'TestClearPageDirty';
  return (Atomics.and(t.shm.flags, pfn, ~PG_dirty) & PG_dirty) !== 0;
}

/**
 * write_cache_pages() for one index, WB_SYNC_ALL, with the I/O completed before the next page
 * (so the writer never waits for a page lock with I/O of its own outstanding: in the kernel the
 * bio completes on its own, independently of the submitter):
 *   lookup (a dirty-tagged page) -> lock_page -> "continue_unlock" if truncated or clean ->
 *   wait_on_page_writeback -> clear_page_dirty_for_io -> ->writepage: set_page_writeback,
 *   unlock_page -> put the lookup reference -> I/O -> end_page_writeback.
 * end_page_writeback takes a reference of its own around the clear-and-wake ("we must make sure
 * that the folio is not freed and reused before the folio_wake_bit()"); before that the page
 * must still be the one we started writing: truncation and reclaim leave a page under
 * writeback alone. A page freed under writeback (its allocation generation moved or it is on
 * the free list) is the kernel's "Bad page state" for PG_writeback at free: FREE-BAD.
 */
export function* writebackPage(t: Task, file: number, index: number, ioSteps = 2): Step<WritebackResult> {
  const shm = t.shm, L = t.ops.lock;
  const pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
  if (pfn === NIL) return 'gone';
  t.page = pfn;
  yield 'PageDirty'; // the DIRTY tag lookup
  if (!(Atomics.load(shm.flags, pfn) & PG_dirty)) {
    yield* putPage(t, pfn);
    return 'clean';
  }
  yield* L.lockPage(t, pfn);
  t.page = pfn;
  t.aux = index;
  yield 'page->mapping';
  if (Atomics.load(shm.mapping, pfn) !== file + 1 || !(Atomics.load(shm.flags, pfn) & PG_dirty)) {
    yield* L.unlockPage(t, pfn); // continue_unlock: truncated, or someone wrote it for us
    yield* putPage(t, pfn);
    return Atomics.load(shm.mapping, pfn) !== file + 1 ? 'gone' : 'clean';
  }
  yield* L.waitOnPageWriteback(t, pfn);
  if (!(yield* t.ops.writeback.clearPageDirtyForIo(t, pfn))) {
    yield* L.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return 'clean';
  }
  t.page = pfn;
  yield 'set_page_writeback';
  t.writebackStarted(pfn);
  const old = Atomics.or(shm.flags, pfn, PG_writeback);
  if (old & PG_writeback) throw new Error(`set_page_writeback: page ${pfn} is already under writeback`);
  const gen = Atomics.load(shm.stampGen, pfn);
  yield* L.unlockPage(t, pfn); // ->writepage unlocks once the bio is built
  yield* putPage(t, pfn); // folio_batch_release(): writeback now holds no reference
  for (let i = 0; i < ioSteps; i++) {
    t.page = pfn;
    yield i === 0 ? 'submit_bio' : 'bio_endio';
  }
  // folio_end_writeback(): folio_get() — legal only if the page was kept alive for us
  t.page = pfn;
  yield 'folio_get';
  if (Atomics.load(shm.stampGen, pfn) !== gen || (Atomics.load(shm.flags, pfn) & PG_free) || !PageWriteback(shm, pfn)) {
    t.violation('FREE-BAD', pfn, file, index, gen);
    return 'gone';
  }
  getPage(shm, pfn);
  yield* L.endPageWriteback(t, pfn);
  yield* putPage(t, pfn);
  return 'written';
}
