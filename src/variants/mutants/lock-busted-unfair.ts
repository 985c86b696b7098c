// Self-test lock `busted-unfair` (hidden): v5.9-rc6 that never asks for a hand-off
// (WQ_FLAG_CUSTOM is never set), i.e. unbounded unfairness while the LOCK-FAIR bound stays k.
// A waiter that keeps losing the race to stealers is overtaken more than k + 1 times: LOCK-FAIR.
import { PageLockV5_9_rc6 } from '../../locks/v5_9_rc6.ts';

export class PageLockBustedUnfair extends PageLockV5_9_rc6 {
  override readonly name: string = 'busted-unfair';

  protected override wantsHandoff(_unfairnessLeft: number): boolean {
    return false; // BUG (deliberate): the `--unfairness < 0` test is gone
  }
}
