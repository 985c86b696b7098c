// Self-test lock `lock-handoff-nobit` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) whose
// wake function hands the lock to the first exclusive waiter — WQ_FLAG_WOKEN (| DONE) — WITHOUT
// taking the bit for it: the `if (test_and_set_bit(key->bit_nr, &key->page->flags)) return -1;`
// of wake_page_function() is gone. The waiter returns believing it owns the lock while PG_locked
// is clear, so any fast-path locker takes the same page.
//
// MUST TRIP: LOCK-EXCL (the woken waiter and a fast-path locker both record themselves as the
// owner), or LOCK-UNLOCK (the waiter's unlock_page() finds PG_locked already clear).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps, WakeKey } from '../../kernel/task.ts';
import { WQ_FLAG_DONE, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { lockOverride } from '../../locks/index.ts';
import { wakeEntry, wakePageMatch } from '../../locks/waitqueue.ts';

export function lockHandoffNobit(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, {
    name: 'lock-handoff-nobit',
    // v5.9's wake_page_function() (src/locks/v5_9.ts), with one change marked BUG
    *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
      const shm = t.shm;
      if (!wakePageMatch(shm, e, key)) return 0;
      t.aux = e;
      let ret = 0;
      let set = WQ_FLAG_WOKEN;
      if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_EXCLUSIVE) {
        yield 'test_and_set_bit';
        // BUG (deliberate): the lock is "handed over" without setting PG_locked for the waiter
        ret = 1;
        set |= WQ_FLAG_DONE;
      }
      yield* wakeEntry(t, b, e, set);
      return ret;
    },
  });
}
