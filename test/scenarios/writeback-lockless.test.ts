// The writeback scenario's lockless paths in controlled mode, on the matrix cell's configuration
// (src/variants/mutants/wb-mutants.ts): the self-test fdatawait-dirty-tag is caught (WB-WAIT) for
// seeds 1-3 within a bound, and mainline stays clean on the same configuration. Deterministic: the
// same seed explores the same iterations.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { writebackScenario } from '../../src/scenarios/writeback.ts';
import { WB_LOCKLESS_CELLS } from '../../src/variants/mutants/wb-mutants.ts';
import { mmConfig } from '../helpers/mm-fixture.ts';

const cell = (name: string) => WB_LOCKLESS_CELLS.find((c) => c.name === name)!;

function exploreCell(name: string, seed: string, iterations: number) {
  const c = cell(name);
  const ctl = c.controlled!;
  const cfg = mmConfig({ ...c.cfg?.extra, ...ctl.extra }, {
    scenario: 'writeback', workers: ctl.workers!, seed, ...(c.cfg?.variants ? { variants: [...c.cfg.variants] } : {}),
  });
  return explore({
    scenario: writebackScenario, cfg, lock: makeLock(c.cfg?.lock ?? 'v5.9-rc6'), strategies: strategySpecs('portfolio', 3),
    iterations, opsPerActor: ctl.opsPerActor!, seed,
  });
}

describe('writeback lockless paths, controlled mode', () => {
  it('fdatawait-dirty-tag (WB-WAIT): seeds 1-3, within 2000 iterations', () => {
    for (const seed of ['1', '2', '3']) {
      const r = exploreCell('writeback/fdatawait-dirty-tag', seed, 2000);
      expect(r.finds.map((f) => f.violation.id), `seed ${seed}`).toEqual(['WB-WAIT']);
    }
  }, 120_000);

  it('mainline on the same cell: 300 iterations per lock algorithm, nothing found', () => {
    for (const lock of ['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10']) {
      const r = exploreCell(`writeback/lockless-${lock}`, '1', 300);
      expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message ?? ''}`), lock).toEqual([]);
      expect(r.stats.iterations).toBe(300);
    }
  }, 120_000);
});
