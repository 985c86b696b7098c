// Uncontended lockPage + unlockPage on one page, one thread: the cost of the protocol code
// (its schedule points, the shadow-owner and held-list checks, the stats) against the bare
// minimum a lock needs, one Atomics.compareExchange + one Atomics.store.
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { FreeDriver } from '../../src/sched/free.ts';
import { directOf, enterDirect, type DirectFn } from '../../src/kernel/direct.ts';
import { CTL } from '../../src/shm/layout.ts';
import type { Step } from '../../src/kernel/step.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { benchShm, benchTask, drain, fmt, median, ratio, type BenchSection } from './common.ts';

/** The process's CPU time, ns. A pair is timed in CPU time, not wall time: on a shared machine a
 * loop of a few milliseconds is often preempted, and wall time then measured the load (the raw
 * pair moved from 15 to 36 ns between a quiet and a loaded run; in CPU time it stays at 15). The
 * loop runs on this thread alone: V8's helper threads add little to 200,000 pairs. */
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

const TARGET = 2;
/** Tasks in the model the pair runs in: a 4-worker run's actors and its checker, so that whatever
 * the lock code does per task (a scan of every task's words) costs what it costs in a run. */
const TASKS = 5;
/** issue 15: the pair through the free driver, in the direct form, within 3x the raw pair */
const DIRECT_TARGET = 3;

function rawPairNs(n: number): number {
  const a = new Int32Array(new SharedArrayBuffer(64));
  const t0 = cpuNs();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(a, 0, 0, 1) !== 0) throw new Error('raw lock taken');
    Atomics.store(a, 0, 0);
  }
  return (cpuNs() - t0) / n;
}

/** The floor of the generator design: the same two atomics, each behind one schedule point in a
 * generator of its own, as protocol code is written. */
function* genLock(a: Int32Array): Step<boolean> {
  yield 'trylock';
  return Atomics.compareExchange(a, 0, 0, 1) === 0;
}
function* genUnlock(a: Int32Array): Step<void> {
  yield 'unlock';
  Atomics.store(a, 0, 0);
}
function genPairNs(n: number): number {
  const a = new Int32Array(new SharedArrayBuffer(64));
  const t0 = cpuNs();
  for (let i = 0; i < n; i++) {
    if (!drain(genLock(a))) throw new Error('generator lock taken');
    drain(genUnlock(a));
  }
  return (cpuNs() - t0) / n;
}

export const uncontended: BenchSection = {
  name: 'uncontended',
  description: 'lockPage + unlockPage, one thread, no contention',
  async run(o) {
    const n = o.quick ? 20_000 : 200_000;
    const reps = o.quick ? 3 : 9;
    // warm up every path first so the order of measurement does not favour one
    const setups = o.locks.map((name) => {
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
      // entry's direct form called through the table; null when the build made none (sources)
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
      return { name, shm, bare, driven, direct };
    });
    for (let w = 0; w < 3; w++) {
      rawPairNs(n);
      genPairNs(n);
      for (const s of setups) { s.bare(n); s.driven(n); s.direct?.(n); }
    }
    const raw: number[] = [], gen: number[] = [];
    const bare = new Map<string, number[]>(), driven = new Map<string, number[]>(), direct = new Map<string, number[]>();
    for (let r = 0; r < reps; r++) {
      raw.push(rawPairNs(n));
      gen.push(genPairNs(n));
      for (const s of setups) {
        (bare.get(s.name) ?? bare.set(s.name, []).get(s.name)!).push(s.bare(n));
        (driven.get(s.name) ?? driven.set(s.name, []).get(s.name)!).push(s.driven(n));
        if (s.direct) (direct.get(s.name) ?? direct.set(s.name, []).get(s.name)!).push(s.direct(n));
      }
    }
    for (const s of setups) if (s.shm.ctl[CTL.VIOLATIONS] !== 0) throw new Error(`${s.name}: violations in an uncontended loop`);
    const base = median(raw);
    return [{
      title: `Uncontended lock_page + unlock_page, CPU ns per pair (median of ${reps} x ${n}; task 0 of a model of ${TASKS} tasks)`,
      head: ['path', 'ns/pair', 'vs raw CAS+store', 'free driver ns/pair', 'vs raw', 'direct form ns/pair', 'vs raw'],
      rows: [
        ['raw Atomics.compareExchange + Atomics.store', fmt(base), '1.00x', '', '', '', ''],
        ['the same in two one-yield generators (floor)', fmt(median(gen)), `${fmt(median(gen) / base, 2)}x`, '', '', '', ''],
        ...setups.map((s) => {
          const b = median(bare.get(s.name)!), d = median(driven.get(s.name)!);
          const x = direct.has(s.name) ? median(direct.get(s.name)!) : NaN;
          return [s.name, fmt(b), ratio(b, base, TARGET), fmt(d), `${fmt(d / base, 2)}x`,
            fmt(x), Number.isFinite(x) ? ratio(x, base, DIRECT_TARGET) : 'no direct form (not built)'];
        }),
      ],
      notes: [
        'ns/pair: the generators drained in a tight loop (schedule points skipped).',
        'free driver: the same through FreeDriver.drive with --perturb off (a flight record per schedule point), as a run did it before the direct form.',
        'direct form: the entries\' direct forms (the build\'s, src/kernel/direct.ts) on the same driver: same flight records, as a run does it now.',
      ],
    }];
  },
};
