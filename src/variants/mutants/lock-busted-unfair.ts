// Self-test lock `busted-unfair` (hidden): v5.9-rc6 that never asks for a hand-off
// (WQ_FLAG_CUSTOM is never set), i.e. unbounded unfairness while the LOCK-FAIR bound stays k.
// A waiter that keeps losing the race to stealers is overtaken more than k + 1 times: LOCK-FAIR.
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { lockOverride } from '../../locks/index.ts';

export function lockBustedUnfair(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9-rc6', o, (base) => ({
    name: 'busted-unfair',
    // the real wait-entry set-up, told that steals are still allowed
    initWaitPage(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean, _unfairness: number): number {
      return base.initWaitPage(t, pfn, bitNr, exclusive, killable, 0); // BUG (deliberate): the `--unfairness < 0` test is gone
    },
  }));
}
