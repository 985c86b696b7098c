// fs/fuse/file.c: the buffered write path, fuse_perform_write() -> fuse_fill_write_pages() +
// fuse_send_write_pages(), before and after 4f06dd92b5d0 "fuse: fix write deadlock" (v5.13-rc1;
// Fixes: ea9b9907b82a, v2.6.26). Side thread of the seed thread (kernel-protocols §2): Qian Cai's
// hang, Linus's diagnosis (Msg-ID CAHk-=wh9Eu-gNHzqgfvUAAiO=vJ+pWnzxkv+tX55xhGPFy+cOw@mail.gmail.com:
// "you're in fuse_fill_write_pages(), which has allocated the page, locked it, and then it takes a
// page fault. And the page fault waits on a page that is locked. This is a classic deadlock."),
// Vivek's reproducer (Msg-ID 20201015151606.GA226448@redhat.com), Miklos's fix (Msg-ID
// 20210209100115.GB1208880@miu.piliscsaba.redhat.com).
//
// The source buffer is user memory: here a byte range of a VMA, which may be a shared mapping of
// the very file being written (Vivek's reproducer) or of another file.
//   - iov_iter_fault_in_readable(): touch each source page; a none PTE takes a read fault
//     (handle_mm_fault: fault-around, then filemap_fault(), which sleeps in lock_page());
//   - iov_iter_copy_from_user_atomic(): copy with page faults disabled: a none PTE ends the copy
//     (0 bytes: unlock this page and retry from the fault-in).
// Before the fix every destination page of one WRITE stays locked until the reply, while the next
// page's source is faulted in: a task that holds page A locked faults on A (self-deadlock) or on
// a page another writer holds while that one faults on A (ABBA). After the fix a page is unlocked
// as soon as it is filled if it is (or becomes, by a full-page copy) uptodate; only a partial
// write to a not-uptodate page keeps its lock, and that page ends the WRITE: "Keeping more than
// one page locked is deadlock prone."
import { allocPage, putPage } from './page_alloc.ts';
import { PAGE_SIZE } from '../shm/files.ts';
import { ptePresent, pteRead } from '../shm/mm.ts';
import { PageUptodate, SetPageUptodate } from '../shm/page.ts';
import { __ClearPageLocked } from '../locks/common.ts';
import { __SetPageLocked } from '../locks/common.ts';
import { NIL } from '../shm/shm.ts';
import { mutexLock, mutexUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, FuseWritePath, IovIter, WritePages } from '../kernel/task.ts';
import { VM_FAULT_ERROR } from '../kernel/fault.ts';
import { NO_FAULT, readThroughPtes } from './memory.ts';

// (the types live with the tables; re-exported for the modules that import them here)
export type { FuseWritePath, IovIter, WritePages } from '../kernel/task.ts';

/** The write path: 'pre-fix' (v2.6.26 .. v5.12) or 'fixed' (4f06dd92b5d0, v5.13). */
export const FUSE_WRITE_PATHS: readonly FuseWritePath[] = ['pre-fix', 'fixed'];

const EFAULT = -14;
const ENOMEM = -12;

/** The file index a byte of the buffer lies in. */
const srcIndex = (t: Task, ii: IovIter, byte: number): number => t.shm.vmaPgoff[ii.vma] + Math.floor(byte / PAGE_SIZE);

/**
 * iov_iter_fault_in_readable(ii, bytes) -> fault_in_pages_readable(): a user load of each page
 * of the next `bytes` bytes; a none PTE takes a read fault, which may sleep in lock_page() — with
 * whatever page locks the caller holds. Returns false (-EFAULT) if a fault failed (SIGBUS, OOM).
 */
export function* iovIterFaultInReadable(t: Task, ii: IovIter, bytes: number): Step<boolean> {
  const shm = t.shm;
  if (bytes <= 0) return true;
  const first = srcIndex(t, ii, ii.off), last = srcIndex(t, ii, ii.off + bytes - 1);
  for (let index = first; index <= last; index++) {
    t.page = -1;
    t.aux = index;
    yield 'fault_in_pages_readable';
    if (ptePresent(pteRead(shm, ii.vma, index))) continue; // none or a migration entry: the load faults
    const ret = yield* t.ops.fault.handleMmFault(t, ii.vma, index, false);
    if (ret !== NO_FAULT && (ret & VM_FAULT_ERROR)) return false;
  }
  return true;
}

/**
 * iov_iter_copy_from_user_atomic(page, ii, offset, bytes) with page faults disabled: copy page by
 * page of the source while its PTE is present (each load checked as a user read: DATA-STAMP);
 * stop at the first none PTE. The destination page gets its file data. Returns the bytes copied.
 */
export function* iovIterCopyFromUserAtomic(t: Task, pfn: number, file: number, index: number, ii: IovIter, bytes: number): Step<number> {
  const shm = t.shm;
  let copied = 0;
  while (copied < bytes) {
    const byte = ii.off + copied;
    const n = Math.min(bytes - copied, PAGE_SIZE - (byte % PAGE_SIZE));
    const s = srcIndex(t, ii, byte);
    // a load through the page tables; 0 pages read = the PTE is none (or changed under us): in
    // the kernel the access faults, and with pagefault_disable() the copy stops there
    if ((yield* readThroughPtes(t, ii.vma, s, s + 1)) === 0) break;
    copied += n;
  }
  if (copied > 0) {
    t.page = pfn;
    yield 'copy_page_from_iter';
    shm.stampFile[pfn] = file;
    shm.stampIndex[pfn] = index;
  }
  return copied;
}

/** iov_iter_advance() */
function iovIterAdvance(ii: IovIter, n: number): void {
  ii.off += n;
  ii.count -= n;
}

/**
 * grab_cache_page_write_begin() -> pagecache_get_page(FGP_LOCK | FGP_WRITE | FGP_CREAT): find the
 * page and lock it (re-checking it was not truncated meanwhile), or add a new one — born locked,
 * not uptodate. Returns the page locked with a reference, or NIL (out of memory).
 */
export function* grabCachePageWriteBegin(t: Task, file: number, index: number): Step<number> {
  const shm = t.shm;
  for (;;) {
    let pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (pfn !== NIL) {
      yield* t.ops.lock.lockPage(t, pfn);
      t.page = pfn;
      t.aux = index;
      yield 'page->mapping';
      if (Atomics.load(shm.mapping, pfn) === file + 1) return pfn;
      yield* t.ops.lock.unlockPage(t, pfn); // truncated: look again
      yield* putPage(t, pfn);
      continue;
    }
    pfn = yield* allocPage(t);
    if (pfn === NIL) return NIL;
    __SetPageLocked(t, pfn);
    if (yield* t.ops.pagecache.filemapAddFolio(t, pfn, file, index)) return pfn;
    __ClearPageLocked(t, pfn); // somebody added one first
    yield* putPage(t, pfn);
  }
}

/**
 * fuse_fill_write_pages(): fill up to maxPages destination pages from the user buffer, stopping
 * at a partial page. Per page: fault the source in, lock the destination
 * (grab_cache_page_write_begin), copy atomically; a copy of 0 bytes unlocks and retries.
 *  - pre-fix: the page stays locked (in ap->pages) and the loop goes on to fault in the NEXT
 *    page's source with it held;
 *  - fixed: a full-page copy marks it uptodate; an uptodate page is unlocked at once; a partial
 *    copy into a not-uptodate page keeps it locked and ends the request.
 */
export function* fuseFillWritePages(t: Task, path: FuseWritePath, file: number, ii: IovIter, pos: number, maxPages: number): Step<WritePages> {
  const out: WritePages = { count: 0, pages: [], pageLocked: false };
  let offset = pos % PAGE_SIZE;
  let err = 0;
  const F = t.ops.fuse;
  do {
    const index = Math.floor(pos / PAGE_SIZE);
    let bytes = Math.min(PAGE_SIZE - offset, ii.count);
    let pfn = NIL, tmp = 0;
    for (;;) { // again:
      if (!(yield* F.iovIterFaultInReadable(t, ii, bytes))) {
        err = EFAULT;
        break;
      }
      pfn = yield* F.grabCachePageWriteBegin(t, file, index);
      if (pfn === NIL) {
        err = ENOMEM;
        break;
      }
      tmp = yield* F.iovIterCopyFromUserAtomic(t, pfn, file, index, ii, bytes);
      iovIterAdvance(ii, tmp);
      if (tmp) break;
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      bytes = Math.min(bytes, ii.count); // iov_iter_single_seg_count(): one segment here
    }
    if (err) break;
    out.pages.push(pfn);
    out.count += tmp;
    pos += tmp;
    offset += tmp;
    if (offset === PAGE_SIZE) offset = 0;
    if (path === 'fixed') {
      t.page = pfn;
      yield 'PageUptodate';
      if (tmp === PAGE_SIZE) SetPageUptodate(t.shm, pfn); // "If we copied full page, mark it uptodate"
      if (PageUptodate(t.shm, pfn)) {
        yield* t.ops.lock.unlockPage(t, pfn);
      } else {
        out.pageLocked = true; // only this page, the last of the request
        break;
      }
    }
  } while (ii.count > 0 && out.pages.length < maxPages && offset === 0);
  if (out.count === 0) out.count = err;
  return out;
}

/**
 * fuse_send_write_pages(): the WRITE request (the server has the data once it replies), then per
 * page: pre-fix, a fully written page becomes uptodate and every page is unlocked; fixed, only
 * the one page still locked (the partial tail) is unlocked. Every page's reference is dropped.
 */
export function* fuseSendWritePages(t: Task, path: FuseWritePath, wp: WritePages, pos: number): Step {
  t.page = wp.pages[0] ?? -1;
  yield 'fuse_simple_request';
  yield 'fuse_write_reply';
  let count = wp.count, offset = pos % PAGE_SIZE;
  for (let i = 0; i < wp.pages.length; i++) {
    const pfn = wp.pages[i];
    t.page = pfn;
    if (path === 'pre-fix') {
      if (!offset && count >= PAGE_SIZE) SetPageUptodate(t.shm, pfn);
      yield* t.ops.lock.unlockPage(t, pfn);
    } else if (wp.pageLocked && i === wp.pages.length - 1) {
      yield* t.ops.lock.unlockPage(t, pfn);
    }
    count = count > PAGE_SIZE - offset ? count - (PAGE_SIZE - offset) : 0;
    offset = 0;
    yield* putPage(t, pfn);
  }
}

/**
 * fuse_cache_write_iter() -> fuse_perform_write(): under inode_lock (i_rwsem: one buffered writer
 * per file), WRITE requests of up to maxPages pages until the buffer is used up or an error.
 * Returns the bytes written, or a negative errno if nothing was.
 */
export function* fusePerformWrite(t: Task, path: FuseWritePath, file: number, pos: number, ii: IovIter, maxPages: number): Step<number> {
  const shm = t.shm;
  t.page = -1;
  yield* mutexLock(t, shm.iRwsem, file, 'inode_lock');
  let written = 0, err = 0;
  do {
    const wp = yield* t.ops.fuse.fuseFillWritePages(t, path, file, ii, pos, maxPages);
    if (wp.count <= 0) {
      err = wp.count;
      // pages gathered before an error (none here: count 0 means the first page failed)
    } else {
      yield* t.ops.fuse.fuseSendWritePages(t, path, wp, pos);
      pos += wp.count;
      written += wp.count;
    }
  } while (!err && ii.count > 0);
  yield* mutexUnlock(shm.iRwsem, file);
  return written > 0 ? written : err;
}
