// mm/filemap.c: the page-cache lookup (lockless), add and delete, filemap_map_pages() (the
// fault-around ->map_pages) and filemap_fault() (the ->fault), in mainline order.
//
// The guarantee these paths give truncation (kernel-protocols §4.3): a file PTE is installed only
// while the page is locked and after its mapping and i_size were re-checked under that lock; a
// page leaves the cache only while locked and unmapped.
import { allocPage, putPage } from './page_alloc.ts';
import { PAGE_SIZE, iSizeRead, maxIndex, slotOf, xaLoad, xaStore } from '../shm/files.ts';
import { pteNone, pteRead, ptlSlot } from '../shm/mm.ts';
import { pteUnlock } from './pgtable.ts';
import { pteLock } from './pgtable.ts';
import { PageLocked, PageReadahead, PageUptodate, SetPageUptodate, getPage, pageTryGet } from '../shm/page.ts';
import { __ClearPageLocked } from '../locks/common.ts';
import { __SetPageLocked } from '../locks/common.ts';
import { NIL, PG_locked } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, NextPage, VmOps } from '../kernel/task.ts';
import {
  FAULT_FLAG_KILLABLE, FAULT_FLAG_RETRY_NOWAIT, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  faultFlagAllowRetryFirst, type FaultResult, type VmFault,
} from '../kernel/fault.ts';
import { LD_PAGE } from '../kernel/task.ts';

// (the type lives with the tables; re-exported for the modules and plug-ins that import it here)
export type { NextPage } from '../kernel/task.ts';

// ---- lookup ------------------------------------------------------------------------------

/**
 * filemap_get_entry() / find_get_page(): the lockless lookup (comment above filemap_get_entry):
 * load the slot, folio_try_get() (increment unless zero: a free or frozen page is not pinned),
 * then xas_reload() — the page may have been deleted and even reused before the pin — else put
 * and retry. Returns the page with a reference, or NIL.
 */
export function* findGetPage(t: Task, file: number, index: number): Step<number> {
  const shm = t.shm;
  t.aux = index;
  for (;;) {
    t.page = -1;
    yield 'xas_load';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) return NIL;
    t.page = pfn;
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue; // frozen by reclaim or freed: "goto repeat"
    yield 'xas_reload';
    if (xaLoad(shm, file, index) === pfn) return pfn;
    yield* putPage(t, pfn);
  }
}

// ---- add and delete ----------------------------------------------------------------------

/**
 * __filemap_add_folio(): insert a locked new page (the caller's reference stays the caller's; the
 * page cache takes its own). Returns false if the slot is taken (-EEXIST).
 */
export function* filemapAddFolio(t: Task, pfn: number, file: number, index: number): Step<boolean> {
  const shm = t.shm;
  t.page = pfn;
  t.aux = index;
  if (!PageLocked(shm, pfn)) t.violation('FAULT-LOCKED', pfn, file, index); // VM_BUG_ON_FOLIO(!folio_test_locked)
  getPage(shm, pfn); // folio_ref_add(folio, nr): the page cache's reference
  Atomics.store(shm.mapping, pfn, file + 1);
  Atomics.store(shm.index, pfn, index);
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  if (xaLoad(shm, file, index) !== NIL) {
    spinUnlock(shm.iPagesLock, file);
    Atomics.store(shm.mapping, pfn, 0);
    Atomics.sub(shm.refcount, pfn, 1); // folio_put_refs(): the caller still holds one
    return false;
  }
  yield 'xas_store';
  xaStore(shm, file, index, pfn);
  Atomics.add(shm.nrpages, file, 1);
  spinUnlock(shm.iPagesLock, file);
  return true;
}

/**
 * page_cache_delete() with the i_pages lock held: clear the slot, page->mapping = NULL ("Leave
 * page->index set: truncation lookup relies upon it"), nrpages--. DEL-LOCKED: the kernel's
 * VM_BUG_ON_FOLIO(!folio_test_locked) and filemap_unaccount_folio()'s "still mapped when deleted".
 */
export function pageCacheDelete(t: Task, pfn: number, file: number): void {
  const shm = t.shm;
  const flags = Atomics.load(shm.flags, pfn), owner = Atomics.load(shm.owner, pfn);
  const mapcount = Atomics.load(shm.mapcount, pfn);
  if ((flags & PG_locked) === 0 || (owner !== 0 && owner !== t.id + 1) || mapcount >= 0)
    t.violation('DEL-LOCKED', pfn, flags, mapcount, owner);
  const index = Atomics.load(shm.index, pfn);
  if (Atomics.load(shm.slots, slotOf(shm, file, index)) === pfn + 1) xaStore(shm, file, index, NIL);
  else t.violation('MAP-CACHE', pfn, file, index); // deleting a page that is not in the cache
  Atomics.store(shm.mapping, pfn, 0);
  Atomics.sub(shm.nrpages, file, 1);
}

/** filemap_remove_folio(): delete under the i_pages lock. The page cache's reference is the
 * caller's to drop (filemap_free_folio()). */
export function* filemapRemoveFolio(t: Task, pfn: number, file: number): Step {
  t.page = pfn;
  yield* spinLock(t, t.shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_cache_delete';
  t.ops.pagecache.pageCacheDelete(t, pfn, file);
  spinUnlock(t.shm.iPagesLock, file);
}

/** delete_from_page_cache(): remove, then drop the page cache's reference. */
export function* deleteFromPageCache(t: Task, pfn: number, file: number): Step {
  yield* t.ops.pagecache.filemapRemoveFolio(t, pfn, file);
  yield* putPage(t, pfn); // filemap_free_folio()
}

/**
 * Right after a file PTE is set (PTL held): the page must still be the page cache's page at this
 * file and index (MAP-CACHE). On mainline this holds by construction — the PTE is set under the
 * page lock after page->mapping was re-checked, and a page leaves the cache only under its lock —
 * so a protocol that maps without the lock is caught at the moment it maps a removed page, while
 * the steps of both sides are still in the flight records.
 */
export function checkMappedFilePage(t: Task, vmf: VmFault, pfn: number, index: number): void {
  const shm = t.shm;
  if (Atomics.load(shm.mapping, pfn) !== vmf.file + 1 || Atomics.load(shm.index, pfn) !== index || xaLoad(shm, vmf.file, index) !== pfn)
    t.violation('MAP-CACHE', pfn, vmf.file, index, vmf.vma);
}

// ---- filemap_map_pages -------------------------------------------------------------------

/** ->map_pages' page finder: the first page in [from, end) that passes its checks, or null
 * (the type of the vmOps.nextUptodatePage entry). */
export type NextPageFn = VmOps['nextUptodatePage'];

/**
 * next_uptodate_page() / next_uptodate_folio() (5.12+, kernel-protocols §3.4 table steps 1-9):
 * skip if locked -> folio_try_get -> xas_reload -> uptodate && !readahead -> trylock ->
 * mapping -> uptodate -> i_size. Returns the page locked and referenced.
 */
export function* nextUptodatePage(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
  const shm = t.shm, file = vmf.file;
  for (let index = from; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_next_entry';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    // "Check for a locked page first, as a speculative reference may adversely influence page
    // migration."
    yield 'PageLocked';
    if (PageLocked(shm, pfn)) {
      t.stat('skippedLocked');
      continue;
    }
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue;
    yield 'xas_reload'; // "Has the page moved or been split?"
    if (xaLoad(shm, file, index) === pfn) {
      yield 'PageUptodate';
      if (PageUptodate(shm, pfn) && !PageReadahead(shm, pfn)) {
        if (yield* t.ops.lock.trylockPage(t, pfn)) {
          t.page = pfn;
          yield 'page->mapping';
          const ok = Atomics.load(shm.mapping, pfn) === file + 1 && PageUptodate(shm, pfn);
          if (ok) {
            yield 'i_size_read';
            if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked: true };
          }
          yield* t.ops.lock.unlockPage(t, pfn); // unlock:
        }
      }
    }
    yield* putPage(t, pfn); // skip:
  }
  return null;
}

/**
 * filemap_map_pages() as of 5.12 (f9ce0be71d1f): find the first page before taking the PTL, then
 * take the PTL once for the whole range (the caller keeps [start, end) inside one page table) and
 * map each page whose PTE is still none: do_set_pte() (mapcount, then the PTE); the lookup
 * reference passes to the PTE. Returns VM_FAULT_NOPAGE if the faulting index got mapped.
 * The pages come from the running configuration's next_uptodate_page() (vmOps.nextUptodatePage),
 * unless `next` names another finder.
 */
export function* filemapMapPages(t: Task, vmf: VmFault, start: number, end: number, next?: NextPageFn): Step<number> {
  const find: NextPageFn = next ?? t.ops.vmOps.nextUptodatePage;
  const shm = t.shm, vma = vmf.vma;
  if (end > start && ptlSlot(shm, vma, start) !== ptlSlot(shm, vma, end - 1))
    throw new Error(`filemapMapPages: [${start}, ${end}) crosses a page table`);
  let ret = 0;
  let page: NextPage | null = yield* find(t, vmf, start, end);
  if (!page) return 0;
  const ptl = yield* pteLock(t, vma, start);
  while (page) {
    const pfn: number = page.pfn, index: number = page.index;
    t.page = pfn;
    t.aux = index;
    yield 'pte_none';
    if (pteNone(pteRead(shm, vma, index))) {
      // do_set_pte(vmf, page, addr): page_add_file_rmap(), then set_pte_at() (read-only)
      yield* t.ops.fault.doSetPte(t, index === vmf.index ? vmf : { ...vmf, index }, pfn, false, false);
      if (index === vmf.index) ret = VM_FAULT_NOPAGE;
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
    } else {
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
    page = yield* find(t, vmf, index + 1, end);
  }
  pteUnlock(t, ptl);
  return ret;
}

// ---- filemap_fault -----------------------------------------------------------------------

/** ->read_folio(): fill the page from "disk" — its data stamp says which file and index it holds —
 * and mark it uptodate. The page is locked and not yet uptodate. */
export function* readPage(t: Task, pfn: number, file: number, index: number): Step {
  const shm = t.shm;
  t.page = pfn;
  yield 'read_folio';
  shm.stampFile[pfn] = file;
  shm.stampIndex[pfn] = index;
  // what lies beyond i_size in the last page is read as zeros (block_read_full_folio():
  // folio_zero_segment() of the blocks past EOF; iomap_read_folio_sync likewise)
  shm.stampEnd[pfn] = Math.max(0, Math.min(PAGE_SIZE, iSizeRead(shm, file) - index * PAGE_SIZE));
  yield 'folio_mark_uptodate';
  SetPageUptodate(shm, pfn);
}

/**
 * filemap_create_folio() (page_cache_read): allocate a page, born locked, add it to the page
 * cache, read it, unlock it. Returns the page with the caller's reference, NIL if the slot was
 * taken meanwhile (look up again), or -2 when out of memory.
 */
const CREATE_OOM = -2;
function* filemapCreatePage(t: Task, file: number, index: number): Step<number> {
  const pfn = yield* allocPage(t);
  if (pfn === NIL) return CREATE_OOM;
  __SetPageLocked(t, pfn);
  t.aux = index;
  if (!(yield* t.ops.pagecache.filemapAddFolio(t, pfn, file, index))) {
    __ClearPageLocked(t, pfn);
    yield* putPage(t, pfn); // frees it
    return NIL;
  }
  yield* t.ops.pagecache.readPage(t, pfn, file, index);
  yield* t.ops.lock.unlockPage(t, pfn); // folio_end_read(): waiters in lock_page may proceed
  return pfn;
}

/**
 * maybe_unlock_mmap_for_io() (mm/internal.h, 6.6): on the first attempt of a fault that may
 * retry, and not RETRY_NOWAIT, pin the file and drop the mmap lock before sleeping on I/O or a
 * page lock; the fault must then end in VM_FAULT_RETRY (the VMA may be gone once the lock is
 * dropped). The model has no mmap lock: the step marks the point, `fpin` is what it changes.
 */
function* maybeUnlockMmapForIo(t: Task, vmf: VmFault, fpin: boolean): Step<boolean> {
  if (fpin) return true;
  if (!faultFlagAllowRetryFirst(vmf.flags ?? 0) || ((vmf.flags ?? 0) & FAULT_FLAG_RETRY_NOWAIT)) return false;
  yield 'maybe_unlock_mmap_for_io';
  return true;
}

/**
 * lock_folio_maybe_drop_mmap() (mm/filemap.c, 6.6): folio_trylock() first; with RETRY_NOWAIT a
 * contended page is VM_FAULT_RETRY without waiting ("with the fault lock still held"); else
 * maybe_unlock_mmap_for_io() and __folio_lock_killable() (FAULT_FLAG_KILLABLE: a fatal signal
 * makes it out_retry) or __folio_lock(). Without ALLOW_RETRY and KILLABLE these are lock_page()'s
 * steps exactly.
 */
export function* lockFolioMaybeDropMmap(t: Task, vmf: VmFault, pfn: number, fpin: boolean): Step<{ locked: boolean; fpin: boolean }> {
  const L = t.ops.lock, flags = vmf.flags ?? 0;
  if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn); // a blocking acquisition, whatever path it takes
  if (yield* L.trylockFast(t, pfn)) return { locked: true, fpin };
  if (flags & FAULT_FLAG_RETRY_NOWAIT) return { locked: false, fpin };
  fpin = yield* maybeUnlockMmapForIo(t, vmf, fpin);
  if (flags & FAULT_FLAG_KILLABLE) {
    // -EINTR: "we need to drop the fault lock here and return 0" (release_fault_lock())
    if ((yield* L.__lockPage(t, pfn, true)) !== 0) return { locked: false, fpin };
  } else {
    const r = yield* L.__lockPage(t, pfn, false);
    if (r !== 0) throw new Error(`${L.name}: __folio_lock returned ${r}`);
  }
  return { locked: true, fpin };
}

/**
 * filemap_fault() (6.6 mm/filemap.c; kernel-protocols §4.4): early i_size check -> SIGBUS; find
 * the page, or (do_sync_mmap_readahead(): maybe_unlock_mmap_for_io() before the read) create and
 * read it; lock_folio_maybe_drop_mmap() (not locked: out_retry); "Did it get truncated?" ->
 * retry_find; not uptodate -> read again under the lock; "We've made it this far and we had to
 * drop our mmap_lock": unlock, out_retry; i_size re-check under the page lock -> SIGBUS. Returns
 * VM_FAULT_LOCKED with the page locked and referenced, or VM_FAULT_RETRY with neither
 * (out_retry: folio_put()).
 */
export function* filemapFault(t: Task, vmf: VmFault): Step<FaultResult> {
  const shm = t.shm, { file, index } = vmf;
  let fpin = false;
  t.page = -1;
  t.aux = index;
  yield 'i_size_read';
  if (index >= maxIndex(iSizeRead(shm, file))) return { ret: VM_FAULT_SIGBUS, pfn: NIL };
  for (;;) { // retry_find:
    let pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (pfn === NIL) {
      fpin = yield* maybeUnlockMmapForIo(t, vmf, fpin); // do_sync_mmap_readahead()
      pfn = yield* filemapCreatePage(t, file, index);
      if (pfn === CREATE_OOM) return { ret: fpin ? VM_FAULT_RETRY : VM_FAULT_OOM, pfn: NIL }; // 'if (fpin) goto out_retry'
      if (pfn === NIL) continue;
    }
    const lk: { locked: boolean; fpin: boolean } = yield* t.ops.pagecache.lockFolioMaybeDropMmap(t, vmf, pfn, fpin);
    fpin = lk.fpin;
    if (!lk.locked) { // out_retry:
      yield* putPage(t, pfn);
      return { ret: VM_FAULT_RETRY, pfn: NIL };
    }
    t.page = pfn;
    t.aux = index;
    yield 'page->mapping';
    if (Atomics.load(shm.mapping, pfn) !== file + 1) { // "Did it get truncated?"
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      continue;
    }
    // VM_BUG_ON_FOLIO(!folio_contains(folio, index)): a page never changes index in the cache
    if (Atomics.load(shm.index, pfn) !== index) t.violation('MAP-CACHE', pfn, file, index);
    yield 'PageUptodate';
    if (!PageUptodate(shm, pfn)) yield* t.ops.pagecache.readPage(t, pfn, file, index); // page_not_uptodate
    if (fpin) { // "now is the time to return to the upper layer and have it re-find the vma"
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn); // out_retry:
      return { ret: VM_FAULT_RETRY, pfn: NIL };
    }
    // "Found the page and have a reference on it. We must recheck i_size under page lock."
    yield 'i_size_read';
    if (index >= maxIndex(iSizeRead(shm, file))) {
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      return { ret: VM_FAULT_SIGBUS, pfn: NIL };
    }
    return { ret: VM_FAULT_LOCKED, pfn };
  }
}
