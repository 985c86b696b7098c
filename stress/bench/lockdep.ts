// What the checking costs: lockdep (--lockdep) on vs off, and the lock-wait timing of the slow
// path, which is always on.
//
// 1. In one thread, through the free driver: lock_page + unlock_page with nothing else held (the
//    check returns at once) and a nested pair in index order (the check records the dependency
//    from the held page, a cached order after the first time), lockdep off vs on.
// 2. Whole runs through runStress (--perturb off, no stutter, 2 workers): ops/s of the `locks`
//    scenario (one page lock per operation) and of `map-truncate` (page locks, PTLs and writeback
//    waits nested), lockdep off vs on, alternating, median of the repetitions.
// 3. Wait timing: every slow-path acquisition (a task that had to sleep) reads the clock twice
//    (yield NOW before and after the wait) and adds one histogram count. It cannot be switched
//    off; its cost per timed wait is measured here in one thread, and its share of a run follows
//    from the contended acquisitions/s of the runs in 2.
import os from 'node:os';
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import type { RunResult } from '../../src/report/result.ts';
import { FreeDriver } from '../../src/sched/free.ts';
import { NOW, type Step } from '../../src/kernel/step.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { attachLockdep } from '../../src/check/lockdep.ts';
import { histRecord } from '../../src/shm/histogram.ts';
import { CTL, HIST_BUCKETS } from '../../src/shm/layout.ts';
import { benchShm, benchTask, fmt, median, nowNs, type BenchSection, type BenchTable } from './common.ts';

function inThread(quick: boolean): BenchTable {
  const n = quick ? 20_000 : 200_000;
  const reps = quick ? 3 : 7;
  const setup = (lockdep: boolean) => {
    const lock = makeLock('v5.9-rc6');
    const shm = benchShm(1, 2);
    const t = benchTask(shm, 0, lock);
    if (lockdep) attachLockdep(t);
    const cfg: RunConfig = { ...DEFAULTS, perturb: 'off', lockdep };
    const d = new FreeDriver({ t, scenario: {} as Scenario, role: 'bench', cfg });
    const single = (k: number) => {
      const t0 = nowNs();
      for (let i = 0; i < k; i++) {
        d.drive(lock.lockPage(t, 0));
        d.drive(lock.unlockPage(t, 0));
      }
      return (nowNs() - t0) / k;
    };
    const nested = (k: number) => {
      const t0 = nowNs();
      for (let i = 0; i < k; i++) {
        d.drive(lock.lockPage(t, 0));
        d.drive(lock.lockPage(t, 1)); // pfn order (no file): a dependency page 0 -> page 1
        d.drive(lock.unlockPage(t, 1));
        d.drive(lock.unlockPage(t, 0));
      }
      return (nowNs() - t0) / k;
    };
    return { shm, single, nested };
  };
  const off = setup(false), on = setup(true);
  for (let w = 0; w < 2; w++) for (const s of [off, on]) { s.single(n); s.nested(n); }
  const r = { offS: [] as number[], onS: [] as number[], offN: [] as number[], onN: [] as number[] };
  for (let i = 0; i < reps; i++) {
    r.offS.push(off.single(n)); r.onS.push(on.single(n));
    r.offN.push(off.nested(n)); r.onN.push(on.nested(n));
  }
  for (const s of [off, on]) if (s.shm.ctl[CTL.VIOLATIONS] !== 0) throw new Error('lockdep bench: a violation in a correct loop');
  const row = (name: string, a: number[], b: number[]) => [name, fmt(median(a)), fmt(median(b)), `${fmt((median(b) / median(a) - 1) * 100, 1)} %`];
  return {
    title: `lockdep in one thread through the free driver, ns per operation (median of ${reps} x ${n}; v5.9-rc6)`,
    head: ['operation', 'lockdep off', 'lockdep on', 'cost'],
    rows: [
      row('lock_page + unlock_page, nothing else held', r.offS, r.onS),
      row('lock_page(0), lock_page(1) nested, unlock both', r.offN, r.onN),
    ],
  };
}

/** One timed wait as lockSlow does it: yield NOW, (the wait), yield NOW, histogram + maxWaitUs. */
function* timedWait(hist: Int32Array, stats: Int32Array): Step<void> {
  const t0: number = yield NOW;
  const t1: number = yield NOW;
  histRecord(hist, 0, t1 - t0);
  const u = Math.round((t1 - t0) / 1000);
  if (u > stats[0]) stats[0] = u;
}

/** ns per timed wait, answering NOW as the free driver does (hrtime) */
function timingNs(n: number): number {
  const hist = new Int32Array(HIST_BUCKETS), stats = new Int32Array(1);
  const base = process.hrtime.bigint();
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    const g = timedWait(hist, stats);
    let send: unknown;
    for (;;) {
      const r = g.next(send);
      if (r.done) break;
      send = Number(process.hrtime.bigint() - base);
    }
  }
  return (nowNs() - t0) / n;
}

interface RunFigures {
  opsPerS: number;
  contendedPerS: number;
}

function figures(r: RunResult): RunFigures {
  if (r.outcome !== 'SUCCESS') throw new Error(`${r.config.scenario} lockdep=${r.config.lockdep}: ${r.endReason}, ${r.violations[0]?.message ?? ''}`);
  const s = r.elapsedMs / 1000;
  return {
    opsPerS: r.tasks.reduce((a, t) => a + t.ops, 0) / s,
    contendedPerS: r.tasks.reduce((a, t) => a + (t.stats.contended ?? 0), 0) / s,
  };
}

export const lockdepBench: BenchSection = {
  name: 'lockdep',
  description: 'ops/s with --lockdep on vs off; the cost of the slow-path wait timing',
  async run(o) {
    const tables: BenchTable[] = [inThread(o.quick)];

    const ms = o.quick ? 1_000 : 4_000;
    const reps = o.quick ? 1 : 3;
    const runs: { scenario: string; extra: RunConfig['extra']; pages: number }[] = [
      { scenario: 'locks', extra: {}, pages: 4 },
      { scenario: 'map-truncate', extra: {}, pages: DEFAULTS.pages },
    ];
    const rows: (string | number)[][] = [];
    const contended: number[] = [];
    for (const sc of runs) {
      const off: RunFigures[] = [], on: RunFigures[] = [];
      for (let i = 0; i < reps; i++) {
        for (const lockdep of i % 2 ? [true, false] : [false, true]) {
          const r = await runStress({
            ...DEFAULTS, scenario: sc.scenario, pages: sc.pages, workers: 2, durationMs: ms, perturb: 'off', stutter: false,
            seed: `bench-${i}`, statIntervalMs: 60_000, hungMs: 30_000, lockdep, extra: sc.extra,
          });
          (lockdep ? on : off).push(figures(r));
        }
      }
      const a = median(off.map((x) => x.opsPerS)), b = median(on.map((x) => x.opsPerS));
      contended.push(median(off.map((x) => x.contendedPerS)));
      rows.push([sc.scenario, fmt(a / 1000, 1), fmt(b / 1000, 1), `${fmt((1 - b / a) * 100, 1)} %`]);
    }
    tables.push({
      title: `--lockdep off vs on through runStress, thousand ops/s (2 workers on ${os.availableParallelism()} cores, --perturb off, median of ${reps} runs of ${ms} ms each)`,
      head: ['scenario', 'off', 'on', 'slower by'],
      rows,
      notes: ['whole-run figures include worker start-up and checks; runs alternate on/off so drift hits both. A negative cost is noise.'],
    });

    const n = o.quick ? 50_000 : 500_000;
    for (let w = 0; w < 2; w++) timingNs(n);
    const per = median(Array.from({ length: o.quick ? 3 : 7 }, () => timingNs(n)));
    tables.push({
      title: 'Slow-path wait timing (always on): the cost of one timed wait, and its share of the runs above',
      head: ['what', 'value'],
      rows: [
        ['ns per timed wait (2 clock reads + histogram + max)', fmt(per, 0)],
        ...runs.map((sc, i) => [`${sc.scenario}: contended acquisitions/s (2 workers)`, fmt(contended[i], 0)]),
        ...runs.map((sc, i) => [`${sc.scenario}: timing share of 2 workers' CPU time`, `${fmt((contended[i] * per) / (2 * 1e9) * 100, 4)} %`]),
      ],
      notes: [
        'Only an acquisition that had to sleep is timed (lockSlow): the fast path, trylocks and steals are not, so the timing cannot',
        'move the uncontended races; a timed wait already costs a futex sleep and wake-up (~16 us here), beside which this is small.',
      ],
    });
    return tables;
  },
};
