// The wake-up self-test set (src/variants/mutants/lock-*.ts, LOCK_MUTANT_CELLS): one mistake each in
// the set-waiters, queue, wake, finish-wait and signal steps. Each is caught in controlled mode as
// LOCK-WAKE by the owed wake-up accounting, in its cell's configuration (the locks scenario on one
// hot page, 4 actors, random walk), for seeds 1-3 within a bounded number of iterations. (The cell
// of lock-signal-first runs 8 pages, for its free row; one page is where controlled mode finds it
// soonest without signal events: iterations 1,166 / 209 / 659 against 12,324 / 7,660 / 3,741.)
import { describe, expect, it } from 'vitest';
import '../../src/variants/mutants/lock-mutants.ts';
import { LOCK_MUTANT_CELLS } from '../../src/variants/mutants/lock-mutants.ts';
import { explore } from '../../src/sched/explore.ts';
import { lockInfo, lockNames, makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';

/** The cell's configuration (its unfairness, if it sets one). */
const cfgFor = (lock: string): RunConfig => {
  const cell = LOCK_MUTANT_CELLS.find((c) => c.name === `locks/${lock}`);
  return { ...DEFAULTS, scenario: 'locks', lock, workers: 4, pages: 1, extra: {}, ...(cell?.cfg?.unfairness !== undefined ? { unfairness: cell.cfg.unfairness } : {}) };
};

function exploreLock(lock: string, seed: string, iterations: number) {
  return explore({
    scenario: locksScenario, cfg: cfgFor(lock), lock: makeLock(lock, { unfairness: cfgFor(lock).unfairness }), strategies: [{ kind: 'random', depth: 3 }],
    iterations, opsPerActor: 4, seed,
  });
}

const MUTANTS: [string, number][] = [
  // name, iteration budget per seed (measured: the most any of seeds 1-3 needed, times ~2)
  ['lock-waiters-unlocked', 50],
  ['lock-waiters-late', 50],
  ['lock-norequeue', 50],
  ['lock-wake-skip-killable', 50],
  ['lock-waiters-cleared', 50],
  ['lock-finishwait-clears', 400],
  ['lock-signal-first', 2500],
];

describe('wake-up self-test locks', () => {
  it('are registered hidden, each with a cell that breaks LOCK-WAKE', () => {
    for (const [name] of MUTANTS) {
      expect(lockInfo(name)?.hidden, name).toBe(true);
      expect(lockNames()).not.toContain(name);
      const cell = LOCK_MUTANT_CELLS.find((c) => c.name === `locks/${name}`);
      expect(cell?.expected, name).toEqual({ breaks: expect.arrayContaining(['LOCK-WAKE']) });
    }
  });

  for (const [name, budget] of MUTANTS) {
    it(`${name}: caught as LOCK-WAKE for seeds 1-3 within ${budget} iterations`, () => {
      for (const seed of ['1', '2', '3']) {
        const r = exploreLock(name, seed, budget);
        expect(r.finds.map((f) => f.violation.id), `seed ${seed}`).toEqual(['LOCK-WAKE']);
      }
    }, 60_000);
  }
});
