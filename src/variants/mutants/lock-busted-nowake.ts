// Self-test lock `busted-nowake` (hidden): v5.9-rc6 whose unlock_page clears PG_locked but never
// wakes the waiters (lock-nowake's unlock over the bounded-unfairness algorithm). A waiter that
// queued sleeps forever (PG_waiters stays set, nobody walks the queue): the watchdog (HUNG), the
// lost-wakeup check (LOCK-WAKE) and the controlled driver's DEADLOCK report must all see it.
import type { LockOptions, PageLockOps } from '../../kernel/task.ts';
import { lockOverride } from '../../locks/index.ts';
import { unlockPageNowake } from './lock-nowake.ts';

export function lockBustedNowake(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9-rc6', o, { name: 'busted-nowake', unlockPage: unlockPageNowake });
}
