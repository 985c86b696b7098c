// lock-order: the latent ABBA the fair hand-off turns into a deadlock (kernel-protocols §5.7).
// One schedule policy — A takes X and starts Y's I/O; B runs until it is queued on X; then A
// has the CPU whenever it can run — deadlocks with the 5.9 hand-off and not with wake-then-race.
import { describe, expect, it } from 'vitest';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import type { SchedView, Strategy } from '../../src/sched/strategies/strategy.ts';
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { PG_writeback, type Shm } from '../../src/shm/shm.ts';
import { lockOrderScenario, pairPages } from '../../src/scenarios/lock-order.ts';

const A = 0, B = 1;
const { x: X, y: Y } = pairPages(A);

const cfgFor = (lock: string, unfairness = 5): RunConfig =>
  ({ ...DEFAULTS, scenario: 'lock-order', lock, unfairness, workers: 2, buckets: 4, extra: {} });

/**
 * The MPTCP interleaving as a policy: prefer A until it owns X with Y under writeback; then
 * prefer B until B's wait entry is queued (B blocks on X); from then on prefer A. The policy
 * reads only the model's state, so it means the same thing whatever lock algorithm runs.
 */
class MptcpPolicy implements Strategy {
  readonly name = 'mptcp-policy';
  private phase = 0;
  constructor(private readonly shm: Shm) {}
  begin(_view: SchedView): void {
    this.phase = 0;
  }
  choose(runnable: Int32Array, n: number): number {
    const has = (a: number) => Array.from(runnable.subarray(0, n)).includes(a);
    if (this.phase === 0 && this.shm.owner[X] === A + 1 && (this.shm.flags[Y] & PG_writeback)) this.phase = 1;
    if (this.phase === 1 && this.shm.wqLinked[B]) this.phase = 2;
    const want = this.phase === 1 ? B : A;
    return has(want) ? want : runnable[0];
  }
  end(): void {}
  describe(): string {
    return this.name;
  }
}

function runPolicy(lock: string, unfairness = 5) {
  const cfg = cfgFor(lock, unfairness);
  const driver = new ControlledDriver({ scenario: lockOrderScenario, cfg, lock: makeLock(lock, { unfairness }) });
  const ops = [[{ kind: 'submit', args: [X, Y, 2] }], [{ kind: 'wait', args: [X, Y] }]];
  const r = driver.runIteration({ ops, strategy: new MptcpPolicy(driver.shm), rng: (() => 0) as never, trace: true });
  return { ...r, shm: driver.shm };
}

describe('lock-order: the fair hand-off exposes the latent ABBA', () => {
  it('v5.9 (fair hand-off): the MPTCP schedule deadlocks — A waits on X held by B, B waits on Y\'s writeback', () => {
    const r = runPolicy('v5.9');
    expect(r.violation?.id).toBe('DEADLOCK');
    expect(r.violation!.message).toMatch(/T0 \(submitter.*waits on page 0.*owned by T1 \(waiter/);
    expect(r.violation!.message).toMatch(/T1 \(waiter.*waits on page 1/);
    // B got X by hand-off at A's unlock (A's wake took the bit for it), before A's second lock_page
    expect(r.shm.owner[X]).toBe(B + 1);
  });

  it('v5.9-rc6 with unfairness 0 behaves as v5.9', () => {
    expect(runPolicy('v5.9-rc6', 0).violation?.id).toBe('DEADLOCK');
  });

  it('the same schedule with v4.14 (wake, then race): A wins the re-race, both finish', () => {
    const r = runPolicy('v4.14');
    expect(r.violation).toBeNull();
    expect(r.opsDone).toEqual([1, 1]);
  });

  it('v5.9-rc6 with the default unfairness (5): B\'s first wait is not a hand-off wait, A wins as with v4.14', () => {
    const r = runPolicy('v5.9-rc6', 5);
    expect(r.violation).toBeNull();
    expect(r.opsDone).toEqual([1, 1]);
  });

  it('exploration with v5.9 finds the deadlock for seeds 1-5 within 200 iterations', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const cfg = cfgFor('v5.9');
      const res = explore({ scenario: lockOrderScenario, cfg, lock: makeLock('v5.9'), strategies: portfolio(3), iterations: 200, opsPerActor: 3, seed });
      expect(res.finds[0]?.violation.id, `seed ${seed}`).toBe('DEADLOCK');
    }
  });
});
