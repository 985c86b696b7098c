// lock_page as rewritten for 5.9 by 2a9127fcf229 "mm: rewrite wait_on_page_bit_common() logic"
// (kernel-protocols §5.6): fair hand-off. The waker takes the lock FOR the first queued exclusive
// waiter (test_and_set_bit in wake_page_function) and the waiter never re-queues: woken == done.
// A fast-path locker can still win the window between the unlocker's clear and the waker's
// test_and_set_bit; then the walk stops (-1) and the new owner's unlock continues it.
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { WQ_FLAG_DONE, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../shm/shm.ts';
import { EINTR, PAGE_LOCK_COMMON, acquired, lockTable } from './common.ts';
import { WAIT_ON_WRITEBACK_ONCE, bookmarkWalk } from './bookmark.ts';
import type { LockOptions, PageLockOps } from './types.ts';
import { fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock, wakeEntry, wakePageMatch, type WakeKey } from './waitqueue.ts';

/** What 5.9 has of its own: its name, its wake function and its wait. (Its trylock under the
 * queue lock, trylock_page_bit_common(), is the common table's trylockPageBit.) */
export const V5_9 = Object.freeze({
  name: 'v5.9',

  *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
    const shm = t.shm;
    if (!wakePageMatch(shm, e, key)) return 0;
    t.aux = e;
    let ret = 0;
    let set = WQ_FLAG_WOKEN;
    if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_EXCLUSIVE) {
      yield 'test_and_set_bit';
      if (Atomics.or(shm.flags, key.pfn, 1 << key.bitNr) & (1 << key.bitNr)) return -1;
      ret = 1;
      // In 2a9127fcf229 WOKEN on an exclusive entry already means "the lock was taken for you";
      // DONE is set too only so that every algorithm marks a hand-off in flight the same way.
      set |= WQ_FLAG_DONE;
    }
    yield* wakeEntry(t, b, e, set);
    return ret;
  },

  *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
    const lock = t.ops.lock;
    const shm = t.shm, e = t.id;
    const b = pageWaitQueue(shm, pfn);
    t.page = pfn;
    lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
    shm.wqOvertaken[e] = 0;

    yield* spinLock(t, b);
    // SetPageWaiters BEFORE the last synchronous test: an unlock after it sees PG_waiters
    yield* lock.setPageWaiters(t, pfn);
    const got = yield* lock.trylockPageBit(t, pfn, bitNr, exclusive);
    if (!got) yield* lock.__addWaitQueueEntryTail(t, b);
    yield* spinUnlock(t, b);

    for (;;) {
      const f = Atomics.load(shm.wqFlags, e); // set_current_state(state), then test
      if (killable && fatalSignalPending(t)) break;
      if (f & WQ_FLAG_WOKEN) break;
      yield* ioSchedule(t, pfn, bitNr, f);
    }
    yield* lock.finishWait(t, b);
    // only after finish_wait() are the flags stable: a wake may have come after the signal test
    const woken = (Atomics.load(shm.wqFlags, e) & WQ_FLAG_WOKEN) !== 0;
    if (woken && exclusive && !got) acquired(t, pfn, 'handoff');
    releaseWaitEntry(t);
    return woken ? 0 : EINTR;
  },
});

/** The 5.9 (2a9127fcf229) lock table, as 5.9-rc1 .. rc5 had it: with the bookmark walk
 * (2554db916586) and the single wait_on_page_writeback() wait (before c2407cf7d22d). */
export function lockV5_9(o: LockOptions = {}): PageLockOps {
  return lockTable(PAGE_LOCK_COMMON, { ...V5_9, ...bookmarkWalk(o), ...WAIT_ON_WRITEBACK_ONCE });
}
