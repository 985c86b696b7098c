// Controlled mode: how fast the one-thread driver steps the real protocol code, how exploration
// scales over explorer threads, and how long PCT and a random walk take to find patch 4's race.
//
// "schedule points/s (driver)" counts steps per second spent inside the driver's iterations: the
// protocol code plus the driver, without generating the operations (the op stream seeds one
// generator per operation). "iterations/s" is the whole exploration loop. CPU time is shown next to
// wall time: on a busy machine the wall figure mostly measures the other processes.
import os from 'node:os';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore, opsFor, opsSeedFor, scheduleRngFor } from '../../src/sched/explore.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { makeStrategy } from '../../src/sched/strategies/index.ts';
import { exploreParallel } from '../../src/run/explore-parallel.ts';
import { strategySpecs, type StrategyKind } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { fmt, median, type BenchSection, type BenchTable } from './common.ts';

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

function cfgOf(scenario: string, over: Partial<RunConfig> = {}): RunConfig {
  return { ...DEFAULTS, scenario, durationMs: 0, ops: 0, extra: {}, ...over };
}

/** The map-truncate configuration the patch-4 figures use: the default roles and sizes. */
export const patch4Cfg = (seed: string): RunConfig => cfgOf('map-truncate', { seed, extra: { 'map-pages': 'patch4' } });

interface Speed {
  driverPps: number;
  wallPps: number;
  cpuPps: number;
  itps: number;
}

function speedOf(cfg: RunConfig, kind: StrategyKind, iterations: number, opsPerActor: number, reps: number): Speed {
  const s: Speed[] = [];
  for (let r = -1; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = explore({
      scenario: getScenario(cfg.scenario), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }), strategies: strategySpecs(kind, 3),
      iterations, opsPerActor, seed: `bench-${r}`, keepGoing: true,
    });
    const wall = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    if (r < 0) continue; // the first exploration warms the JIT up
    s.push({
      driverPps: res.stats.steps / (res.stats.driverMs / 1000), wallPps: res.stats.steps / (wall / 1000),
      cpuPps: res.stats.steps / (cpu / 1000), itps: res.stats.iterations / (wall / 1000),
    });
  }
  const m = (f: (x: Speed) => number) => median(s.map(f));
  return { driverPps: m((x) => x.driverPps), wallPps: m((x) => x.wallPps), cpuPps: m((x) => x.cpuPps), itps: m((x) => x.itps) };
}

/** Steps per CPU-second inside the driver only: the operations of every iteration are generated
 * first, untimed. CPU time, not wall time: the figure then does not depend on how busy the
 * machine is (much). */
function driverCpuPps(cfg: RunConfig, kind: StrategyKind, iterations: number, opsPerActor: number): number {
  const scenario = getScenario(cfg.scenario);
  const d = new ControlledDriver({ scenario, cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }) });
  const strategy = makeStrategy({ kind: kind === 'portfolio' ? 'pct' : kind, depth: 3 });
  const work = Array.from({ length: iterations }, (_, i) => opsFor(scenario, cfg, opsSeedFor('bench', i), opsPerActor));
  // warm the JIT up on the same work (the first few hundred iterations run much slower)
  for (let i = 0; i < iterations; i++) d.runIteration({ ops: work[i], strategy, rng: scheduleRngFor('warm', i) });
  let steps = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) steps += d.runIteration({ ops: work[i], strategy, rng: scheduleRngFor('bench', i) }).steps;
  return steps / (cpuMs(process.cpuUsage(c0)) / 1000);
}

export const controlledBench: BenchSection = {
  name: 'controlled',
  description: 'controlled mode: schedule points/s, iterations/s, 2 explorer threads, time to find patch 4',
  async run(o) {
    const tables: BenchTable[] = [];
    const reps = o.quick ? 1 : 3;
    const its = o.quick ? 100 : 500;

    // 1. one thread
    const rows: (string | number)[][] = [];
    const cases: [string, RunConfig, number][] = [
      ['locks v5.9-rc6, 4 actors, 8 pages', cfgOf('locks', { workers: 4, pages: 8 }), 50],
      ['map-truncate mainline, default roles', cfgOf('map-truncate', { extra: { 'map-pages': 'mainline' } }), 4],
    ];
    for (const [name, cfg, ops] of cases) {
      for (const kind of ['random', 'pct'] as const) {
        const sp = speedOf(cfg, kind, its, ops, reps);
        const cpu = median(Array.from({ length: reps }, () => driverCpuPps(cfg, kind, its, ops)));
        rows.push([name, kind, fmt(cpu / 1e6, 2), fmt(sp.driverPps / 1e6, 2), fmt(sp.cpuPps / 1e6, 2), fmt(sp.wallPps / 1e6, 2), fmt(sp.itps, 0)]);
      }
    }
    tables.push({
      title: `controlled driver, one thread (median of ${reps} explorations of ${its} iterations)`,
      head: ['scenario', 'strategy', 'M points/cpu-s (driver)', 'M points/s (driver, wall)', 'M points/cpu-s (all)', 'M points/s (wall, all)', 'iterations/s'],
      rows,
      notes: [
        'target: >= 2 M schedule points/s for the locks scenario (driver columns); "all" includes generating each iteration\'s operations.',
        'cpu-s = per second of this process\'s CPU time (robust on a busy machine); wall = per second of elapsed time.',
      ],
    });

    // 2. explorer threads
    const par: (string | number)[][] = [];
    const cfg = cfgOf('map-truncate', { extra: { 'map-pages': 'mainline' } });
    const total = o.quick ? 200 : 2000;
    let one = 0;
    for (const threads of [1, 2]) {
      const t0 = performance.now();
      const r = await exploreParallel({
        scenario: 'map-truncate', cfg, strategies: strategySpecs('portfolio', 3), iterations: total, durationMs: 0,
        opsPerActor: 4, seed: 'bench', keepGoing: true, maxSteps: 200_000, threads,
      }).result;
      const itps = r.stats.iterations / ((performance.now() - t0) / 1000);
      if (threads === 1) one = itps;
      par.push([threads, r.stats.iterations, fmt(itps, 0), fmt(itps / one, 2)]);
    }
    tables.push({
      title: `parallel exploration, map-truncate mainline, portfolio, ${total} iterations (explorer workers, start-up included; ${os.availableParallelism()} cores)`,
      head: ['threads', 'iterations', 'iterations/s', 'speed-up'],
      rows: par,
    });

    // 3. time to find patch 4
    const seeds = o.quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const find: (string | number)[][] = [];
    for (const kind of ['pct', 'random'] as const) {
      const itsTo: number[] = [];
      const secs: number[] = [];
      let missed = 0;
      for (const seed of seeds) {
        const c = patch4Cfg(String(seed));
        const t0 = performance.now();
        const r = explore({
          scenario: getScenario('map-truncate'), cfg: c, lock: makeLock(c.lock, { unfairness: c.unfairness }), strategies: strategySpecs(kind, 3),
          iterations: 5000, opsPerActor: 4, seed: String(seed),
        });
        if (!r.finds.length) missed++;
        itsTo.push(r.stats.iterations);
        secs.push((performance.now() - t0) / 1000);
      }
      find.push([kind, seeds.length - missed, fmt(median(itsTo), 0), Math.max(...itsTo), fmt(median(secs), 2), fmt(Math.max(...secs), 2)]);
    }
    tables.push({
      title: `explore --map-pages patch4 (default roles, 4 ops per actor, budget 5000 iterations), seeds ${seeds[0]}-${seeds[seeds.length - 1]}`,
      head: ['strategy', 'found', 'iterations median', 'iterations max', 's median', 's max'],
      rows: find,
    });
    return tables;
  },
};
