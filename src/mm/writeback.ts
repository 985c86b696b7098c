// Dirtying and writing back page-cache pages: the write side of shared file mappings.
//
//   mm/filemap.c         filemap_page_mkwrite()  (->page_mkwrite of generic_file_vm_ops)
//   mm/memory.c          do_page_mkwrite(), fault_dirty_shared_page(), wp_page_shared(),
//                        finish_mkwrite_fault()
//   mm/page-writeback.c  set_page_dirty(), clear_page_dirty_for_io(), write_cache_pages() for
//                        one page, end_page_writeback() (folio_end_writeback)
//   mm/rmap.c            page_mkclean()
//   mm/filemap.c         __filemap_fdatawait_range(), file_write_and_wait_range() (fsync)
//   mm/gup.c             get_user_pages() of one page (follow_page_pte), and the pin's owner
//                        dirtying the page later
//
// Followed: v6.6. Two kinds of party touch a page's dirty and writeback state without its page
// lock: waiters for writeback (fsync's __filemap_fdatawait_range(), reclaim's folio_wait_writeback()
// in shrink_folio_list(): PG_writeback may be set again by the next writeback while they wait, so
// folio_wait_writeback() loops, c2407cf7d22d), and dirtiers that hold only a reference or a PTE:
// the hardware dirty bit handed over at zap / unmap (zap_present_pte(), try_to_unmap_one()), and a
// get_user_pages() pin whose owner calls set_page_dirty() when its DMA is done.
//
// The protocol (5.9, unchanged since in what matters here): a page is dirtied only under its page
// lock with page->mapping re-checked (page_mkwrite), before its PTE becomes writable; writeback
// locks the page, write-protects every PTE that maps it and clears PG_dirty, sets PG_writeback
// and unlocks, "writes", then clears PG_writeback and wakes PG_writeback waiters. Writeback holds
// no reference of its own while the I/O is in flight: truncation waits for PG_writeback
// (truncate_inode_pages_range pass 2) and reclaim skips pages under writeback, so the page cannot
// be freed before end_page_writeback ("Writeback does not hold a folio reference of its own,
// relying on truncation to wait for the clearing of PG_writeback", mm/filemap.c).
//
// Huge PMDs (--pmd on) are met as PTEs are: a shared write fault on a none PMD maps a PMD-sized
// folio by a writable, dirty PMD (do_set_pmd(), after page_mkwrite), page_mkclean() write-protects
// and cleans it (page_vma_mkclean_one()'s PMD branch), GUP FOLL_WRITE follows it only while it is
// writable (follow_trans_huge_pmd()), and a split hands its dirty bit to the folio
// (src/mm/huge_memory.ts). WB-MKCLEAN checks what page_mkclean() promises writeback, for PTEs and
// PMDs alike: once PG_dirty is cleared for I/O, nothing maps the folio writable or dirty.
import { putPage } from './page_alloc.ts';
import { pageFile } from '../shm/files.ts';
import { ptlSlot, pteNone, ptePfn, ptePresent, pteRead, pteWrite, pteAnon, pteSlot, vmaEnd, vmaShared } from '../shm/mm.ts';
import { PMD_DIRTY, hugePmdPfn, mappingWordAt, mkHugePmd, pmdBits, pmdDirty, pmdRead, pmdTransHuge, pmdWrite, ptlSpan } from '../shm/mm.ts';
import { pteUnlock } from './pgtable.ts';
import { pmdLock, pmdUnlock, pteOffsetMapLock } from './pgtable.ts';
import { mmapReadRelock } from './mmap.ts';
import { PageDirty, PageLocked, PageWriteback, folioHead, folioNrPages, getPage } from '../shm/page.ts';
import { NIL, PG_dirty, PG_free, PG_writeback, PTE_DIRTY, PTE_WRITE } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, WritebackResult } from '../kernel/task.ts';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_RETRY,
  type VmFault,
} from '../kernel/fault.ts';
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
 * and the accounting are not modelled). Any page of a large folio dirties the folio
 * (folio_mark_dirty(page_folio(page)): the flag lives on the head). Returns true if this call
 * dirtied it. */
export function setPageDirty(t: Task, pfn: number): boolean {
  return (Atomics.or(t.shm.flags, folioHead(t.shm, pfn), PG_dirty) & PG_dirty) === 0;
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
  let ptl = yield* pteOffsetMapLock(t, vma, index);
  if (ptl < 0) return VM_FAULT_NOPAGE; // no PTE table (6.6 pte_offset_map_lock() NULL): retried
  yield 'pte_same';
  const orig = pteRead(shm, vma, index);
  if (!ptePresent(orig) || pteAnon(orig) || (orig & PTE_WRITE) !== 0) { // changed before we got the PTL
    pteUnlock(t, ptl);
    return VM_FAULT_NOPAGE;
  }
  // "folio = page_folio(vmf->page)": the lock, the reference and the dirty state are the folio's
  const pfn = folioHead(shm, ptePfn(orig));
  t.page = pfn;
  getPage(shm, pfn); // folio_get(): the PTE's reference keeps it alive until here
  pteUnlock(t, ptl);
  const tmp = yield* t.ops.fault.doPageMkwrite(t, vmf, pfn);
  if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
    yield* putPage(t, pfn);
    return tmp;
  }
  // finish_mkwrite_fault(): "We might have raced with another page fault while we released the
  // pte_offset_map_lock."
  // "vmf->pte = pte_offset_map_lock(...); if (!vmf->pte) return VM_FAULT_NOPAGE;" (6.6)
  ptl = yield* pteOffsetMapLock(t, vma, index);
  t.page = pfn;
  if (ptl >= 0) yield 'pte_same';
  if (ptl < 0 || pteRead(shm, vma, index) !== orig) {
    if (ptl >= 0) pteUnlock(t, ptl);
    yield* t.ops.lock.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return VM_FAULT_NOPAGE;
  }
  yield 'wp_page_reuse';
  pteWrite(shm, vma, index, orig | PTE_WRITE | PTE_DIRTY); // maybe_mkwrite(pte_mkdirty(entry))
  pteUnlock(t, ptl);
  yield* t.ops.fault.faultDirtySharedPage(t, pfn);
  yield* putPage(t, pfn);
  return VM_FAULT_WRITE;
}

// ---- writeback ----------------------------------------------------------------------------

/** page_mkclean() (folio_mkclean): write-protect and clean every PTE of a shared mapping that
 * maps this locked page — of a large folio, every PTE of each of its pages (page_vma_mapped_walk()
 * over the folio's range in each VMA, one PTL per page table) — so the next store faults
 * (wp_page_shared) and dirties it again. Returns the PTEs that were writable or dirty. */
export function* pageMkclean(t: Task, pfn: number): Step<number> {
  const shm = t.shm;
  const file = pageFile(shm, pfn), index = Atomics.load(shm.index, pfn), nr = folioNrPages(shm, pfn);
  if (file < 0) return 0;
  let cleaned = 0;
  for (const vma of vmasOfFile(shm, file)) {
    const from = Math.max(index, shm.vmaPgoff[vma]), to = Math.min(index + nr, vmaEnd(shm, vma));
    let ptl = -1, table = -1;
    for (let i = from; i < to; i++) {
      const page = pfn + i - index;
      t.page = pfn;
      t.aux = i;
      if (table !== ptlSlot(shm, vma, i)) {
        if (ptl >= 0) pteUnlock(t, ptl);
        table = ptlSlot(shm, vma, i);
        cleaned += yield* t.ops.writeback.pageVmaMkcleanPmd(t, vma, i, pfn); // page_vma_mapped_walk() meets a huge PMD first
        ptl = yield* pteOffsetMapLock(t, vma, i); // page_vma_mkclean_one()
      }
      if (ptl < 0) continue; // no table: no PTE (a huge PMD, cleaned above, or none)
      yield 'pte_wrprotect';
      // page_vma_mkclean_one(): "if (!pte_dirty(entry) && !pte_write(entry)) continue;" else
      // ptep_clear_flush(), pte_wrprotect(), pte_mkclean(), set_pte_at(). One RMW here: the hardware
      // sets the dirty bit with a locked RMW on the PTE too (src/scenarios/writeback.ts userStore()).
      const slot = pteSlot(shm, vma, i);
      for (;;) {
        const pte = Atomics.load(shm.ptes, slot);
        if (!ptePresent(pte) || pteAnon(pte) || ptePfn(pte) !== page || !(pte & (PTE_WRITE | PTE_DIRTY))) break;
        if (Atomics.compareExchange(shm.ptes, slot, pte, pte & ~(PTE_WRITE | PTE_DIRTY)) !== pte) continue;
        cleaned++;
        break;
      }
    }
    if (ptl >= 0) pteUnlock(t, ptl);
  }
  return cleaned;
}

/**
 * page_vma_mkclean_one()'s PMD branch (6.6 mm/rmap.c) for the huge PMD of `vma` over `index`, if it
 * maps folio `pfn`: page_vma_mapped_walk() takes the PMD lock for it ("if (pmd_trans_huge(pmde) ||
 * is_pmd_migration_entry(pmde)) { pvmw->ptl = pmd_lock(mm, pvmw->pmd); ... check_pmd()"), then "if
 * (!pmd_dirty(*pmd) && !pmd_write(*pmd)) continue; ... entry = pmdp_invalidate(vma, address, pmd);
 * entry = pmd_wrprotect(entry); entry = pmd_mkclean(entry); set_pmd_at(vma->vm_mm, address, pmd,
 * entry); ret = 1;" — one RMW here, as for a PTE (the MMU sets the dirty bit with one). Returns 1 if
 * it cleaned a writable or dirty PMD. No step where no huge PMD maps the folio (the walk's
 * lockless read).
 */
export function* pageVmaMkcleanPmd(t: Task, vma: number, index: number, pfn: number): Step<number> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index), head = folioHead(shm, pfn);
  const pmde = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmde) || hugePmdPfn(pmde) !== head) return 0;
  t.page = head;
  t.aux = ptlSpan(shm, vma, index)[0];
  const mm = yield* pmdLock(t, vma);
  let cleaned = 0;
  const pmd = Atomics.load(shm.pmd, slot);
  if (pmdTransHuge(pmd) && hugePmdPfn(pmd) === head && pmdBits(pmd) !== 0) {
    yield 'pmdp_invalidate';
    for (let old = Atomics.load(shm.pmd, slot); ; old = Atomics.load(shm.pmd, slot)) {
      if (Atomics.compareExchange(shm.pmd, slot, old, mkHugePmd(head)) === old) break; // pmd_wrprotect(pmd_mkclean())
    }
    cleaned = 1;
  }
  pmdUnlock(t, mm);
  return cleaned;
}

/**
 * WB-MKCLEAN, at the moment writeback clears PG_dirty of locked folio `pfn` for I/O: no PTE or huge
 * PMD of a shared mapping maps any of its pages writable or dirty. folio_clear_dirty_for_io() runs
 * folio_mkclean() first so that a store after the clear faults (wp_page_shared(), wp_huge_pmd()) and
 * dirties the folio again under its lock; a mapping left writable would let data be written that
 * no later writeback knows of. Every mapping is made writable under the folio lock (do_shared_fault(),
 * wp_page_reuse(), do_set_pmd(), remove_migration_pte/pmd() of a locked folio) and a dirty bit is set
 * only through a writable one, so under the lock this holds at any instant. No step: a check.
 */
export function checkMkclean(t: Task, pfn: number): void {
  const shm = t.shm, file = pageFile(shm, pfn), first = Atomics.load(shm.index, pfn), nr = folioNrPages(shm, pfn);
  if (file < 0) return;
  for (const vma of vmasOfFile(shm, file)) {
    const from = Math.max(first, shm.vmaPgoff[vma]), to = Math.min(first + nr, vmaEnd(shm, vma));
    for (let index = from; index < to; index++) {
      const pte = mappingWordAt(shm, vma, index); // a PTE, or the huge PMD over it
      if (!ptePresent(pte) || pteAnon(pte) || ptePfn(pte) !== pfn + index - first || !(pte & (PTE_WRITE | PTE_DIRTY))) continue;
      t.violation('WB-MKCLEAN', pfn, file, index, vma);
      return;
    }
  }
}

/** folio_clear_dirty_for_io() on a locked page: "if (folio_mkclean(folio)) folio_mark_dirty(folio);"
 * (a writable or dirty PTE may hold data written since the page was last cleaned: it goes out
 * with this I/O), then TestClearPageDirty. Returns true if the page was dirty. */
export function* clearPageDirtyForIo(t: Task, pfn: number): Step<boolean> {
  if ((yield* t.ops.writeback.pageMkclean(t, pfn)) > 0) t.ops.writeback.setPageDirty(t, pfn);
  t.page = pfn;
  yield 'TestClearPageDirty';
  const wasDirty = (Atomics.and(t.shm.flags, pfn, ~PG_dirty) & PG_dirty) !== 0;
  checkMkclean(t, pfn);
  return wasDirty;
}

/**
 * write_cache_pages() for one index, WB_SYNC_ALL, with the I/O completed before the next page
 * (so the writer never waits for a page lock with I/O of its own outstanding: in the kernel the
 * bio completes on its own, independently of the submitter):
 *   lookup (a dirty-tagged page) -> lock_page -> "continue_unlock" if truncated or clean ->
 *   wait_on_page_writeback -> clear_page_dirty_for_io -> ->writepage: set_page_writeback,
 *   unlock_page -> put the lookup reference -> I/O -> end_page_writeback.
 * writeCachePages() is the batched form. The halves: writepageStart(), writebackEnd().
 */
export function* writebackPage(t: Task, file: number, index: number, ioSteps = 2): Step<WritebackResult> {
  const io = yield* writepageStart(t, file, index);
  if (typeof io === 'string') return io;
  for (let i = 0; i < ioSteps; i++) {
    t.page = io.pfn;
    yield i === 0 ? 'submit_bio' : 'bio_endio';
  }
  return yield* writebackEnd(t, io, file, index);
}

/** A writeback I/O started by writepageStart(): the page and its allocation generation. */
export interface WritebackIo {
  pfn: number;
  gen: number;
}

/**
 * write_cache_pages()'s part for one page, up to the I/O: lookup (a dirty-tagged page) ->
 * lock_page -> "continue_unlock" if truncated or clean -> folio_wait_writeback (WB_SYNC_ALL) ->
 * folio_clear_dirty_for_io -> ->writepage: set_page_writeback, unlock_page -> put the lookup
 * reference (folio_batch_release()): writeback now holds no reference. The I/O is in flight
 * until writebackEnd().
 */
export function* writepageStart(t: Task, file: number, index: number): Step<WritebackIo | 'clean' | 'gone'> {
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
  Atomics.add(shm.wbSeq, pfn, 1); // odd: this I/O is in flight (WB-WAIT's witness)
  t.writebackStarted(pfn);
  const old = Atomics.or(shm.flags, pfn, PG_writeback);
  if (old & PG_writeback) throw new Error(`set_page_writeback: page ${pfn} is already under writeback`);
  const gen = Atomics.load(shm.stampGen, pfn);
  yield* L.unlockPage(t, pfn); // ->writepage unlocks once the bio is built
  yield* putPage(t, pfn); // folio_batch_release(): writeback now holds no reference
  return { pfn, gen };
}

/**
 * The I/O of writepageStart() completed: folio_end_writeback() takes a reference of its own
 * around the clear-and-wake ("we must make sure that the folio is not freed and reused before the
 * folio_wake_bit()"); before that the page must still be the one we started writing: truncation
 * and reclaim leave a page under writeback alone. A page freed under writeback (its allocation
 * generation moved or it is on the free list) is the kernel's "Bad page state" for PG_writeback
 * at free: FREE-BAD.
 */
export function* writebackEnd(t: Task, io: WritebackIo, file: number, index: number): Step<WritebackResult> {
  const shm = t.shm, { pfn, gen } = io;
  t.page = pfn;
  yield 'folio_get';
  if (Atomics.load(shm.stampGen, pfn) !== gen || (Atomics.load(shm.flags, pfn) & PG_free) || !PageWriteback(shm, pfn)) {
    t.violation('FREE-BAD', pfn, file, index, gen);
    return 'gone';
  }
  getPage(shm, pfn);
  Atomics.add(shm.wbSeq, pfn, 1); // even: the I/O completed (bio_endio), PG_writeback not yet clear
  yield* t.ops.lock.endPageWriteback(t, pfn);
  yield* putPage(t, pfn);
  return 'written';
}

/**
 * write_cache_pages() (v6.6, WB_SYNC_ALL) over [start, end) of `file`, as the kernel batches it:
 * each dirty page is locked, cleaned for I/O, put under writeback and unlocked in index order
 * (the bio is built as it goes: ->writepages adds page after page), so the first pages' I/O is
 * still in flight while the writer locks the next ones; the bio is submitted at the end and its
 * pages complete in order. Returns the pages written.
 */
export function* writeCachePages(t: Task, file: number, start: number, end: number): Step<number> {
  const shm = t.shm, batch: { io: WritebackIo; index: number }[] = [];
  for (let index = start; index < end; index++) {
    const io = yield* writepageStart(t, file, index);
    if (typeof io === 'string') continue;
    batch.push({ io, index });
    // the walk goes on after the folio written ("index = folio->index + folio_nr_pages(folio)",
    // filemap_get_folios_tag()): its other pages went out with it, and locking it again would
    // wait for our own I/O. PG_writeback keeps it from being freed before its end.
    index = Atomics.load(shm.index, io.pfn) + folioNrPages(shm, io.pfn) - 1;
  }
  return yield* writebackSubmitBatch(t, file, batch);
}

/** write_cache_pages()' end: submit the batch's bio, and its pages complete in order. Returns the
 * pages written. */
export function* writebackSubmitBatch(t: Task, file: number, batch: readonly { io: WritebackIo; index: number }[]): Step<number> {
  if (batch.length === 0) return 0;
  t.page = batch[0].io.pfn;
  yield 'submit_bio';
  for (const { io, index } of batch) {
    t.page = io.pfn;
    yield 'bio_endio';
    yield* writebackEnd(t, io, file, index);
  }
  return batch.length;
}

/**
 * __filemap_fdatawait_range() (v6.6): filemap_get_folios_tag(PAGECACHE_TAG_WRITEBACK) over
 * [start, end), then folio_wait_writeback() on each folio found, without its page lock, and
 * folio_batch_release(). The WRITEBACK tag is PG_writeback here (set and cleared with it in
 * __folio_start_writeback() / __folio_end_writeback()); the batch is one page at a time. Nothing
 * stops the next writeback of a page from starting while we wait: folio_wait_writeback() loops
 * until it sees PG_writeback clear.
 */
export function* filemapFdatawaitRange(t: Task, file: number, start: number, end: number): Step {
  const shm = t.shm;
  for (let index = start; index < end; index++) {
    const pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    t.aux = index;
    yield 'PAGECACHE_TAG_WRITEBACK';
    if (PageWriteback(shm, pfn)) yield* t.ops.lock.waitOnPageWriteback(t, pfn); // folio_wait_writeback()
    yield* putPage(t, pfn);
  }
}

/** file_write_and_wait_range() (fsync, v6.6): __filemap_fdatawrite_range() with WB_SYNC_ALL (each
 * dirty page written: write_cache_pages()), then __filemap_fdatawait_range(). */
export function* filemapWriteAndWaitRange(t: Task, file: number, start: number, end: number): Step {
  yield* t.ops.writeback.writeCachePages(t, file, start, end);
  yield* t.ops.writeback.filemapFdatawaitRange(t, file, start, end);
}

// ---- pinned writers (mm/gup.c) --------------------------------------------------------------

/**
 * get_user_pages() of one page (v6.6 __get_user_pages()): follow_page_mask() -> follow_page_pte()
 * under the PTL: a present PTE that allows the access (a file PTE, writable for FOLL_WRITE) gives
 * the page a reference (try_grab_page(): FOLL_GET here; FOLL_PIN's bias is a reference too) and,
 * for FOLL_WRITE, "if ((flags & FOLL_WRITE) && !pte_dirty(pte) && !PageDirty(page))
 * set_page_dirty(page)" (FOLL_TOUCH); otherwise faultin_page() -> handle_mm_fault() and retry.
 * Gives up (NIL) after three faults or on an error (SIGBUS: the page is beyond EOF).
 *
 * `nowait` is FOLL_NOWAIT (KVM's async page fault probe, hva_to_pfn_slow()): faultin_page() runs
 * the fault with "FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT": a page lock that is not free
 * at once (lock_folio_maybe_drop_mmap()'s trylock) makes it VM_FAULT_RETRY "with the mmap lock
 * still held", and faultin_page() returns -EBUSY: no page (NIL). That fault, like any that
 * returns VM_FAULT_RETRY, must hold no page lock (FAULT-RETRY).
 */
export function* getUserPage(t: Task, vma: number, index: number, write: boolean, nowait = false): Step<number> {
  const shm = t.shm;
  for (let tries = 0; tries < 3; tries++) {
    t.page = -1;
    t.aux = index;
    const ptl = yield* pteOffsetMapLock(t, vma, index);
    if (ptl < 0) { // follow_pmd_mask(): no table
      const pfn = yield* followTransHugePmd(t, vma, index, write);
      if (pfn !== NIL) return pfn;
    }
    if (ptl >= 0) yield 'follow_page_pte';
    const pte = ptl >= 0 ? pteRead(shm, vma, index) : 0; // no table: no PTE ("no_page")
    if (ptePresent(pte) && !pteAnon(pte) && (!write || (pte & PTE_WRITE))) { // a migration entry: "no_page", fault it in
      const pfn = ptePfn(pte);
      t.page = pfn;
      getPage(shm, pfn); // try_grab_page(): the PTE's reference keeps it alive until here
      if (write && !(pte & PTE_DIRTY) && !PageDirty(shm, pfn)) t.ops.writeback.setPageDirty(t, pfn);
      pteUnlock(t, ptl);
      return pfn;
    }
    if (ptl >= 0) pteUnlock(t, ptl);
    // faultin_page(); a private mapping's COW copy is anonymous: not the file page this models
    if (!pteNone(pte) && pteAnon(pte)) return NIL;
    if (write && !vmaShared(shm, vma)) return NIL;
    const ret = nowait
      ? yield* t.ops.fault.handleMmFault(t, vma, index, write, (write ? FAULT_FLAG_WRITE : 0) | FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT)
      : yield* t.ops.fault.handleMmFault(t, vma, index, write);
    yield* mmapReadRelock(t, vma); // a VM_FAULT_RETRY that dropped the mmap_lock (src/mm/mmap.ts): take it again
    if (ret >= 0 && (ret & VM_FAULT_ERROR)) return NIL;
    if (nowait && ret >= 0 && (ret & VM_FAULT_RETRY)) {
      const held = t.heldPages();
      if (held.length > 0) t.violation('FAULT-RETRY', held[0], shm.vmaFile[vma], index);
      return NIL; // -EBUSY
    }
  }
  return NIL;
}

/** follow_trans_huge_pmd() (6.6 mm/huge_memory.c) as follow_pmd_mask() reaches it: under the PMD
 * lock, a huge PMD that still maps a folio gives the page at `index` a reference; FOLL_WRITE needs
 * the PMD writable ("if ((flags & FOLL_WRITE) && !can_follow_write_pmd(*pmd, page, vma, flags))
 * return NULL": can_follow_write_pmd() is pmd_write() for a shared file mapping) — else it faults,
 * and wp_huge_pmd() splits —, and FOLL_TOUCH's touch_pmd(vma, addr, pmd, write) sets the PMD's
 * dirty bit for it ("if (write) _pmd = pmd_mkdirty(_pmd)"). Unlike follow_page_pte() it calls no
 * set_page_dirty(): the PMD is writable, so the folio is dirty already (do_set_pmd()). NIL if none. */
function* followTransHugePmd(t: Task, vma: number, index: number, write: boolean): Step<number> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  if (!pmdTransHuge(pmdRead(shm, vma, index)) || (write && !pmdWrite(pmdRead(shm, vma, index)))) return NIL;
  const mm = yield* pmdLock(t, vma);
  const pmd = pmdRead(shm, vma, index);
  let pfn = NIL;
  if (pmdTransHuge(pmd) && (!write || pmdWrite(pmd))) {
    pfn = hugePmdPfn(pmd) + index - ptlSpan(shm, vma, index)[0];
    t.page = pfn;
    getPage(shm, pfn); // try_grab_page(): the PMD's reference keeps it alive until here
    // touch_pmd(): one RMW, as the MMU's dirty bit (a store's may come in between)
    for (let old = pmd; write && !pmdDirty(old); old = Atomics.load(shm.pmd, slot)) {
      if (Atomics.compareExchange(shm.pmd, slot, old, mkHugePmd(hugePmdPfn(old), pmdBits(old) | PMD_DIRTY)) === old) break;
    }
  }
  pmdUnlock(t, mm);
  return pfn;
}

/** The pin's owner wrote into the page (DMA) and is done: set_page_dirty() with only its
 * reference (no page lock; the race __remove_mapping()'s comment draws: "get_user_pages(&page);
 * [user mapping goes away] write_to(page); SetPageDirty(page); put_page(page);"), then put_page().
 * unpin_user_pages_dirty_lock() takes the folio lock around it; callers that hold only the
 * reference are what __remove_mapping()'s re-check after the freeze is for. */
export function* putUserPageDirty(t: Task, pfn: number): Step {
  t.page = pfn;
  yield 'set_page_dirty';
  t.ops.writeback.setPageDirty(t, pfn);
  yield* putPage(t, pfn);
}
