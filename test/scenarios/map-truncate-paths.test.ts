// The 6.6 paths in map-truncate's op mix under the controlled driver, through the same path as
// `explore --variant V --strategy random --seed S`: each self-test is caught by its invariant
// within an iteration budget, and mainline with those paths on (--fault-retry --killable-faults)
// shows nothing in a bounded exploration. Budgets are iteration counts, never times.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';

const cfgOf = (seed: string, workers: number, extra: RunConfig['extra'], variants?: string[]): RunConfig => ({
  ...DEFAULTS, scenario: 'map-truncate', seed, durationMs: 0, ops: 0, workers, ...(variants ? { variants } : {}),
  extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), ...extra },
});

function exploreCfg(cfg: RunConfig, iterations: number) {
  return explore({
    scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
    strategies: strategySpecs('random', 3), iterations, opsPerActor: 4, seed: cfg.seed,
  });
}

/** two faulters (read faults map the page table, writes COW what they mapped) and a truncator */
const COW = { roles: 'faulter,faulter,truncator', 'cow-permille': 500, files: 1, 'file-pages': 8 };
const KILLER = { 'killable-faults': true, 'fault-retry': true, roles: 'faulter,faulter,truncator,killer', files: 1, 'file-pages': 4 };

describe('map-truncate: the COW, fault-retry and partial-page self-tests are caught', () => {
  // seed 1 finds (measured): wp-copy-nopte-same at iteration 474, truncate-nozero 466, fault-killed-locked 2
  it.each([
    ['wp-copy-nopte-same', 3, COW, 2000, ['MAP-COUNT', 'REF-COUNT', 'MAP-EOF', 'FAULT-SIGBUS', 'DATA-STAMP', 'MAP-CACHE', 'DEL-LOCKED', 'FREE-BAD']],
    ['truncate-nozero', 3, {}, 2000, ['EOF-ZERO']],
    ['fault-killed-locked', 4, KILLER, 500, ['FAULT-LOCKED', 'LOCK-UNLOCK']],
  ] as const)('%s', (variant, workers, extra, budget, ids) => {
    const res = exploreCfg(cfgOf('1', workers, extra, [variant]), budget);
    expect(res.finds.length).toBe(1);
    expect(ids).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('mainline with --fault-retry --killable-faults: nothing in 1000 iterations', () => {
    const res = exploreCfg(cfgOf('2', 3, { 'fault-retry': true, 'killable-faults': true }), 1000);
    expect(res.finds).toEqual([]);
    expect(res.stats.iterations).toBe(1000);
  }, 120_000);

  it('the matrix has the three self-tests with their ids and a clean fault-retry cell per lock', () => {
    const cells = new Map(matrixCells().map((c) => [c.name, c]));
    expect(cells.get('map-truncate/truncate-nozero')?.expected).toEqual({ breaks: ['EOF-ZERO'] });
    expect(cells.get('map-truncate/fault-killed-locked')?.expected).toEqual({ breaks: ['FAULT-LOCKED', 'LOCK-UNLOCK'] });
    expect(cells.get('map-truncate/wp-copy-nopte-same')?.expected).toMatchObject({ breaks: expect.arrayContaining(['MAP-COUNT']) });
    for (const lock of ['v4.10', 'v5.9', 'v5.9-rc6', 'v5.9-rc6-wakefix', 'v5.9-rc6-wakepass'])
      expect(cells.get(`map-truncate/fault-retry=${lock}`)?.expected).toBe('clean');
  });
});
