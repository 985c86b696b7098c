// Exploration: many controlled iterations of one scenario, each from a fresh model. Iteration i
// gives every actor `opsPerActor` operations from the op stream seeded "<seed>.<i>" (so each
// iteration is a different workload) and schedules them with the stream rng(seed, 'sched', i)
// under strategy number i mod (portfolio size). Everything is a function of the master seed and i:
// the same seed gives the same iterations and schedules, byte for byte, and parallel explorers
// over disjoint sets of i explore exactly what one explorer would.
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import { opRng, rng } from '../kernel/rng.ts';
import { ControlledDriver, DEFAULT_MAX_STEPS } from './controlled.ts';
import type { Violation } from '../kernel/observer.ts';
import { makeStrategy, specName, type Strategy, type StrategySpec } from './strategies/index.ts';

export interface ExploreOptions {
  scenario: Scenario;
  cfg: RunConfig;
  lock: PageLock;
  /** the strategies iterations rotate through (one entry = that strategy only) */
  strategies: StrategySpec[];
  /** iteration budget (Infinity: only durationMs bounds the exploration) */
  iterations: number;
  /** time budget in ms, 0 = none */
  durationMs?: number;
  opsPerActor: number;
  /** master seed */
  seed: string;
  /** keep exploring after a find (the first find of each invariant id is kept) */
  keepGoing?: boolean;
  /** PCT's bound line states the iterations needed for this confidence (default 0.95) */
  confidence?: number;
  /** with keepGoing: stop at the first find this accepts */
  until?: (f: Find) => boolean;
  maxSteps?: number;
  /** this explorer's share of the iterations: start, start + stride, ... (parallel explorers) */
  start?: number;
  stride?: number;
  /** the same operations in every iteration (a known workload) instead of the per-iteration op seeds */
  ops?: Op[][];
  onProgress?: (s: ExploreStats) => void;
  progressMs?: number;
  /** polled between iterations (another explorer found something, a signal) */
  shouldStop?: () => boolean;
  now?: () => number;
}

/** A schedule that broke an invariant, with everything needed to run it again. */
export interface Find {
  iteration: number;
  strategy: string;
  /** the seed the operations came from (null when they were given) */
  opsSeed: string | null;
  ops: Op[][];
  /** the choice at each decision */
  schedule: number[];
  steps: number;
  decisions: number;
  switches: number;
  maxSteps: number;
  violation: Violation;
}

export interface ExploreStats {
  iterations: number;
  /** schedule points executed (steps) */
  steps: number;
  /** decisions among two or more runnable actors */
  decisions: number;
  /** most decisions in one iteration */
  maxDecisions: number;
  finds: number;
  findsById: Record<string, number>;
  elapsedMs: number;
  /** time inside the driver's iterations (without generating operations and seeds), ms */
  driverMs: number;
  stoppedBy: 'iterations' | 'duration' | 'find' | 'stop';
  /** one line per strategy: its parameters and, for PCT, the bound */
  strategies: string[];
}

export interface ExploreResult {
  stats: ExploreStats;
  /** the first find of each invariant id, in the order found */
  finds: Find[];
}

export const opsSeedFor = (seed: string, iteration: number): string => `${seed}.${iteration}`;
export const scheduleRngFor = (seed: string, iteration: number) => rng(seed, 'sched', iteration);

export function opsFor(scenario: Scenario, cfg: RunConfig, opsSeed: string, opsPerActor: number): Op[][] {
  return ControlledDriver.opsFor(scenario, cfg, opsSeed, opsPerActor, opRng);
}

export function explore(o: ExploreOptions): ExploreResult {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const driver = new ControlledDriver({ scenario: o.scenario, cfg: o.cfg, lock: o.lock });
  const specs = o.strategies.length ? o.strategies : [{ kind: 'pct', depth: 3 } as StrategySpec];
  const strategies: Strategy[] = specs.map(makeStrategy);
  const start = o.start ?? 0;
  const stride = o.stride ?? 1;
  const maxSteps = o.maxSteps ?? DEFAULT_MAX_STEPS;
  const stats: ExploreStats = {
    iterations: 0, steps: 0, decisions: 0, maxDecisions: 0, finds: 0, findsById: {}, elapsedMs: 0, driverMs: 0, stoppedBy: 'iterations', strategies: [],
  };
  const finds: Find[] = [];
  const progressMs = o.progressMs ?? 200;
  let nextProgress = t0 + progressMs;

  for (let i = start; stats.iterations < o.iterations; i += stride) {
    const s = strategies[i % strategies.length];
    const opsSeed = o.ops ? null : opsSeedFor(o.seed, i);
    const ops = o.ops ?? opsFor(o.scenario, o.cfg, opsSeed!, o.opsPerActor);
    const sched = scheduleRngFor(o.seed, i);
    const d0 = now();
    const r = driver.runIteration({ ops, strategy: s, rng: sched, maxSteps });
    stats.driverMs += now() - d0;
    stats.iterations++;
    stats.steps += r.steps;
    stats.decisions += r.decisions;
    if (r.decisions > stats.maxDecisions) stats.maxDecisions = r.decisions;
    if (r.violation) {
      stats.finds++;
      const id = r.violation.id;
      stats.findsById[id] = (stats.findsById[id] ?? 0) + 1;
      const f: Find = {
        iteration: i, strategy: s.name, opsSeed, ops, schedule: Array.from(r.schedule),
        steps: r.steps, decisions: r.decisions, switches: r.switches, maxSteps, violation: r.violation,
      };
      if (stats.findsById[id] === 1) finds.push(f);
      if (!o.keepGoing || o.until?.(f)) {
        stats.stoppedBy = 'find';
        break;
      }
    }
    const t = now();
    if (o.durationMs && t - t0 >= o.durationMs) {
      stats.stoppedBy = 'duration';
      break;
    }
    if (o.shouldStop?.()) {
      stats.stoppedBy = 'stop';
      break;
    }
    if (o.onProgress && t >= nextProgress) {
      nextProgress = t + progressMs;
      stats.elapsedMs = t - t0;
      o.onProgress(stats);
    }
  }
  stats.elapsedMs = now() - t0;
  stats.strategies = strategies.map((s) => s.describe(o.confidence));
  return { stats, finds };
}

/** Several explorers' results as one (parallel exploration). */
export function mergeStats(parts: ExploreStats[]): ExploreStats {
  const out: ExploreStats = {
    iterations: 0, steps: 0, decisions: 0, maxDecisions: 0, finds: 0, findsById: {}, elapsedMs: 0, driverMs: 0, stoppedBy: 'iterations', strategies: [],
  };
  for (const p of parts) {
    out.driverMs += p.driverMs;
    out.iterations += p.iterations;
    out.steps += p.steps;
    out.decisions += p.decisions;
    out.maxDecisions = Math.max(out.maxDecisions, p.maxDecisions);
    out.finds += p.finds;
    for (const [id, n] of Object.entries(p.findsById)) out.findsById[id] = (out.findsById[id] ?? 0) + n;
    out.elapsedMs = Math.max(out.elapsedMs, p.elapsedMs);
    if (p.stoppedBy === 'find' || out.stoppedBy === 'iterations') out.stoppedBy = p.stoppedBy;
    for (const l of p.strategies) if (!out.strategies.includes(l)) out.strategies.push(l);
  }
  return out;
}

export { specName };
