// Self-test lock `lock-finishwait-clears` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) whose
// finish_wait() clears PG_waiters when it takes a still-queued entry off the queue, as if the
// leaving waiter were the page's last. Only a waiter that leaves without being woken takes its own
// entry off: a killable waiter returning -EINTR on a fatal signal. The waiters still queued behind
// it lose PG_waiters, the owner's unlock skips the walk, and they sleep on an unlocked page.
//
// MUST TRIP: LOCK-WAKE, LOCK-WAITERS (free), DEADLOCK (controlled) or HUNG (free). Needs a fatal
// signal to land on a queued killable waiter while another waiter of the page is queued.
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { PG_waiters, TASK_RUNNING } from '../../shm/shm.ts';
import { lockOverride } from '../../locks/index.ts';
import { listDelInit, spinLock, spinUnlock } from '../../locks/waitqueue.ts';

export function lockFinishwaitClears(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, {
    name: 'lock-finishwait-clears',
    // finish_wait() (src/locks/waitqueue.ts), with one change marked BUG
    *finishWait(t: Task, b: number): Step<void> {
      const shm = t.shm;
      yield 'finish_wait';
      Atomics.store(shm.taskState, t.id, TASK_RUNNING);
      if (Atomics.load(shm.wqLinked, t.id) === 0) return;
      yield* spinLock(t, b);
      if (shm.wqLinked[t.id]) {
        yield 'list_del_init';
        const pfn = shm.wqPage[t.id];
        listDelInit(shm, b, t.id);
        // BUG (deliberate): the leaving waiter clears PG_waiters though others may still be queued
        Atomics.and(shm.flags, pfn, ~PG_waiters);
      }
      yield* spinUnlock(t, b);
    },
  });
}
