// The hand-off round trip of one page lock between two workers, next to a raw
// Atomics.wait/notify ping-pong between two workers. One pass is timed from the start of the
// holder's unlock_page to the sleeping task's return from lock_page (raw: from the store before
// the notify to the return from Atomics.wait); a round trip is two passes, so the figures are
// twice the pass percentiles. The workers coordinate outside the timed window, without spinning
// (more runnable threads than cores would turn spins into scheduler-tick stalls).
import { fmt, median, percentile, type BenchSection } from './common.ts';
import { runLockWorkers } from './workers.ts';
import type { EffectCounts, PassSplit } from './lock-worker-api.ts';

const TARGET = 1.3;

export const handoff: BenchSection = {
  name: 'handoff',
  description: 'one page lock passed back and forth between two workers',
  async run(o) {
    const ms = o.quick ? 300 : 1_500;
    const reps = o.quick ? 1 : 5;
    // one rep measures the raw ping-pong and then every lock, and the ratio is taken within the
    // rep: on a shared machine the load drifts between reps, and a ratio of figures measured
    // minutes apart mostly measures that drift
    const once = async (mode: 'pingpong' | 'handoff', lock?: string) => {
      const { results } = await runLockWorkers(mode, 2, lock, ms);
      const g = results.flatMap((x) => x.lat.slice(5)); // skip the warm-up passes
      if (g.length < 10) throw new Error(`${lock ?? mode}: only ${g.length} passes`);
      return { p50: (2 * percentile(g, 50)) / 1000, p99: (2 * percentile(g, 99)) / 1000, trips: g.length / 2 };
    };
    type One = Awaited<ReturnType<typeof once>>;
    const raws: One[] = [];
    const locks = new Map<string, { m: One; ratio: number }[]>(o.locks.map((l) => [l, []]));
    for (let r = 0; r < reps; r++) {
      const raw = await once('pingpong');
      raws.push(raw);
      for (const lock of o.locks) {
        const m = await once('handoff', lock);
        locks.get(lock)!.push({ m, ratio: m.p50 / raw.p50 });
      }
    }
    const med = (xs: One[], k: keyof One) => median(xs.map((x) => x[k]));
    const rows: (string | number)[][] = [['raw Atomics.wait/notify ping-pong', fmt(med(raws, 'p50')), fmt(med(raws, 'p99')), fmt(med(raws, 'trips'), 0), '1.00x']];
    for (const [lock, ms_] of locks) {
      const m = ms_.map((x) => x.m);
      const rt = median(ms_.map((x) => x.ratio));
      rows.push([lock, fmt(med(m, 'p50')), fmt(med(m, 'p99')), fmt(med(m, 'trips'), 0), `${fmt(rt, 2)}x ${rt <= TARGET ? 'ok' : 'OVER'} (<= ${TARGET}x)`]);
    }
    // what one pass costs in futex effects: a separate run, counted (the counting is not timed)
    const per: (string | number)[][] = [];
    for (const lock of o.locks) {
      const { results } = await runLockWorkers('handoff', 2, lock, o.quick ? 200 : 500, true);
      const passes = results.reduce((n, x) => n + x.count, 0);
      const sum = (k: keyof EffectCounts) => results.reduce((n, x) => n + (x.counts?.[k] ?? 0), 0) / Math.max(passes, 1);
      const q = (k: keyof PassSplit) => fmt(percentile(results.flatMap((x) => x.split?.[k] ?? []), 50) / 1000, 1);
      const hold = results.flatMap((x) => x.split?.qHold ?? []);
      per.push([lock, fmt(passes, 0), q('beforeWake'), q('wakeUp'), q('afterWake'), fmt(percentile(hold, 50) / 1000, 1), fmt(percentile(hold, 99) / 1000, 1), fmt(sum('points'), 1), fmt(sum('entryWaits'), 2), fmt(sum('bucketWaits'), 2), fmt(sum('bucketWaitsUnlock'), 2), fmt(sum('bucketSleeps'), 2), fmt(sum('otherWaits'), 2),
        fmt(sum('notEqual'), 2), fmt(sum('timedOut'), 3), fmt(sum('entryWakes'), 2), fmt(sum('bucketWakes'), 2)]);
    }
    return [{
      title: `Hand-off round trip between two workers, us (median of ${reps} runs of ${ms} ms)`,
      head: ['path', 'p50 us', 'p99 us', 'round trips/run', 'p50 vs raw (median of per-rep ratios)'],
      rows,
      notes: [
        'round trip = 2 x one pass (release -> the sleeper holds the lock / is awake).',
        'Lock passes go through FreeDriver.call (--perturb off), the direct form a free-mode run uses: a flight record per schedule point,',
        'waits in 50 ms slices.',
      ],
    }, {
      title: 'Futex effects per pass (lock_page + unlock_page of one hand-off, both sides; a counted run, not timed)',
      head: ['lock', 'passes', 'to wake p50 us', 'OS wake-up p50 us', 'after wake p50 us', 'q->lock held p50 us', 'p99 us', 'points', 'entry waits', 'q->lock waits', 'in unlock_page', 'q->lock sleeps', 'other waits', 'not-equal', 'timed out', 'entry wakes', 'q->lock wakes'],
      rows: per,
      notes: [
        'the raw ping-pong is 1 wait + 1 wake per pass; every further sleep is a sleep and a wake-up in the pass.',
        'q->lock waits: the bucket lock was held at its last try (in unlock_page: the waker\'s walk waited); q->lock sleeps: of those, the',
        'ones that slept (the others found the word changed). q->lock held: its last spin_lock(q) point to its spin_unlock(q) point (a',
        'futex wake of the sleeper inside it included).',
        'The counted run drives the generators (FreeDriver.drive) through a counting wrapper, so its timings are a little slower than the timed run.',
      ],
    }];
  },
};
