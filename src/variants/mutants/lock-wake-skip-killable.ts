// Self-test lock `lock-wake-skip-killable` (hidden): the pre-5.9 lock (4.14 .. 5.8) whose wake
// function skips every TASK_KILLABLE waiter as "already running". In the kernel
// autoremove_wake_function() fails only for a task that is running, which for a killable sleeper
// means one a fatal signal has woken (src/locks/v4_14.ts tests the signal too); here a killable
// sleeper with no signal is skipped as well, the walk ends without waking anybody, and the killable
// waiters sleep on an unlocked page.
//
// MUST TRIP: LOCK-WAKE (the unlock's walk settles with killable waiters asleep on an unlocked
// page), DEADLOCK (controlled) or HUNG (free).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps, WakeKey } from '../../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { lockOverride } from '../../locks/index.ts';
import { WQ_TASK_KILLABLE, wakeEntry, wakePageMatch } from '../../locks/waitqueue.ts';

export function lockWakeSkipKillable(o: LockOptions = {}): PageLockOps {
  return lockOverride('v4.14', o, {
    name: 'lock-wake-skip-killable',
    // v4.14's wake_page_function() (src/locks/v4_14.ts), with one change marked BUG
    *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
      const shm = t.shm;
      if (!wakePageMatch(shm, e, key)) return 0;
      t.aux = e;
      yield 'wake_page_function';
      if (Atomics.load(shm.flags, key.pfn) & (1 << key.bitNr)) return -1;
      // BUG (deliberate): `&& fatal_signal_pending` is gone: every killable waiter counts as running
      if (Atomics.load(shm.wqFlags, e) & WQ_TASK_KILLABLE) return 0;
      yield* wakeEntry(t, b, e, WQ_FLAG_WOKEN);
      return 1;
    },
  });
}
