// Self-test lock `lock-nowake` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) whose
// unlock_page() clears PG_locked but never calls wake_up_page_bit(), even with PG_waiters set.
// The same bug as busted-nowake (lock-busted-nowake.ts), on the hand-off algorithm instead of the
// bounded-unfairness one: with hand-off, the waker is the only path by which a queued waiter ever
// gets the lock, so nothing else rescues the waiter.
//
// MUST TRIP: LOCK-WAKE (free mode: a waiter queued on an unlocked page, not woken, for the hung
// bound), HUNG (the watchdog), DEADLOCK (controlled mode: no actor can run; the chain ends at an
// unlocked page — "no wake came").
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { lockOverride } from '../../locks/index.ts';

/** unlock_page() without its wake: the releasing RMW (the real step), and nothing after it. */
export function* unlockPageNowake(t: Task, pfn: number): Step<void> {
  t.page = pfn;
  yield 'clear_bit_unlock_is_negative_byte';
  t.ops.lock.releasePageLock(t, pfn);
  // BUG (deliberate): `if (old & PG_waiters) wake_up_page_bit(page, PG_locked)` is gone
}

export function lockNowake(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, { name: 'lock-nowake', unlockPage: unlockPageNowake });
}
