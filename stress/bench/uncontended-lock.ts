// One lock's uncontended lockPage + unlockPage loops (uncontended.ts), measured on the thread that
// calls measureLock(): the generators drained, through FreeDriver.drive, and the direct form.
// uncontended.ts runs it in a worker thread of its own per lock, as a run has one lock table per
// worker: the protocol code is shared by every algorithm's table, and measuring the seven tables
// on one thread made each call through `t.ops.lock` megamorphic (a property load through V8's
// stub cache instead of an inlined one), which no run does.
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { FreeDriver } from '../../src/sched/free.ts';
import { directOf, enterDirect, type DirectDriver, type DirectFn } from '../../src/kernel/direct.ts';
import { CTL } from '../../src/shm/layout.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { benchShm, benchTask, drain } from './common.ts';

/** The process's CPU time, ns (see uncontended.ts). */
export const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** Tasks in the model the pair runs in: a 4-worker run's actors and its checker, so that whatever
 * the lock code does per task (a scan of every task's words) costs what it costs in a run. */
export const TASKS = 5;

/** Short calls of each measuring loop before the long ones. V8 gives a function its feedback
 * vector only after some calls, so a loop first run 200,000 times records no feedback for what it
 * called before the loop (cpuNs()): it was compiled on-stack mid-loop, then deoptimized at that
 * call on every later entry and compiled again mid-loop, each time with whatever feedback its
 * callees had by then, which differed from one thread to the next (whether the pair was inlined
 * into the loop: ~42 or ~57 ns for the same build, --trace-opt / --trace-turbo-inlining). Called
 * short first, each loop is compiled once, whole, with complete feedback, as a run's code is. */
const WARM_CALLS = 40;
const WARM_PAIRS = 500;

/** Warm up every measuring loop (`n` pairs a call), short calls first (above), then 3 long
 * rounds, alternated so the order of measurement does not favour one. */
function warmUp(loops: ((k: number) => number)[], n: number): void {
  for (let w = 0; w < WARM_CALLS; w++) for (const f of loops) f(WARM_PAIRS);
  for (let w = 0; w < 3; w++) for (const f of loops) f(n);
}

/** The bare minimum a lock needs, one Atomics.compareExchange + one Atomics.store, ns per pair:
 * the reference every pair is compared with, measured on the thread that measures the pair and
 * between its rounds (a raw pair measured once, or on another thread, moves with that thread's
 * moment of the machine's load, not the pair's). */
export function rawPairNs(n: number): number {
  const a = new Int32Array(new SharedArrayBuffer(64));
  const t0 = cpuNs();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(a, 0, 0, 1) !== 0) throw new Error('raw lock taken');
    Atomics.store(a, 0, 0);
  }
  return (cpuNs() - t0) / n;
}

export interface LockPairTimes {
  /** the raw pair (rawPairNs()) on the same thread, one per round, before the round's pairs */
  raw: number[];
  bare: number[];
  driven: number[];
  /** null when the build made no direct form (running from the sources) */
  direct: number[] | null;
}

export function measureLock(name: string, n: number, reps: number): LockPairTimes {
  const lock = makeLock(name, { unfairness: DEFAULTS.unfairness });
  const shm = benchShm(TASKS);
  const t = benchTask(shm, 0, lock);
  const driver = new FreeDriver({ t, scenario: {} as Scenario, role: 'bench', cfg: { ...DEFAULTS, perturb: 'off' } });
  const bare = (k: number) => {
    const t0 = cpuNs();
    for (let i = 0; i < k; i++) {
      drain(lock.lockPage(t, 0));
      drain(lock.unlockPage(t, 0));
    }
    return (cpuNs() - t0) / k;
  };
  const driven = (k: number) => {
    const t0 = cpuNs();
    for (let i = 0; i < k; i++) {
      driver.drive(lock.lockPage(t, 0));
      driver.drive(lock.unlockPage(t, 0));
    }
    return (cpuNs() - t0) / k;
  };
  // the direct form as a run takes it (src/kernel/direct.ts): the driver entered once, each
  // entry's direct form called through the table
  const lockD = directOf(lock.lockPage), unlockD = directOf(lock.unlockPage);
  const direct = lockD && unlockD ? (k: number) => {
    const outer = enterDirect(driver);
    try {
      const t0 = cpuNs();
      for (let i = 0; i < k; i++) {
        (lockD as DirectFn).call(lock, t, 0);
        (unlockD as DirectFn).call(lock, t, 0);
      }
      return (cpuNs() - t0) / k;
    } finally {
      enterDirect(outer);
    }
  } : null;
  warmUp(direct ? [rawPairNs, bare, driven, direct] : [rawPairNs, bare, driven], n);
  const out: LockPairTimes = { raw: [], bare: [], driven: [], direct: direct ? [] : null };
  for (let r = 0; r < reps; r++) {
    out.raw.push(rawPairNs(n));
    out.bare.push(bare(n));
    out.driven.push(driven(n));
    if (direct) out.direct!.push(direct(n));
  }
  if (shm.ctl[CTL.VIOLATIONS] !== 0) throw new Error(`${name}: violations in an uncontended loop`);
  return out;
}

/** One row of the direct pair's breakdown: its driver's pair and the raw pair, alternated. */
export interface BreakdownRow {
  name: string;
  raw: number[];
  pair: number[];
}

/** The rows of the breakdown (measureBreakdown()). */
export const BREAKDOWN_ROWS = 4;

/** The direct form's uncontended pair (v5.9) on a driver that does less at its two schedule
 * points (row 0: nothing; 1: the label id; 2: + the flight record; 3: the free driver, + the
 * perturbation countdown), so each difference is one piece of what a point costs on the free
 * driver; the lock's own checks (shadow owner, held list, stats, owed wake-ups) are in every row.
 * One row per thread: the direct form's call to the driver stays monomorphic, as in a run. Null
 * when the build made no direct form. */
export function measureBreakdown(n: number, reps: number, row: number): BreakdownRow | null {
  const lock = makeLock('v5.9', {});
  const shm = benchShm(TASKS);
  const t = benchTask(shm, 0, lock);
  const lockD = directOf(lock.lockPage), unlockD = directOf(lock.unlockPage);
  if (!lockD || !unlockD) return null;
  const none = () => {
    throw new Error('no effects or generators in an uncontended pair');
  };
  const labels = t.labels;
  const drivers: [string, () => DirectDriver][] = [
    ['points do nothing (the lock\'s own code: atomics, checks, held list, stats)', () => ({ point() {}, effect: none, drive: none })],
    ['+ the label id (cached per call site)', () => ({
      point(l) {
        if (l.tab !== labels) { l.tab = labels; l.id = labels.id(l.s); }
      }, effect: none, drive: none,
    })],
    ['+ the flight record (Task.recordId: step number, 5 words)', () => ({
      point(l) {
        if (l.tab !== labels) { l.tab = labels; l.id = labels.id(l.s); }
        t.recordId(l.id);
      }, effect: none, drive: none,
    })],
    ['the free driver, --perturb off (+ the perturbation countdown)', () => new FreeDriver({ t, scenario: getScenario('locks'), role: 'bench', cfg: { ...DEFAULTS, perturb: 'off' } })],
  ];
  const [name, make] = drivers[row];
  const d = make();
  const pair = (k: number) => {
    const outer = enterDirect(d);
    try {
      const t0 = cpuNs();
      for (let i = 0; i < k; i++) {
        lockD.call(lock, t, 0);
        unlockD.call(lock, t, 0);
      }
      return (cpuNs() - t0) / k;
    } finally {
      enterDirect(outer);
    }
  };
  warmUp([rawPairNs, pair], n);
  const out: BreakdownRow = { name, raw: [], pair: [] };
  for (let r = 0; r < reps; r++) {
    out.raw.push(rawPairNs(n));
    out.pair.push(pair(n));
  }
  if (shm.ctl[CTL.VIOLATIONS] !== 0) throw new Error('violations in an uncontended loop');
  return out;
}
