// Self-test lock `busted-noexcl` (hidden): v5.9-rc6 whose trylock (and lock_page's fast path) is
// a non-atomic check-then-set with a schedule point between the check and the set, so two tasks
// that both see the page unlocked both "take" it. The mutual-exclusion checks (LOCK-EXCL inline,
// the locks scenario's lost-update check) must catch it; LOCK-UNLOCK follows as a consequence
// (the first owner's unlock finds the second one recorded as the owner).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { PG_locked, PG_waiters } from '../../shm/shm.ts';
import { acquired } from '../../locks/common.ts';
import { lockOverride } from '../../locks/index.ts';

export function lockBustedNoexcl(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9-rc6', o, {
    name: 'busted-noexcl',
    *trylockFast(t: Task, pfn: number): Step<boolean> {
      t.page = pfn;
      yield 'PageLocked';
      const old = Atomics.load(t.shm.flags, pfn);
      if (old & PG_locked) return false;
      yield 'SetPageLocked'; // BUG (deliberate): another task can pass the same test here
      Atomics.or(t.shm.flags, pfn, PG_locked);
      acquired(t, pfn, old & PG_waiters ? 'steal' : 'fast');
      return true;
    },
  });
}
