// Self-test lock `lock-signal-first` (hidden): the pre-5.9 lock (4.14 .. 5.8, src/locks/v4_14.ts)
// whose retry loop tests for a fatal signal BEFORE it tries the lock: a8b169afbf06 reverted, the
// order 4.10 shipped with (src/locks/v4_10.ts models that release whole; this is the one step).
// A killable waiter that was woken (autoremove_wake_function: the exclusive wake-up went to it and
// the walk stopped) and has a signal pending returns -EINTR without trying test_and_set_bit_lock(), so the wake-up it was
// given is consumed by a task that leaves: the waiters queued behind it sleep on an unlocked page.
// (v4.14 tests the bit first, so such a waiter takes the lock when it is free; the narrower
// window that remains is Oleg's June 2020 report, described in src/locks/v4_14.ts.)
//
// MUST TRIP: LOCK-WAKE (the woken waiter leaves with the wake while others sleep), DEADLOCK
// (controlled) or HUNG (free). Needs a fatal signal on a woken killable waiter.
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { EINTR, acquired } from '../../locks/common.ts';
import { lockOverride } from '../../locks/index.ts';
import { fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock } from '../../locks/waitqueue.ts';

export function lockSignalFirst(o: LockOptions = {}): PageLockOps {
  return lockOverride('v4.14', o, {
    name: 'lock-signal-first',
    // v4.14's wait_on_page_bit_common() (src/locks/v4_14.ts) with one change marked BUG
    *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
      const lock = t.ops.lock;
      const shm = t.shm, e = t.id, mask = 1 << bitNr;
      const b = pageWaitQueue(shm, pfn);
      t.page = pfn;
      const state = lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
      shm.wqOvertaken[e] = 0;
      let ret = 0;
      for (;;) {
        yield* spinLock(t, b);
        if (!Atomics.load(shm.wqLinked, e)) {
          yield* lock.__addWaitQueueEntryTail(t, b);
          yield* lock.setPageWaiters(t, pfn);
        }
        Atomics.store(shm.wqFlags, e, state);
        yield* spinUnlock(t, b);

        yield 'test_bit';
        if (Atomics.load(shm.flags, pfn) & mask) {
          for (;;) {
            const f = Atomics.load(shm.wqFlags, e);
            if (f & WQ_FLAG_WOKEN) break;
            if (killable && fatalSignalPending(t)) break;
            yield* ioSchedule(t, pfn, bitNr, f);
          }
        }
        t.page = pfn;
        // BUG (deliberate): the signal is tested before the lock is tried
        yield 'signal_pending_state';
        if (killable && fatalSignalPending(t)) {
          ret = EINTR;
          break;
        }
        if (exclusive) {
          yield 'test_and_set_bit_lock';
          if (!(Atomics.or(shm.flags, pfn, mask) & mask)) {
            acquired(t, pfn, 'slow');
            break;
          }
          if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_WOKEN) {
            shm.wqOvertaken[e]++;
            t.stat('overtaken');
          }
        } else {
          yield 'test_bit';
          if (!(Atomics.load(shm.flags, pfn) & mask)) break;
        }
      }
      yield* lock.finishWait(t, b);
      releaseWaitEntry(t);
      return ret;
    },
  });
}
