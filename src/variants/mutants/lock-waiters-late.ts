// Self-test lock `lock-waiters-late` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) that sets
// PG_waiters when it queues its entry, AFTER its last check (the trylock under the queue lock),
// instead of before it. 2a9127fcf229's folio_wait_bit_common() does SetPageWaiters() first so that
// an unlock whose clear_bit_unlock_is_negative_byte() comes after the failed trylock sees
// PG_waiters and walks the queue; here that unlock sees no waiters, skips the walk, and the waiter
// sleeps on an unlocked page.
//
// MUST TRIP: LOCK-WAKE (the waiter goes to sleep with the page unlocked and no wake owed), DEADLOCK
// (controlled: nobody else locks the page) or HUNG (free: the watchdog).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { lockOverride } from '../../locks/index.ts';

export function lockWaitersLate(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, (base) => ({
    name: 'lock-waiters-late',
    // BUG (deliberate): no SetPageWaiters() before the trylock ...
    *setPageWaiters(_t: Task, _pfn: number): Step<void> {},
    // ... it comes with the queueing, after the trylock failed
    *__addWaitQueueEntryTail(t: Task, b: number): Step<void> {
      yield* base.__addWaitQueueEntryTail(t, b);
      yield* base.setPageWaiters(t, t.shm.wqPage[t.id]);
    },
  }));
}
