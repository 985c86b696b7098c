// Two proposed fixes of mainline's folio_wait_bit_common() (5ef64cc8987a, src/locks/v5_9_rc6.ts)
// for the killable-wait lost wake-up (docs/findings/killable-lost-wakeup.md).
//
// The bug: a killable exclusive waiter on a non-hand-off pass (no WQ_FLAG_CUSTOM) breaks out of
// its wait loop on a fatal signal; before its finish_wait() an unlock walks the queue, finds the
// entry still queued, sets WQ_FLAG_WOKEN without taking the lock (not CUSTOM, so no DONE) and ends
// the walk there (__wake_up_common(): a woken exclusive entry uses up nr_exclusive = 1). The
// waiter returns -EINTR because DONE is clear; the entries queued behind it are never woken and
// sleep on an unlocked page until somebody else locks and unlocks it.
//
// Both replace one step, waitResult (the return value once finish_wait() made the flags stable),
// and only for its WOKEN-without-DONE case, which only the signal break reaches:
//
//   v5.9-rc6-wakefix  the a8b169afbf06 rule ("a woken killable locker takes the lock"): try
//                     test_and_set_bit(); on success the task owns the lock and returns 0 with
//                     the signal still pending, as it does when the wake was a hand-off (DONE).
//                     On failure somebody else holds the bit; PG_waiters is still set (the queue
//                     behind us is not empty, so folio_wake_bit() left it), so the holder's
//                     unlock wakes the next waiter: return -EINTR.
//   v5.9-rc6-wakepass the 777c6c5f1f6e rule (abort_exclusive_wait()): keep -EINTR, but pass the
//                     consumed exclusive wake-up on: folio_wake_bit() again, which wakes (or hands
//                     the lock to) the next waiter for the page, or stops if the page has been
//                     locked again (then the new owner's unlock wakes it).
import type { Step } from '../kernel/step.ts';
import type { LockOptions, Task } from '../kernel/task.ts';
import { WQ_FLAG_DONE, WQ_FLAG_WOKEN } from '../shm/shm.ts';
import { EINTR, acquired } from './common.ts';
import { lockV5_9_rc6, type PageLockV5_9_rc6 } from './v5_9_rc6.ts';
import { lockTable } from './common.ts';

/** Woken without the lock after the signal test: the only case the fixes change. */
const wokenWithoutLock = (exclusive: boolean, flags: number): boolean =>
  exclusive && (flags & WQ_FLAG_WOKEN) !== 0 && (flags & WQ_FLAG_DONE) === 0;

export function lockV5_9_rc6_wakefix(o: LockOptions = {}): PageLockV5_9_rc6 {
  const base = lockV5_9_rc6(o);
  return lockTable<PageLockV5_9_rc6>(base, {
    name: 'v5.9-rc6-wakefix',
    *waitResult(t: Task, pfn: number, bitNr: number, exclusive: boolean, flags: number): Step<number> {
      if (!wokenWithoutLock(exclusive, flags)) return yield* base.waitResult(t, pfn, bitNr, exclusive, flags);
      const mask = 1 << bitNr;
      t.page = pfn;
      yield 'test_and_set_bit';
      if (Atomics.or(t.shm.flags, pfn, mask) & mask) return EINTR; // the holder's unlock wakes the queue
      acquired(t, pfn, 'slow');
      return 0;
    },
  });
}

export function lockV5_9_rc6_wakepass(o: LockOptions = {}): PageLockV5_9_rc6 {
  const base = lockV5_9_rc6(o);
  return lockTable<PageLockV5_9_rc6>(base, {
    name: 'v5.9-rc6-wakepass',
    *waitResult(t: Task, pfn: number, bitNr: number, exclusive: boolean, flags: number): Step<number> {
      if (!wokenWithoutLock(exclusive, flags)) return yield* base.waitResult(t, pfn, bitNr, exclusive, flags);
      t.page = pfn;
      yield* t.ops.lock.wakeUpPageBit(t, pfn, bitNr); // folio_wake_bit(folio, bit_nr)
      return EINTR;
    },
  });
}
