// lock_page as in 4.14 .. 5.8: "wake one, then race" (kernel-protocols §5.3, mm/filemap.c at
// 0006ebb4cad2, ~4.16). This is the 4.10 algorithm (62906027091f, src/locks/v4_10.ts) after the
// August 2017 changes: 3510ca20ece0 "Minor page waitqueue cleanups" (shared waiters queue at the
// tail too; "Stop walking if it's locked": the wake function returns -1 when the bit is set again),
// a8b169afbf06 "Avoid page waitqueue race leaving possible page locker waiting" (the trylock comes
// before the signal test), and the wake walk's bookmarks 2554db916586 / 11a19c7b099f
// (src/locks/bookmark.ts). wait_on_page_writeback() waits once (before c2407cf7d22d); the shared
// wait's own loop re-tests the bit, so it still returns only with PG_writeback clear. 5.0's
// put_and_wait_on_page_locked() (9a1ea439b16b) is not modelled.
//
// Unfair: the woken exclusive waiter is taken off the queue (autoremove_wake_function) and must
// win test_and_set_bit_lock() against any fast-path locker; if it loses it queues again at the TAIL.
//
// Faithful, bugs included: the June 2020 missed wakeup (Oleg, §5.3) is reachable. A killable
// waiter that did not sleep because the bit looked clear, lost the race, was then woken (it is
// still queued and still TASK_KILLABLE) and then saw a fatal signal returns -EINTR having eaten
// the exclusive wakeup: waiters queued behind it sleep on with the page unlocked.
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../shm/shm.ts';
import { EINTR, PAGE_LOCK_COMMON, acquired, lockTable } from './common.ts';
import { WAIT_ON_WRITEBACK_ONCE, bookmarkWalk } from './bookmark.ts';
import type { LockOptions, PageLockOps } from './types.ts';
import {
  WQ_TASK_KILLABLE, fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock, wakeEntry,
  wakePageMatch, type WakeKey,
} from './waitqueue.ts';

/** What 4.14 .. 5.8 has of its own: its name, its wake function and its wait loop. */
export const V4_14 = Object.freeze({
  name: 'v4.14',

  *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
    const shm = t.shm;
    if (!wakePageMatch(shm, e, key)) return 0;
    t.aux = e;
    yield 'wake_page_function';
    // "Stop walking if it's locked": the new owner's unlock will wake the rest
    if (Atomics.load(shm.flags, key.pfn) & (1 << key.bitNr)) return -1;
    // autoremove_wake_function(): try_to_wake_up() fails for a task that is already running,
    // and then the entry stays queued and the walk goes on. In the model the only queued waiter
    // that can be running is a TASK_KILLABLE one a fatal signal has woken (signal_wake_up).
    // Approximated by "a fatal signal is pending": that also skips a waiter the kernel would still
    // find TASK_KILLABLE and wake (a signal pending since before this wait while the waiter has not
    // reached io_schedule(), or one whose sender has not yet reached signal_wake_up()).
    if ((Atomics.load(shm.wqFlags, e) & WQ_TASK_KILLABLE) && Atomics.load(shm.fatal, e)) return 0;
    yield* wakeEntry(t, b, e, WQ_FLAG_WOKEN);
    return 1;
  },

  *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
    const lock = t.ops.lock;
    const shm = t.shm, e = t.id, mask = 1 << bitNr;
    const b = pageWaitQueue(shm, pfn);
    t.page = pfn;
    // wait->flags; the task state (TASK_KILLABLE or not) rides along for the wake function
    const state = lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
    shm.wqOvertaken[e] = 0;
    let ret = 0;
    for (;;) {
      yield* spinLock(t, b);
      if (!Atomics.load(shm.wqLinked, e)) {
        yield* lock.__addWaitQueueEntryTail(t, b);
        yield* lock.setPageWaiters(t, pfn);
      }
      // set_current_state(state): from here a wake-up (WOKEN) or, if killable, a fatal signal
      // makes the task runnable again
      Atomics.store(shm.wqFlags, e, state);
      yield* spinUnlock(t, b);

      yield 'test_bit';
      if (Atomics.load(shm.flags, pfn) & mask) {
        // io_schedule(): sleep until woken, or until a fatal signal if TASK_KILLABLE
        for (;;) {
          const f = Atomics.load(shm.wqFlags, e);
          if (f & WQ_FLAG_WOKEN) break;
          if (killable && fatalSignalPending(t)) break;
          yield* ioSchedule(t, pfn, bitNr, f);
        }
      }
      t.page = pfn;
      if (exclusive) {
        yield 'test_and_set_bit_lock';
        if (!(Atomics.or(shm.flags, pfn, mask) & mask)) {
          acquired(t, pfn, 'slow');
          break;
        }
        // lost the race; if we had been woken (autoremoved) the next pass re-queues at the tail
        if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_WOKEN) {
          shm.wqOvertaken[e]++;
          t.stat('overtaken');
        }
      } else {
        yield 'test_bit';
        if (!(Atomics.load(shm.flags, pfn) & mask)) break;
      }
      // a8b169afbf06: the bit is tested before the signal, so a woken killable waiter that
      // finds the page unlocked takes it even with a fatal signal pending
      yield 'signal_pending_state';
      if (killable && fatalSignalPending(t)) {
        ret = EINTR;
        break;
      }
    }
    yield* lock.finishWait(t, b);
    releaseWaitEntry(t);
    return ret;
  },
});

/** The 4.14 .. 5.8 lock table: V4_14 with the bookmark walk and the single writeback wait. */
export function lockV4_14(o: LockOptions = {}): PageLockOps {
  return lockTable(PAGE_LOCK_COMMON, { ...V4_14, ...bookmarkWalk(o), ...WAIT_ON_WRITEBACK_ONCE });
}
