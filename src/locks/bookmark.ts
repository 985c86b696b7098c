// The wake walk with bookmarks, 4.14 to 5.17: 2554db916586 "sched/wait: Break up long wake list
// walk" and 11a19c7b099f "sched/wait: Introduce wakeup boomark in wake_up_page_bit" (Tim Chen,
// 2017), removed in 2022 by "filemap: Remove use of wait bookmarks" / "sched: Remove wait
// bookmarks" (kernel-protocols §5.4). After WAITQUEUE_WALK_BREAK_CNT entries,
// __wake_up_common() leaves a bookmark entry in the list before the next entry and returns;
// wake_up_page_bit() drops q->lock, cpu_relax()es, re-takes it and resumes from the bookmark:
//
//   spin_lock_irqsave(&q->lock, flags);
//   __wake_up_locked_key_bookmark(q, TASK_NORMAL, &key, &bookmark);
//   while (bookmark.flags & WQ_FLAG_BOOKMARK) {
//       spin_unlock_irqrestore(&q->lock, flags);
//       cpu_relax();
//       spin_lock_irqsave(&q->lock, flags);
//       __wake_up_locked_key_bookmark(q, TASK_NORMAL, &key, &bookmark);
//   }
//
// While the lock is dropped, waiters may come and go: one woken before the break that lost the
// re-race re-queues at the tail, behind the bookmark, and the resumed walk reaches it again (Linus:
// the bookmark "_causes_ that 'we now will see the same page multiple times because we dropped the
// lock and somebody re-added it at the end of the queue' issue"); each resumed call starts again
// with nr_exclusive = 1.
//
// The bookmark lives on the waker's stack in the kernel; here it is the waker's own wait-entry
// slot, which is free while the waker wakes (it is not waiting). It is linked into the bucket's
// list (wqNext/wqPrev) with WQ_FLAG_BOOKMARK but never marked wqLinked: it is no waiter, and the
// checkers that look for queued waiters (wqLinked) must not see one.
import type { Step } from '../kernel/step.ts';
import type { LockOptions, PageLockOps, Task } from '../kernel/task.ts';
import { LD_WB } from '../kernel/task.ts';
import { BIT_WRITEBACK, NIL, PG_waiters, PG_writeback, WQ_FLAG_EXCLUSIVE, type Shm } from '../shm/shm.ts';
import { WQ_FLAG_BOOKMARK, listDelInit, pageWaitQueue, spinLock, spinUnlock, unlockWalked, type WakeFunction, type WakeKey } from './waitqueue.ts';

/** kernel/sched/wait.c */
export const WAITQUEUE_WALK_BREAK_CNT = 64;

/** list_add_tail(&bookmark->entry, &next->entry): the bookmark goes just before `next`. */
function addBookmarkBefore(shm: Shm, b: number, bm: number, next: number): void {
  const p = shm.wqPrev[next];
  shm.wqPrev[bm] = p;
  shm.wqNext[bm] = next;
  if (p === NIL) shm.bucketHead[b] = bm;
  else shm.wqNext[p] = bm;
  shm.wqPrev[next] = bm;
  Atomics.or(shm.wqFlags, bm, WQ_FLAG_BOOKMARK);
}

/**
 * __wake_up_common(q, TASK_NORMAL, nr_exclusive = 1, 0, key, bookmark) as of 2554db916586: resume
 * after the bookmark if it is set (and unlink it), skip other wakers' bookmarks, and after
 * `breakCnt` entries leave the bookmark before the next one if there is one.
 */
function* wakeUpCommonBookmark(t: Task, b: number, key: WakeKey, wakeFunction: WakeFunction, breakCnt: number): Step<void> {
  const shm = t.shm, bm = t.id;
  let e: number;
  if (Atomics.load(shm.wqFlags, bm) & WQ_FLAG_BOOKMARK) {
    e = shm.wqNext[bm];
    listDelInit(shm, b, bm);
    Atomics.and(shm.wqFlags, bm, ~WQ_FLAG_BOOKMARK);
  } else e = shm.bucketHead[b];
  let cnt = 0;
  while (e !== NIL) {
    const next = shm.wqNext[e]; // list_for_each_entry_safe_from
    const flags = Atomics.load(shm.wqFlags, e);
    if (flags & WQ_FLAG_BOOKMARK) {
      e = next;
      continue;
    }
    const ret = yield* wakeFunction(t, b, e, key);
    if (ret < 0) break;
    if (ret > 0 && (flags & WQ_FLAG_EXCLUSIVE)) break;
    if (++cnt > breakCnt && next !== NIL) {
      yield 'bookmark';
      addBookmarkBefore(shm, b, bm, next);
      break;
    }
    e = next;
  }
}

/** wake_up_page_bit() of 4.14 to 5.17: the walk in pieces of breakCnt entries, dropping q->lock
 * between them; then PG_waiters is cleared as in folioWakeBit(). */
export function* wakeUpPageBitBookmark(t: Task, pfn: number, bitNr: number, wakeFunction: WakeFunction, breakCnt: number): Step<void> {
  const shm = t.shm, bm = t.id;
  const b = pageWaitQueue(shm, pfn);
  t.page = pfn;
  // bookmark.flags = 0; the waker's entry is free: it is not waiting while it wakes
  if (Atomics.load(shm.wqLinked, bm)) throw new Error(`wake_up_page_bit: task ${bm} wakes while its own wait entry is queued`);
  Atomics.and(shm.wqFlags, bm, ~WQ_FLAG_BOOKMARK);
  yield* spinLock(t, b);
  const key: WakeKey = { pfn, bitNr, pageMatch: false };
  yield* wakeUpCommonBookmark(t, b, key, wakeFunction, breakCnt);
  while (Atomics.load(shm.wqFlags, bm) & WQ_FLAG_BOOKMARK) {
    yield* spinUnlock(t, b);
    yield 'cpu_relax';
    yield* spinLock(t, b);
    yield* wakeUpCommonBookmark(t, b, key, wakeFunction, breakCnt);
  }
  if (shm.bucketHead[b] === NIL || !key.pageMatch) {
    yield 'ClearPageWaiters';
    Atomics.and(shm.flags, pfn, ~PG_waiters);
  }
  yield* spinUnlock(t, b);
  if (bitNr === 0) unlockWalked(t, pfn); // the unlock's owed walk is done (waitqueue.ts, owed wake-ups)
}

/** The wakeUpPageBit entry of a version with bookmarks. */
export function bookmarkWalk(o: LockOptions): Pick<PageLockOps, 'wakeUpPageBit'> {
  const breakCnt = o.walkBreak ?? WAITQUEUE_WALK_BREAK_CNT;
  if (!Number.isInteger(breakCnt) || breakCnt < 0) throw new RangeError(`walkBreak must be an integer >= 0, got ${breakCnt}`);
  return {
    wakeUpPageBit(t: Task, pfn: number, bitNr: number): Step<void> {
      return wakeUpPageBitBookmark(t, pfn, bitNr, t.ops.lock.wakePageFunction, breakCnt);
    },
  };
}

/**
 * wait_on_page_writeback() before c2407cf7d22d (5.11-rc3): `if (PageWriteback(page))
 * wait_on_page_bit(page, PG_writeback)`, one wait. With the pre-5.9 loop the shared wait itself
 * re-tests the bit until it is clear; from 2a9127fcf229 (5.9) a shared wait returns after one
 * wake, so 5.9 and 5.10 may return with PG_writeback set again.
 */
export const WAIT_ON_WRITEBACK_ONCE: Pick<PageLockOps, 'waitOnPageWriteback'> = Object.freeze({
  *waitOnPageWriteback(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_WB, pfn);
    t.page = pfn;
    yield 'PageWriteback';
    if (!(Atomics.load(t.shm.flags, pfn) & PG_writeback)) return;
    yield* t.ops.lock.waitOnPageBitCommon(t, pfn, BIT_WRITEBACK, false, false);
  },
});
