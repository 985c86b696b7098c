// Self-test lock `lock-waiters-cleared` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) whose
// wake_up_page_bit() clears PG_waiters after every walk. The kernel clears it only when the walk
// left no waiter of the page queued (`if (!waitqueue_active(q) || !key.page_match)`); here the
// waiters queued behind the one that was handed the lock lose it, the new owner's unlock sees no
// waiters and skips the walk, and they sleep on an unlocked page.
//
// MUST TRIP: LOCK-WAKE (the unlock that skipped the walk settles with waiters asleep),
// LOCK-WAITERS (free: a queued waiter with PG_waiters clear), DEADLOCK (controlled) or HUNG (free).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { PG_waiters } from '../../shm/shm.ts';
import { lockOverride } from '../../locks/index.ts';

export function lockWaitersCleared(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, (base) => ({
    name: 'lock-waiters-cleared',
    *wakeUpPageBit(t: Task, pfn: number, bitNr: number): Step<void> {
      yield* base.wakeUpPageBit(t, pfn, bitNr);
      // BUG (deliberate): ClearPageWaiters() whether or not waiters of the page are still queued
      yield 'ClearPageWaiters';
      Atomics.and(t.shm.flags, pfn, ~PG_waiters);
    },
  }));
}
