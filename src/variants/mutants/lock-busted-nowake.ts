// Self-test lock `busted-nowake` (hidden): v5.9-rc6 whose unlock_page clears PG_locked but never
// wakes the waiters. A waiter that queued sleeps forever (PG_waiters stays set, nobody walks the
// queue): the watchdog (HUNG), the lost-wakeup check (LOCK-WAKE) and the controlled driver's
// DEADLOCK report must all see it.
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { PageLockV5_9_rc6 } from '../../locks/v5_9_rc6.ts';

export class PageLockBustedNowake extends PageLockV5_9_rc6 {
  override readonly name: string = 'busted-nowake';

  override *unlockPage(t: Task, pfn: number): Step<void> {
    t.page = pfn;
    yield 'clear_bit_unlock_is_negative_byte';
    this.releasePageLock(t, pfn);
    // BUG (deliberate): no wake_up_page_bit() even when PG_waiters was set
  }
}
