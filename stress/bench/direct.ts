// The direct form of the protocol code in free mode (src/kernel/direct.ts):
//
// 1. What one schedule point costs on the free driver, piece by piece: reaching the driver from
//    the direct form, the flight record, the perturbation check, a stats count; and what the
//    generator path paid per point before (a perturbation draw per point). Then the uncontended
//    lock_page + unlock_page taken apart the same way (drivers doing less at its two points).
// 2. map-truncate free-mode operations per second with the direct form on and off
//    (PAGELOCK_DIRECT=off: the generators), and with DIRECT_BASE=DIR the build in DIR too, same
//    flags, runs alternating with the order flipping each round so drift in the machine's load
//    hits every side (DIRECT_BASE=DIR,DIR: several). Target: on >= 3x off (or the base build). Then
//    where the actors' wall time went in the direct-form runs (run.extra.wall).
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { enterDirect, label, point, type DirectDriver } from '../../src/kernel/direct.ts';
import { perturbRng } from '../../src/kernel/rng.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { DIRECT_ENV, FreeDriver, type FreeWall } from '../../src/sched/free.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import type { RunResult } from '../../src/report/result.ts';
import { benchShm, benchTask, benchWorker, collect, fmt, median, nowNs, type BenchSection, type BenchTable } from './common.ts';
import { BREAKDOWN_ROWS, type BreakdownRow } from './uncontended-lock.ts';

const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const THROUGHPUT_TARGET = 3;

function pointCosts(quick: boolean): BenchTable {
  const n = quick ? 200_000 : 2_000_000;
  const reps = quick ? 3 : 7;
  const shm = benchShm(1);
  const t = benchTask(shm, 0, makeLock('v5.9', {}));
  const driverFor = (perturb: RunConfig['perturb']) =>
    // a scenario whose runOp has a direct form: the driver perturbs at the direct form's rates, as a run does
    new FreeDriver({ t, scenario: getScenario('locks'), role: 'bench', cfg: { ...DEFAULTS, perturb } });
  const off = driverFor('off'), low = driverFor('low'), high = driverFor('high');
  const noop: DirectDriver = { point() {}, effect() { return undefined; }, drive() { throw new Error('no generators here'); } };
  const l = label('bench_point');
  const viaRuntime = (d: DirectDriver) => (k: number) => {
    const outer = enterDirect(d);
    try {
      const t0 = nowNs();
      for (let i = 0; i < k; i++) point(l);
      return (nowNs() - t0) / k;
    } finally {
      enterDirect(outer);
    }
  };
  const id = t.labels.id('bench_point');
  const prng = perturbRng('bench', 0);
  let sink = 0;
  const rows: [string, (k: number) => number][] = [
    ['empty loop', (k) => { const t0 = nowNs(); for (let i = 0; i < k; i++) sink += i; return (nowNs() - t0) / k; }],
    ['direct form -> driver (a no-op driver)', viaRuntime(noop)],
    ['flight record alone (Task.recordId)', (k) => { const t0 = nowNs(); for (let i = 0; i < k; i++) t.recordId(id); return (nowNs() - t0) / k; }],
    ['stats count alone (Task.stat)', (k) => { const t0 = nowNs(); for (let i = 0; i < k; i++) t.stat('ops'); return (nowNs() - t0) / k; }],
    ['a perturbation draw (what each point paid before)', (k) => { const t0 = nowNs(); for (let i = 0; i < k; i++) sink += prng(); return (nowNs() - t0) / k; }],
    ['schedule point, --perturb off (record + check)', viaRuntime(off)],
    ['schedule point, --perturb low (record + check + events)', viaRuntime(low)],
    ['schedule point, --perturb high (record + check + events)', viaRuntime(high)],
  ];
  for (const [, f] of rows) f(n / 10); // warm up
  const res = rows.map(([name, f]) => {
    const xs: number[] = [];
    for (let r = 0; r < reps; r++) xs.push(f(name.includes('high') || name.includes('low') ? n / 10 : n));
    return [name, fmt(median(xs), 2), fmt(Math.min(...xs), 2)];
  });
  if (sink === 0.5) console.log(sink);
  return {
    title: `One schedule point of the direct form on the free driver, ns (median and best of ${reps} x ${n}; --perturb low/high: ${n / 10})`,
    head: ['what', 'ns median', 'ns best'],
    rows: res,
    notes: [
      `load average ${load()} (the machine is shared: figures are noisy)`,
      'low/high include the perturbation events themselves (spins, sleeps), averaged over every point.',
    ],
  };
}

/** The uncontended lock_page + unlock_page of the direct form taken apart (uncontended-lock.ts
 * measureBreakdown()), each row on a worker thread of its own like the uncontended section's
 * pairs. */
async function pairBreakdown(quick: boolean): Promise<BenchTable> {
  const n = quick ? 20_000 : 200_000;
  const reps = quick ? 3 : 11;
  const rows: BreakdownRow[] = [];
  for (let row = 0; row < BREAKDOWN_ROWS; row++) {
    const [b] = await collect<BreakdownRow | null>([benchWorker('uncontended-worker', { what: 'breakdown', row, n, reps })]);
    if (!b) return { title: 'direct pair breakdown: no direct form (not built)', head: [], rows: [] };
    rows.push(b);
  }
  const raw = rows.flatMap((r) => r.raw);
  const m = rows.map((r) => median(r.pair)), own = rows.map((r) => median(r.raw));
  return {
    title: `The direct form's uncontended lock_page + unlock_page (v5.9) piece by piece, CPU ns per pair (median and best of ${reps} x ${n}, each row on a worker thread of its own, alternated with the raw pair on that thread)`,
    head: ['driver at the pair\'s 2 schedule points', 'ns median', 'ns best', 'raw ns (same thread)', 'vs raw', 'step'],
    rows: [
      ['raw Atomics.compareExchange + Atomics.store (all rows\' runs)', fmt(median(raw)), fmt(Math.min(...raw)), '', '1.00x', ''],
      ...rows.map((r, i) => [r.name, fmt(m[i]), fmt(Math.min(...r.pair)), fmt(own[i]), `${fmt(m[i] / own[i], 2)}x`, i >= 1 ? `+${fmt(m[i] - m[i - 1])}` : '']),
    ],
    notes: [`load average ${load()}`, 'vs raw: the row\'s median over the median of the raw pair measured on its own thread between its rounds.',
      'step: what the row adds to the one above, per pair (two schedule points).'],
  };
}

const opsOf = (r: RunResult) => r.tasks.reduce((a, t) => a + t.ops, 0);

/** DIRECT_BASE=DIR[,DIR...]: also run the build in each DIR (a worktree of an older commit, `npm run
 * build` there) in the same alternation, e.g. the commit before the direct form. */
const BASE_ENV = 'DIRECT_BASE';
/** 'on', 'off', or the index of a DIRECT_BASE build */
type Side = 'on' | 'off' | number;
type RunStress = (cfg: RunConfig) => Promise<RunResult>;

async function baseBuild(dir: string): Promise<{ runStress: RunStress; defaults: RunConfig; commit: string }> {
  const dist = resolve(dir, 'dist', 'src');
  if (!existsSync(join(dist, 'run', 'orchestrate.js'))) throw new Error(`${BASE_ENV}=${dir}: no build there (npm run build in it first)`);
  const orchestrate = (await import(pathToFileURL(join(dist, 'run', 'orchestrate.js')).href)) as { runStress: RunStress };
  // the run configuration moved from src/run to src/kernel (an older base has it in run/)
  const configJs = [join(dist, 'kernel', 'config.js'), join(dist, 'run', 'config.js')].find((f) => existsSync(f))!;
  const config = (await import(pathToFileURL(configJs).href)) as { DEFAULTS: RunConfig };
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* not a git worktree: the path says which build it is */ }
  return { runStress: orchestrate.runStress, defaults: config.DEFAULTS, commit };
}

type RoleWall = FreeWall & { task: number; role: string };

/** Where the actors' wall time went in this build's runs (run.extra.wall, summed per role over the
 * runs): the parts the driver measures (src/sched/free.ts FreeWall) as % of the actors' time. */
function wallTable(side: Side, walls: RoleWall[][]): BenchTable {
  const byRole = new Map<string, FreeWall>();
  for (const w of walls.flat()) {
    const acc = byRole.get(w.role) ?? { totalMs: 0, sleepMs: 0, sleeps: 0, spinSleepMs: 0, spinSleeps: 0, holdMs: 0, holds: 0, napMs: 0, naps: 0, waitMs: 0, waits: 0, parkMs: 0 };
    for (const k of Object.keys(acc) as (keyof FreeWall)[]) acc[k] += w[k];
    byRole.set(w.role, acc);
  }
  const pct = (x: number, w: FreeWall) => `${fmt((100 * x) / w.totalMs, 1)} %`;
  const each = (ms: number, n: number) => (n ? fmt((1000 * ms) / n, 0) : '-');
  return {
    title: `Where a map-truncate actor's wall time goes, direct form ${side} (the runs above, summed per role): % of the actor's time, and the mean length of one, us`,
    head: ['role', 'perturbation sleeps', 'us each', 'of them a spinlock held', 'holds', 'us each', "spinners' naps", 'us each', 'other waits', 'us each', 'parked', 'the rest (running or ready)'],
    rows: [...byRole].map(([role, w]) => [
      role, pct(w.sleepMs, w), each(w.sleepMs, w.sleeps), pct(w.spinSleepMs ?? 0, w), pct(w.holdMs, w), each(w.holdMs, w.holds), pct(w.napMs, w), each(w.napMs, w.naps),
      pct(w.waitMs, w), each(w.waitMs, w.waits), pct(w.parkMs, w), pct(w.totalMs - w.sleepMs - w.holdMs - w.napMs - w.waitMs - w.parkMs, w),
    ]),
    notes: [
      'perturbation sleeps and holds: Atomics.wait with a timeout (src/sched/free.ts PERTURB_RATES); they last longer than asked (timer slack, wake-up, a core to run on). A spinlock held: the sleeper holds the PTL, an i_pages lock, a page_table_lock or the zone lock, and whoever wants it naps meanwhile.',
      "spinners' naps: a spin_lock() whose holder has not let go naps on the lock word, 20 us at a time or until the unlock wakes it; other waits: page locks, the bucket lock, mutexes, rw semaphores.",
      'parked: quiescent epochs and stutter. The rest: the actor ran, or was ready while the cores ran other threads (4 actors on 2 cores).',
    ],
  };
}

async function throughput(quick: boolean): Promise<BenchTable[]> {
  const ms = quick ? 2_000 : 8_000;
  const pairs = quick ? 1 : 3;
  const loadBefore = load();
  const baseDirs = (process.env[BASE_ENV] ?? '').split(',').filter((d) => d !== '');
  const bases = await Promise.all(baseDirs.map((d) => baseBuild(d)));
  const sides: Side[] = ['on', 'off', ...bases.map((_, i) => i)];
  const rate = new Map<Side, number[]>(sides.map((s) => [s, []]));
  const walls: RoleWall[][] = [];
  const notes: string[] = [];
  const saved = process.env[DIRECT_ENV];
  try {
    for (let p = 0; p < pairs; p++) {
      for (const side of p % 2 ? [...sides].reverse() : sides) {
        const run = typeof side === 'number' ? bases[side].runStress : runStress;
        const defaults = typeof side === 'number' ? bases[side].defaults : DEFAULTS;
        process.env[DIRECT_ENV] = side === 'off' ? 'off' : 'on'; // the workers inherit the environment they start with
        const r = await run({
          ...defaults, scenario: 'map-truncate', workers: 4, reportDir: null, reproduce: false, durationMs: ms, seed: `bench-${p}`,
          extra: { 'map-pages': 'mainline' },
        });
        if (r.outcome !== 'SUCCESS') notes.push(`${typeof side === 'number' ? `base ${baseDirs[side]}` : `direct ${side}`}, pair ${p + 1}: ${r.outcome} (${r.endReason}) after ${r.elapsedMs} ms`);
        rate.get(side)!.push(opsOf(r) / (r.elapsedMs / 1000));
        if (side === 'on' && Array.isArray(r.extra.wall)) walls.push(r.extra.wall as RoleWall[]);
      }
    }
  } finally {
    if (saved === undefined) delete process.env[DIRECT_ENV];
    else process.env[DIRECT_ENV] = saved;
  }
  const rOn = rate.get('on')!, on = median(rOn);
  const k = (x: number) => fmt(x / 1000, 1);
  const vs = (side: Side, what: string) => {
    const xs = rate.get(side)!, m = median(xs);
    return [`on / ${what}`, ...rOn.map((x, i) => `${fmt(x / xs[i], 2)}x`), `${fmt(on / m, 2)}x ${on / m >= THROUGHPUT_TARGET ? 'ok' : 'UNDER'} (>= ${THROUGHPUT_TARGET}x)`];
  };
  const baseName = (i: number) => `base build ${bases[i].commit} (${baseDirs[i]})`;
  return [{
    title: `map-truncate mainline, 4 workers, default flags (--perturb low, stutter, epochs), via runStress: thousand ops/s, direct form on vs off${bases.length ? ` vs ${bases.length} base build(s)` : ''} (${pairs} alternated round(s) of ${ms / 1000} s)`,
    head: ['direct form', ...rOn.map((_, i) => `run ${i + 1}`), 'median'],
    rows: [
      ...sides.map((side) => {
        const xs = rate.get(side)!;
        return [side === 'on' ? 'on' : side === 'off' ? `off (${DIRECT_ENV}=off: generators)` : baseName(side), ...xs.map(k), k(median(xs))];
      }),
      ...sides.slice(1).map((side) => vs(side, typeof side === 'number' ? `base ${bases[side].commit}` : 'off')),
    ],
    notes: [
      `load average before ${loadBefore}, after ${load()} (1, 5, 15 min; the machine is shared)`,
      'ops/s = operations of all actors / elapsed (start barrier to every actor stopped: worker start-up excluded).',
      'off is this build\'s generator path: it has every cost cut but the direct form (op streams, atomics, the cheaper perturbation check).',
      `${BASE_ENV}=DIR[,DIR...] adds the build in each DIR (its own workers) to the alternation, e.g. a worktree of the commit before the direct form.`,
      ...notes,
    ],
  }, wallTable('on', walls)];
}

export const directBench: BenchSection = {
  name: 'direct',
  description: 'the direct form in free mode: one schedule point piece by piece; map-truncate ops/s with it on vs off',
  async run(o) {
    return [pointCosts(o.quick), await pairBreakdown(o.quick), ...(await throughput(o.quick))];
  },
};
