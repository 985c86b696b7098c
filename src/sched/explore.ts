// Exploration: many controlled iterations of one scenario, each from a fresh model. Iteration i
// gives every actor `opsPerActor` operations from the op stream seeded "<seed>.<i>" (so each
// iteration is a different workload) and schedules them with the stream rng(seed, 'sched', i)
// under strategy number i mod (portfolio size). Everything is a function of the master seed and i:
// the same seed gives the same iterations and schedules, byte for byte, and parallel explorers
// over disjoint sets of i explore exactly what one explorer would, with one exception: PCT learns
// k (the decisions of an iteration, where its change points fall) from the PCT iterations its
// explorer ran before, so with several explorers a PCT iteration has the same operations and the
// same priorities but may get other change points than with one. Exact would need every earlier
// PCT iteration's decision count before an iteration starts: the explorers would wait for each
// other (the speed-up lost), or k would have to be learned differently by one explorer too (in
// blocks of iterations, say). The random walk keeps nothing between iterations: for it, any
// number of explorers is exactly one (test/run/explore-parallel.test.ts).
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import { OpStream, rng } from '../kernel/rng.ts';
import { ControlledDriver, DEFAULT_MAX_STEPS } from './controlled.ts';
import type { Violation } from '../kernel/observer.ts';
import { makeStrategy, portfolio, specName, type Strategy, type StrategySpec } from './strategies/index.ts';
import { iterationSignature, type FindSignature } from './signature.ts';

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
  /** instead of start/stride: the next iteration to run, -1 when none is left (parallel explorers
   * taking iterations in order from a shared counter, src/run/explore-parallel.ts) */
  claim?: () => number;
  /** the same operations in every iteration (a known workload) instead of the per-iteration op seeds */
  ops?: Op[][];
  onProgress?: (s: ExploreStats) => void;
  progressMs?: number;
  /** polled between iterations (another explorer found something, a signal) */
  shouldStop?: () => boolean;
  now?: () => number;
  /** a heartbeat another thread watches (BEAT words): the driver writes it at every step */
  beat?: Int32Array;
  /** called once with the driver, before the first iteration (its shared model, for a watcher) */
  onDriver?: (d: ControlledDriver) => void;
}

/** The heartbeat words of an explorer (ExploreOptions.beat): steps taken, the actor whose step is
 * running (-1: none, between steps), the iteration, the actor's operation number. */
export const BEAT = { STEPS: 0, ACTOR: 1, ITERATION: 2, OP: 3 } as const;
export const BEAT_WORDS = 4;

/** A step that never returned (a generator looping without yielding): found by the thread that
 * watches the heartbeat, not replayable in-process (the replay would loop too). */
export interface HungStep {
  iteration: number;
  opsSeed: string;
  task: number;
  role: string;
  op: number;
  /** the schedule point the step started from (the task's last recorded label) */
  label: string;
  page: number;
  /** how long the step had run when it was given up on, ms */
  stepMs: number;
}

/** The operations per actor --max-steps is meant for; bigger iterations get a proportionally
 * bigger step bound, so a long legal iteration is not taken for a livelock. */
export const MAX_STEPS_OPS_PER_ACTOR = 4;

/** The step bound of one iteration: maxSteps for up to MAX_STEPS_OPS_PER_ACTOR operations per
 * actor, scaled with the longest actor's operation list beyond that. */
export function stepBoundFor(maxSteps: number, ops: Op[][]): number {
  const most = ops.reduce((m, l) => Math.max(m, l.length), 0);
  return most <= MAX_STEPS_OPS_PER_ACTOR ? maxSteps : Math.ceil(maxSteps * (most / MAX_STEPS_OPS_PER_ACTOR));
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
  /** which bug it is (src/sched/signature.ts): shrinking and reproducing keep to it */
  signature: FindSignature;
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
  /** the first find of each invariant id, in the order found; when `until` stopped the
   * exploration, the find it accepted is the last */
  finds: Find[];
  /** a step that never returned (parallel exploration's watchdog, src/run/explore-parallel.ts) */
  hungStep?: HungStep;
}

/** Workloads whose operations explore keeps for reruns (cleared when full). */
const RERUN_CACHE = 4096;

export const opsSeedFor = (seed: string, iteration: number): string => `${seed}.${iteration}`;
export const scheduleRngFor = (seed: string, iteration: number) => rng(seed, 'sched', iteration);
/** Where iteration i's signal events arrive (Scenario.signalEvents): a stream of its own, so the
 * schedule stream chooses as it would without them. */
export const signalRngFor = (seed: string, iteration: number) => rng(seed, 'signals', iteration);

/** Each actor's operations of one iteration: opRng's streams, from one OpStream per actor
 * reseeded for each operation (OpStream.at: the same numbers) instead of a new stream seeded
 * from scratch for every operation, which cost an explorer about as much as the rest of opsFor. */
export function opsFor(scenario: Scenario, cfg: RunConfig, opsSeed: string, opsPerActor: number, roles?: readonly string[]): Op[][] {
  const streams: OpStream[] = [];
  return ControlledDriver.opsFor(scenario, cfg, opsSeed, opsPerActor, (seed, task, op) => (streams[task] ??= new OpStream(seed, task)).at(op), roles);
}

export function explore(o: ExploreOptions): ExploreResult {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const driver = new ControlledDriver({ scenario: o.scenario, cfg: o.cfg, lock: o.lock });
  if (o.beat) driver.beat = o.beat;
  o.onDriver?.(driver);
  const specs = o.strategies.length ? o.strategies : portfolio(3);
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

  const claim = o.claim;
  // the operations of workloads a strategy reruns (Strategy.workload: novelty reruns a kept
  // iteration's workload in 7 of 8 iterations), made once: the op streams' seeding was a tenth of
  // a novelty iteration. Operations are never written to (the driver and finds only read them).
  const rerun = new Map<number, Op[][]>();
  for (let i = claim ? claim() : start; i >= 0 && stats.iterations < o.iterations; i = claim ? claim() : i + stride) {
    const s = strategies[i % strategies.length];
    // a strategy may rerun a kept iteration's workload (Strategy.workload)
    const w = s.workload ? s.workload(i, rng(o.seed, 'workload', i)) : i;
    const opsSeed = o.ops ? null : opsSeedFor(o.seed, w);
    const ops = o.ops ?? rerun.get(w) ?? opsFor(o.scenario, o.cfg, opsSeed!, o.opsPerActor, driver.roles); // the roles worked out once
    if (s.workload && !o.ops && !rerun.has(w)) {
      if (rerun.size >= RERUN_CACHE) rerun.clear();
      rerun.set(w, ops);
    }
    const sched = scheduleRngFor(o.seed, i);
    const d0 = now();
    const bound = stepBoundFor(maxSteps, ops);
    if (o.beat) o.beat[BEAT.ITERATION] = i;
    // the signal stream only where the scenario has signal events (the driver ignores it otherwise;
    // each stream is seeded on its own, so not making it changes no other)
    const signalRng = driver.signalEvents ? signalRngFor(o.seed, i) : undefined;
    const r = driver.runIteration({ ops, strategy: s, rng: sched, signalRng, maxSteps: bound });
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
        steps: r.steps, decisions: r.decisions, switches: r.switches, maxSteps: bound, violation: r.violation,
        signature: iterationSignature(driver.shm, driver.roles, ops, r.violation),
      };
      const accepted = !o.keepGoing || !!o.until?.(f);
      // the first find of each id, and the one `until` accepted (it may share an id with an
      // earlier find it did not accept: another bug breaking the same invariant)
      if (stats.findsById[id] === 1 || accepted) finds.push(f);
      if (accepted) {
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
