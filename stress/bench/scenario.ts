// Acquisitions/s of the `locks` scenario on one page (--pages 1) through the run engine
// (runStress), so the figure includes everything a real run does: the operation mix (lock,
// trylock, killable lock, wait_on_page_locked, fatal signals), critical sections, the checker,
// quiescent epochs. --perturb off, no stutter.
import os from 'node:os';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { fmt, median, type BenchSection } from './common.ts';

export const scenarioBench: BenchSection = {
  name: 'scenario',
  description: 'acquisitions/s of the locks scenario on one page, through runStress',
  async run(o) {
    const ms = o.quick ? 500 : 2_000;
    const reps = o.quick ? 1 : 2;
    const counts = [2, 4, 8];
    const rows: (string | number)[][] = [];
    for (const lock of o.locks) {
      const row: (string | number)[] = [lock];
      for (const workers of counts) {
        const rates: number[] = [];
        for (let r = 0; r < reps; r++) {
          const res = await runStress({
            ...DEFAULTS, scenario: 'locks', lock, workers, pages: 1, durationMs: ms, perturb: 'off', stutter: false,
            seed: `bench-${r}`, statIntervalMs: 60_000, hungMs: 30_000, extra: {},
          });
          if (res.outcome !== 'SUCCESS') throw new Error(`${lock} x${workers}: ${res.endReason}, ${res.violationCount} violations`);
          const acq = res.tasks.reduce((a, t) => a + (t.stats.acquisitions ?? 0), 0);
          rates.push(acq / (res.elapsedMs / 1000));
        }
        row.push(fmt(median(rates) / 1000, 0));
      }
      rows.push(row);
    }
    return [{
      title: `locks scenario on one page via runStress, thousand acquisitions/s (median of ${reps} runs of ${ms} ms; ${os.availableParallelism()} cores)`,
      head: ['lock', ...counts.map((n) => `${n} workers`)],
      rows,
      notes: ['elapsed includes worker start-up and the final checks, so short runs understate the steady rate.'],
    }];
  },
};
