// Uncontended lockPage + unlockPage on one page, one thread: the cost of the protocol code
// (its schedule points, the shadow-owner and held-list checks, the stats) against the bare
// minimum a lock needs, one Atomics.compareExchange + one Atomics.store.
import type { Step } from '../../src/kernel/step.ts';
import { benchWorker, collect, drain, fmt, median, ratio, type BenchSection } from './common.ts';
import { cpuNs, rawPairNs, TASKS, type LockPairTimes } from './uncontended-lock.ts';

const TARGET = 2;
/** issue 15: the pair through the free driver, in the direct form, within 3x the raw pair */
const DIRECT_TARGET = 3;
/** fresh worker threads per lock (see run()) */
const ISOLATES = 3;

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
    const reps = o.quick ? 3 : 5; // per thread: ISOLATES x 5 rounds pooled
    // the generator floor on this thread, alternated with the raw pair on this thread
    for (let w = 0; w < 3; w++) { rawPairNs(n); genPairNs(n); }
    const raw: number[] = [], gen: number[] = [];
    for (let r = 0; r < reps; r++) {
      raw.push(rawPairNs(n));
      gen.push(genPairNs(n));
    }
    // each lock on a worker thread of its own (uncontended-lock.ts: one lock table per thread, as
    // in a run), one after the other, each with the raw pair measured on its thread between its
    // rounds; and in ISOLATES fresh threads in turn, their rounds pooled: how V8 compiles the
    // loop differs from one isolate to the next (whether it inlines the unlock into the loop, by
    // what was compiled first), by up to ~8 ns a pair, so one thread's figure is one draw of it
    const isolates = o.quick ? 1 : ISOLATES;
    const setups: ({ name: string; isolates: number[] } & LockPairTimes)[] = [];
    for (const name of o.locks) setups.push({ name, isolates: [], raw: [], bare: [], driven: [], direct: [] });
    for (let i = 0; i < isolates; i++) {
      for (const s of setups) {
        const [t] = await collect<LockPairTimes>([benchWorker('uncontended-worker', { lock: s.name, n, reps })]);
        s.raw.push(...t.raw);
        s.bare.push(...t.bare);
        s.driven.push(...t.driven);
        if (t.direct && s.direct) {
          s.direct.push(...t.direct);
          s.isolates.push(median(t.direct) / median(t.raw));
        } else s.direct = null;
      }
    }
    const base = median(raw);
    /** the round-by-round ratios' range: each round's pair over the raw pair measured just before it */
    const spread = (xs: number[], raws: number[]) => {
      const rs = xs.map((x, i) => x / raws[i]);
      return `${fmt(Math.min(...rs), 2)}-${fmt(Math.max(...rs), 2)}x`;
    };
    return [{
      title: `Uncontended lock_page + unlock_page, CPU ns per pair (median of ${isolates} thread(s) x ${reps} rounds x ${n}; task 0 of a model of ${TASKS} tasks); every ratio against the raw pair measured on the same thread, alternated with it`,
      head: ['path', 'raw ns (range)', 'ns/pair', 'vs raw', 'free driver ns/pair', 'vs raw', 'direct form ns/pair', 'vs raw (medians)', 'rounds\' range', 'per thread'],
      rows: [
        ['the same CAS + store in two one-yield generators (floor)', `${fmt(base)} (${fmt(Math.min(...raw))}-${fmt(Math.max(...raw))})`,
          fmt(median(gen)), `${fmt(median(gen) / base, 2)}x`, '', '', '', '', spread(gen, raw), ''],
        ...setups.map((s) => {
          const r = median(s.raw), b = median(s.bare), d = median(s.driven);
          const x = s.direct ? median(s.direct) : NaN;
          return [s.name, `${fmt(r)} (${fmt(Math.min(...s.raw))}-${fmt(Math.max(...s.raw))})`, fmt(b), ratio(b, r, TARGET),
            fmt(d), `${fmt(d / r, 2)}x`, fmt(x),
            Number.isFinite(x) ? ratio(x, r, DIRECT_TARGET) : 'no direct form (not built)', s.direct ? spread(s.direct, s.raw) : '',
            s.isolates.map((q) => `${fmt(q, 2)}x`).join(' ')];
        }),
      ],
      notes: [
        'raw: one Atomics.compareExchange + one Atomics.store, measured on the row\'s own thread before each round of its pairs; the row\'s ratios are against its median.',
        'ns/pair: the generators drained in a tight loop (schedule points skipped).',
        'free driver: the same through FreeDriver.drive with --perturb off (a flight record per schedule point), as a run did it before the direct form.',
        'direct form: the entries\' direct forms (the build\'s, src/kernel/direct.ts) on the same driver: same flight records, as a run does it now.',
        'rounds\' range: the lowest and highest of the rounds\' own ratios (a round\'s pair over the raw pair measured just before it).',
        'per thread: the direct form\'s ratio in each fresh worker thread (the rows pool their rounds): V8 compiled the measuring loop differently from one isolate to the next until each loop was warmed up with short calls first (uncontended-lock.ts, warmUp()).',
        'the workers run with V8\'s cumulative inlining budget a free-mode actor sets (src/kernel/direct.ts, directV8Flags(); PAGELOCK_DIRECT_V8=off leaves V8\'s default).',
        'each lock is measured on a worker thread of its own (one lock table per thread, as in a run: on one thread the seven tables made the shared protocol code\'s calls through t.ops.lock megamorphic); CPU time is the process\'s, this thread idle meanwhile.',
      ],
    }];
  },
};
