// Fault-path variants in controlled mode (the writeback scenario, writer against truncator): patch
// 1-3 is caught as MAP-EOF for seeds 1-5 within a bounded number of iterations; the same
// exploration of mainline, patch1 and patch1-2 finds nothing; the fault-nolock mutant is caught at
// its first fault.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { writebackScenario } from '../../src/scenarios/writeback.ts';

const WRITER_VS_TRUNCATOR = { roles: 'writer,truncator', files: 1, 'file-pages': 8, processes: 1, vmas: 2 };

function exploreFaultPath(faultPath: string, seed: string, iterations: number, extra: Record<string, string | number> = WRITER_VS_TRUNCATOR) {
  const cfg: RunConfig = { ...DEFAULTS, scenario: 'writeback', workers: 2, pages: 32, buckets: 16, extra: { ...extra, 'fault-path': faultPath } };
  return explore({ scenario: writebackScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: portfolio(3), iterations, opsPerActor: 4, seed });
}

describe('fault paths in controlled mode', () => {
  it('patch1-3: MAP-EOF for seeds 1-5 within 2,000 iterations each', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const r = exploreFaultPath('patch1-3', seed, 2000);
      expect(r.finds[0]?.violation.id, `seed ${seed}`).toBe('MAP-EOF');
      // caught by the writer right after its fault (checkMapEof): values = file, index, i_size, COW
      const v = r.finds[0].violation;
      expect([v.task, v.values[0], v.values[3]], `seed ${seed}: ${v.message}`).toEqual([0, 0, 1]);
      expect(v.values[1]).toBeGreaterThanOrEqual(Math.ceil(v.values[2] / 4096));
    }
  }, 30_000);

  it('mainline, patch1 and patch1-2: the same 400 iterations of seed 1 find nothing', () => {
    for (const fp of ['mainline', 'patch1', 'patch1-2']) {
      const r = exploreFaultPath(fp, '1', 400);
      expect(r.finds, fp).toEqual([]);
      expect(r.stats.iterations).toBe(400);
    }
  }, 30_000);

  it('fault-nolock: FAULT-LOCKED in the first iteration, for seeds 1-5', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const r = exploreFaultPath('fault-nolock', seed, 5, { roles: 'writer,faulter' });
      expect(r.finds[0]?.violation.id, `seed ${seed}`).toBe('FAULT-LOCKED');
      expect(r.finds[0].iteration).toBe(0);
    }
  });
});
