// Self-test lock `lock-norequeue` (hidden): the pre-5.9 lock (4.14 .. 5.8, src/locks/v4_14.ts) whose
// woken waiter, having lost the test_and_set_bit_lock() race to a stealer, does not queue its entry
// again. autoremove_wake_function() took the entry off the queue when it woke the waiter; the loop's
// `if (list_empty(&wait->entry)) __add_wait_queue_entry_tail(q, wait)` puts it back. Here it
// believes it is still queued, sleeps on the stealer's lock, and no walk can find it.
//
// MUST TRIP: LOCK-WAKE (a waiter asleep on no queue), DEADLOCK (controlled) or HUNG (free).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { lockOverride } from '../../locks/index.ts';

export function lockNorequeue(o: LockOptions = {}): PageLockOps {
  return lockOverride('v4.14', o, (base) => ({
    name: 'lock-norequeue',
    *__addWaitQueueEntryTail(t: Task, b: number): Step<void> {
      // BUG (deliberate): an entry that was woken (autoremoved) is taken to be still queued
      if (Atomics.load(t.shm.wqFlags, t.id) & WQ_FLAG_WOKEN) {
        yield '__add_wait_queue_entry_tail';
        return;
      }
      yield* base.__addWaitQueueEntryTail(t, b);
    },
  }));
}
