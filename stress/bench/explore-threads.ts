// Parallel exploration on a long workload: the same iterations (map-truncate mainline, portfolio,
// 4 operations per actor) explored by 1 and by 2 explorer threads, start-up included, so what the
// figure measures is what `explore --threads N` gives on a real run. The workload is sized by a
// short calibration to about TARGET_S seconds of one core's CPU time (on a quiet machine, TARGET_S
// seconds on one thread).
//
// Next to the speed-up it shows where the rest goes: the process's CPU time over wall time (the
// cores the threads actually got: on a busy machine well under the thread count, whatever the
// code does), iterations per CPU-second (equal for 1 and 2 threads when the threads themselves
// cost nothing extra), each worker's start-up (spawn to its first iteration) and how unevenly the
// workers finished (the slowest worker's exploring time over the fastest's).
import os from 'node:os';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { exploreParallel } from '../../src/run/explore-parallel.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { fmt, type BenchSection } from './common.ts';

const TARGET_S = 20;
const QUICK_S = 3;
const CALIBRATE_CPU_S = 3;

const cfg: RunConfig = { ...DEFAULTS, scenario: 'map-truncate', durationMs: 0, ops: 0, extra: { 'map-pages': 'mainline' } };

const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

async function exploreOnce(threads: number, iterations: number, durationMs: number) {
  const load0 = os.loadavg()[0];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await exploreParallel({
    scenario: 'map-truncate', cfg, strategies: strategySpecs('portfolio', 3), iterations, durationMs,
    opsPerActor: 4, seed: 'bench-threads', keepGoing: true, maxSteps: 200_000, threads,
  }).result;
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  return { r, wallS, cpuS, load: (load0 + os.loadavg()[0]) / 2 };
}

export const exploreThreadsBench: BenchSection = {
  name: 'explore-threads',
  description: `explore --threads 1 vs 2 on a ~${TARGET_S} s workload (map-truncate, portfolio): speed-up, CPU, start-up, balance`,
  optIn: true,
  async run(o) {
    const seconds = o.quick ? QUICK_S : TARGET_S;
    // calibrate: one thread until it has used CALIBRATE_CPU_S of CPU; the rate is iterations per
    // CPU-second after the first third of that (start-up and the JIT warm-up of the first
    // iterations left out), so the workload is `seconds` of one core's work however busy the
    // machine is
    const budget = o.quick ? 1 : CALIBRATE_CPU_S;
    const c0 = cpuNow();
    let mark: { its: number; cpu: number } | null = null;
    let last = { its: 0, cpu: c0 };
    const px = exploreParallel({
      scenario: 'map-truncate', cfg, strategies: strategySpecs('portfolio', 3), iterations: Infinity, durationMs: 0,
      opsPerActor: 4, seed: 'bench-threads', keepGoing: true, maxSteps: 200_000, threads: 1, progressMs: 100,
      onProgress: (st) => {
        const cpu = cpuNow();
        if (!mark && cpu - c0 >= budget / 3) mark = { its: st.iterations, cpu };
        last = { its: st.iterations, cpu };
        if (cpu - c0 >= budget) px.stop();
      },
    });
    await px.result;
    const from: { its: number; cpu: number } = mark ?? { its: 0, cpu: c0 };
    const rate = (last.its - from.its) / Math.max(last.cpu - from.cpu, 1e-3);
    const iterations = Math.max(200, Math.round(rate * seconds));
    const rows: (string | number)[][] = [];
    let one = 0;
    for (const threads of [1, 2]) {
      const { r, wallS, cpuS, load } = await exploreOnce(threads, iterations, 0);
      if (r.stats.iterations !== iterations) throw new Error(`${threads} threads explored ${r.stats.iterations} of ${iterations} iterations`);
      const itps = iterations / wallS;
      if (threads === 1) one = itps;
      const explored = r.workers.map((w) => w.stats.elapsedMs / 1000);
      const startS = Math.max(...r.workers.map((w) => w.startMs)) / 1000;
      rows.push([
        threads, iterations, fmt(wallS, 1), fmt(itps, 0), fmt(itps / one, 2), fmt(cpuS, 1), fmt(cpuS / wallS, 2), fmt(iterations / cpuS, 0),
        fmt(startS, 2), fmt(Math.max(...explored) / Math.min(...explored), 3), r.workers.map((w) => w.stats.iterations).join(' / '), fmt(load, 1),
      ]);
    }
    return [{
      title: `explore --threads 1 vs 2: map-truncate mainline, portfolio, 4 ops per actor, the same ${iterations} iterations (about ${seconds} s of one core's work; ${os.availableParallelism()} cores)`,
      head: ['threads', 'iterations', 'wall s', 'iterations/s', 'speed-up', 'CPU s', 'CPU/wall', 'iterations/CPU-s', 'start-up s', 'slowest/fastest worker', 'iterations per worker', 'load'],
      rows,
      notes: [
        'target: speed-up >= 1.8 on 2 threads. CPU/wall is how many cores the process got; on a busy machine it caps the speed-up whatever the code does.',
        'iterations/CPU-s falls with more threads when the threads themselves cost something (start-up, messages, GC, a shared cache).',
        `load = the 1-minute load average during the run (on ${os.availableParallelism()} cores).`,
      ],
    }];
  },
};
