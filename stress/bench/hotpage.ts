// Acquisitions per second on one hot page with 2, 4 and 8 workers, each looping lock_page +
// unlock_page through the free-mode driver. More workers than cores is deliberate at 4 and 8:
// it shows how each algorithm degrades when a lock holder is preempted.
import os from 'node:os';
import { fmt, median, type BenchSection } from './common.ts';
import { runLockWorkers } from './workers.ts';

export const hotpage: BenchSection = {
  name: 'hotpage',
  description: 'acquisitions/s on one hot page with 2, 4, 8 workers',
  async run(o) {
    const ms = o.quick ? 300 : 1_500;
    const reps = o.quick ? 1 : 3;
    const counts = [2, 4, 8];
    const rows: (string | number)[][] = [];
    for (const lock of o.locks) {
      const row: (string | number)[] = [lock];
      for (const n of counts) {
        const rates: number[] = [], spread: number[] = [];
        for (let r = 0; r < reps; r++) {
          const { results, elapsedNs } = await runLockWorkers('hot', n, lock, ms);
          const c = results.map((x) => x.count);
          rates.push(c.reduce((a, b) => a + b, 0) / (elapsedNs / 1e9));
          spread.push(Math.max(...c) / Math.max(1, Math.min(...c)));
        }
        row.push(fmt(median(rates) / 1000, 0), `${fmt(median(spread), 1)}`);
      }
      rows.push(row);
    }
    return [{
      title: `Acquisitions/s on one hot page, thousands (median of ${reps} runs of ${ms} ms; ${os.availableParallelism()} cores)`,
      head: ['lock', ...counts.flatMap((n) => [`${n}w k/s`, `${n}w max/min`])],
      rows,
      notes: ['max/min: the busiest worker\'s acquisitions over the idlest\'s (1.0 = perfectly fair).'],
    }];
  },
};
