// Parallel exploration: N explorer workers (workers/explorer.ts) over disjoint sets of iterations.
// Each worker takes the next iteration number from a shared counter when it is ready for one, so
// together they explore exactly the iterations one explorer would (an iteration is a function of
// the seed and its number, whoever runs it), and a worker that runs slower (its iterations are
// longer, its core is busier) simply takes fewer: the workers finish together. (A fixed split,
// worker w taking w, w+N, ..., left the slowest worker's share as the wall time, and with the
// 4-strategy portfolio on 2 workers gave each worker two of the strategies.) The first find stops
// every worker (unless keepGoing); statistics are merged.
//
// Exploration always runs in workers (one is enough), never on the main thread: the main thread
// stays free for signals and watches every worker's heartbeat (a few shared words the driver
// writes at each step). A protocol step that never returns (a plug-in generator looping without
// yielding) cannot be interrupted in its own thread: when a step has not returned for
// stepTimeoutMs, the worker is terminated and the step is reported as HUNG with the task, its
// operation and its last schedule-point label (read from the driver's flight ring). stop() asks
// every explorer to stop after its iteration and terminates those still busy a second later.
//
// The same worker entry also runs the finding pipeline (write a find, shrink it, trace it: see
// runFindingInWorker), so a long shrink or reproduction can be interrupted too.
import type { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { isAbsolute, join, relative } from 'node:path';
import type { RunConfig } from '../kernel/config.ts';
import type { ShmSizes } from '../shm/layout.ts';
import { FLIGHT_WORDS } from '../shm/layout.ts';
import { Shm } from '../shm/shm.ts';
import { labelText } from '../shm/labels.ts';
import type { ViolationRecord } from '../check/violations.ts';
import type { Scenario } from '../kernel/scenario.ts';
import type { PageLock } from '../locks/types.ts';
import { spawnWorker } from './spawn.ts';
import { BEAT_WORDS, BEAT, mergeStats, type ExploreResult, type ExploreStats, type Find, type HungStep } from '../sched/explore.ts';
import type { StrategySpec } from '../sched/strategies/strategy.ts';
import { reproduceFree, who, WORKLOADS_HOW } from '../sched/reproduce.ts';
import { reproFileName, runRepro, type LoadedRepro, type ReplayRun, type ReproFile } from '../sched/repro.ts';
import { ControlledDriver } from '../sched/controlled.ts';
import { shrink, type ShrinkResult } from '../sched/shrink.ts';
import { shrinkSummaryText, writeFinding } from './finding.ts';
import { reproduceView } from '../report/interleaving.ts';

export interface ExplorerData {
  kind?: 'explore';
  scenario: string;
  cfg: RunConfig;
  strategies: StrategySpec[];
  iterations: number;
  durationMs: number;
  opsPerActor: number;
  seed: string;
  keepGoing: boolean;
  maxSteps: number;
  confidence?: number;
  start: number;
  stride: number;
  progressMs: number;
  /** Int32 word 0: set to 1 to stop every explorer */
  stop: SharedArrayBuffer;
  /** BigInt64 word 0: the next iteration number to run, shared by all explorers (iterationClaim) */
  next?: SharedArrayBuffer;
  /** this explorer's heartbeat (BEAT words, src/sched/explore.ts) */
  beat?: SharedArrayBuffer;
}

export type ExplorerMessage =
  | { type: 'ready'; worker: number; sab: SharedArrayBuffer; sizes: ShmSizes; roles: string[] }
  | { type: 'progress'; worker: number; stats: ExploreStats }
  /** `cost`'s loadMs and setupMs are sent as absolute times (performance.timeOrigin + now(), one
   * clock for every thread of the process): when the explorer began and when it had its model */
  | { type: 'done'; worker: number; result: ExploreResult; cost: ExplorerCost }
  | { type: 'error'; worker: number; error: string }
  | { type: 'written'; path: string }
  /** run --reproduce's heartbeat: one line about the search so far */
  | { type: 'reproducing'; line: string }
  | { type: 'finding'; result: FindingOutcome };

export interface ParallelOptions {
  scenario: string;
  cfg: RunConfig;
  strategies: StrategySpec[];
  iterations: number;
  durationMs: number;
  opsPerActor: number;
  seed: string;
  keepGoing: boolean;
  maxSteps: number;
  confidence?: number;
  threads: number;
  progressMs?: number;
  onProgress?: (s: ExploreStats) => void;
  /** a step that has not returned for this long is HUNG (default STEP_TIMEOUT_MS) */
  stepTimeoutMs?: number;
}

/** One explorer's share of a parallel exploration: its statistics, and how long after it was
 * started it had its driver built and began to explore (ms; -1: it never did). */
export interface WorkerShare {
  stats: ExploreStats;
  startMs: number;
  /** what the explorer measured of itself (absent when it was terminated before it reported) */
  cost?: ExplorerCost;
}

/**
 * What one explorer thread cost, measured by the thread itself (workers/explorer.ts), in counts a
 * busy machine does not distort: the thread's own CPU time (not wall time), the time it was
 * runnable but had no core, its garbage collections and the messages it sent. Iterations per
 * CPU-second of each thread, compared between 1 and 2 threads, say whether the threads cost each
 * other anything; wall-clock speed-up also needs free cores.
 */
export interface ExplorerCost {
  /** spawn to the explorer's first statement: the thread's start and its module load, ms */
  loadMs: number;
  /** from there to its first iteration: plug-ins and the driver's model, ms */
  setupMs: number;
  /** wall time of the exploration (explore(): its model built, then every iteration), ms */
  wallMs: number;
  /** the thread's on-CPU time during the exploration, ms (-1: /proc/thread-self/schedstat unreadable) */
  cpuMs: number;
  /** its on-CPU time before the exploration (thread start, module load, plug-ins), ms (-1: unreadable) */
  startCpuMs: number;
  /** the time it was runnable but waited for a core (the machine's load, not the code), ms (-1: unreadable) */
  runqMs: number;
  /** garbage collections of the thread's isolate during the exploration, and their total pause, ms */
  gcCount: number;
  gcMs: number;
  /** messages the explorer posted (ready, progress, done) and their size as JSON, bytes */
  messages: number;
  messageBytes: number;
  /** the memory its isolate's new space has committed at the end, MB (V8's heap space statistics:
   * at least the semi-space asked, EXPLORER_SEMI_SPACE_MB; 32 with V8's own 16 MB ceiling) */
  youngMb: number;
}

/** This thread's on-CPU and run-queue-wait time so far, ns (Linux /proc/thread-self/schedstat:
 * "time on cpu, time waiting on a runqueue, timeslices"), or null where it cannot be read. */
export function threadTimes(): { cpuNs: number; runqNs: number } | null {
  try {
    const [cpu, runq] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(cpu) && Number.isFinite(runq) ? { cpuNs: cpu, runqNs: runq } : null;
  } catch {
    return null;
  }
}

/** A SharedArrayBuffer of at least `bytes`, padded to SAB_PAD bytes: the small buffers of a
 * parallel exploration (the stop word, the iteration counter, each explorer's heartbeat, which
 * its driver writes at every step) are allocated one after another, and unpadded two of them
 * can share a cache line, which then moves between the cores at every write (false sharing). */
export const SAB_PAD = 256;
export const paddedSab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(bytes, SAB_PAD));

export interface ParallelExplore {
  /** the merged result; `workers` is each explorer's share (what a benchmark compares) */
  result: Promise<ExploreResult & { workers: WorkerShare[] }>;
  /** stop every explorer after its current iteration (those still busy after STOP_GRACE_MS are
   * terminated; their iterations so far still count) */
  stop(): void;
}

/** Wall-clock bound on one schedule point's step (a step takes microseconds). */
export const STEP_TIMEOUT_MS = 5_000;
/** After stop(), how long an explorer may take to finish its iteration before it is terminated. */
export const STOP_GRACE_MS = 700;

/** An explorer's claim on the shared iteration counter (ExploreOptions.claim): the next iteration
 * number, or -1 once `total` have been handed out. One atomic add per iteration (an iteration
 * takes a fraction of a millisecond): no batching needed. */
export function iterationClaim(next: SharedArrayBuffer, total: number): () => number {
  const word = new BigInt64Array(next);
  return () => {
    const i = Number(Atomics.add(word, 0, 1n));
    return i < total ? i : -1;
  };
}

const emptyStats = (): ExploreStats => ({
  iterations: 0, steps: 0, decisions: 0, maxDecisions: 0, finds: 0, findsById: {}, elapsedMs: 0, driverMs: 0, stoppedBy: 'stop', strategies: [],
});

/** The last schedule point task `task` recorded in a driver's flight ring. */
function lastPoint(sab: SharedArrayBuffer, sizes: ShmSizes, task: number): { label: string; page: number; op: number } | null {
  try {
    const shm = new Shm(sizes, sab);
    const base = task * shm.layout.flightStride;
    const w = Atomics.load(shm.flight, base);
    if (w <= 0) return null;
    const e = base + 1 + ((w - 1) % sizes.flightEntries) * FLIGHT_WORDS;
    return { label: labelText(shm, shm.flight[e + 1]), page: shm.flight[e + 2], op: shm.flight[e + 4] };
  } catch {
    return null;
  }
}

/**
 * The semi-space an explorer's heap starts with and keeps, MB (V8's --min-semi-space-size and
 * --max-semi-space-size). An iteration allocates ~200 KB of short-lived objects (map-truncate, 4
 * ops per actor: the protocol generators and their results, ~650 steps), nearly all dead at the
 * next scavenge; a worker's heap starts with a 1 MB semi-space and V8 does not grow it for garbage
 * that dies young. With 1 MB an explorer scavenged every ~35 iterations; with 16 MB (V8's own
 * ceiling on 64-bit unless --max-semi-space-size says more) every ~160; with 64 MB every ~620.
 * A scavenge's cost follows what survives, not the garbage, so fewer scavenges is less pause and
 * less work for V8's GC helper threads, which run on the other explorer's core. Measured with 2
 * explorers, 30,000 iterations (load 2.4-3.7, alternated): 16 MB 192 GCs / 156-166 ms of pause per
 * explorer, 64 MB 47 / 99-102 ms; iterations per explorer CPU-second unchanged (3,535-3,619 vs
 * 3,480-3,581). V8 flags are per process: the flags are set while the explorers' isolates are
 * created and set back to V8's defaults (0: its own sizes) once they are online.
 */
export const EXPLORER_SEMI_SPACE_MB = 64;
// What the other threads of the process spend while explorers run is mostly not GC: it is
// TurboFan compiling on V8's background threads, each explorer's isolate compiling the protocol
// code for itself (~200 optimizations and ~50 deoptimizations per explorer, most of them "insufficient
// type feedback", ~0.7 s of CPU in its first 4,000 map-truncate iterations). node --single-threaded
// takes that CPU off the helpers and puts the same CPU on the explorers; a larger
// --interrupt-budget compiles less but runs longer unoptimized: neither lowered the total.
// Turning V8's parallel scavenge off while 2 explorers filled 2 cores (a scavenge then never waits
// for a helper without a core) shortened GC pauses in one A/B (3 pairs of 8,000 iterations) but
// gave no better speed-up in two runs of bench explore-threads (1.65x vs 1.67x and 1.72x on free
// cores, load ~15-18): not kept.
// On the 20 s workload of bench explore-threads (one explorer, 70,000 iterations, 64 MB semi-space,
// load 2.6-5.3) the helpers used 0.91 s; with --no-concurrent-recompilation 0.17 s, and the
// explorer 1.4 s more: ~0.74 s of TurboFan per isolate, the rest GC helpers. One explorer has the
// idle core for it; two pay 2 x 0.91 s out of their two cores, which alone caps 2 threads at about
// (0.16 + 18.65) / (0.16 + (18.65 + 2 x 0.91) / 2) = 1.81x of one, at equal speed per CPU-second:
// the structural part of the gap (two isolates each compile the same code).
// --max-inlined-bytecode-size-cumulative=460 (half V8's default) compiled 4% less and ran 4.5%
// slower (3 alternated pairs, 30,000 iterations): not kept. What an iteration allocates (V8's
// sampling heap profiler, objects collected by scavenges included): ~207 KB, nearly all the
// protocol generators and their results; the explorer's and the driver's own part is under 3%
// (opsFor's per-actor OpStream, 5.6 KB), so cutting it would not change the GC figures above.
// The compiling is a fixed cost, not a scaling limit: 220,000 iterations (~60 s on one explorer,
// load ~1.5) took 61.1 s on 1 thread and 31.5 s on 2 (1.94x), and bench explore-threads' "2nd half"
// column (each run's second half, most compiling behind it) reads 1.84-2.12x where the whole 20 s
// runs read 1.51-1.88x. Re-compiles after deopts are ~19 % of an explorer's TurboFan time
// (--trace-opt, 40,000 iterations: 244 of 1,298 ms), worth ~0.01 on the 20 s ratio. Also measured
// on that workload and not kept (single runs, quiet machine; the 20 s ratio moves 0.1 from run to
// run with the same build, the iterations per CPU-second of the same work ~5 %, the machine's ALU
// loop under 1 %): --single-threaded-gc (helpers 1.55 -> 1.30-1.53 s with 2 explorers; ratio
// 1.77-1.85x against 1.79-1.91x alternated), a 1 or 4 MB semi-space (1 MB: the two explorers no
// longer slow each other, 0.99-1.00 "vs 1 thread", but the helpers scavenge 0.7 s more; 1.78x /
// 1.79x), --interrupt-budget=400000 (1.78x). V8's GC threading flags (--no-concurrent-marking,
// --no-parallel-scavenge, ...) can only be given on node's command line: set at run time while the
// explorers were created, they crashed V8 in 7 of 8 runs (a fatal check in cppgc's marker:
// concurrent marking turned off under a heap that had started it).
let creating = 0;
function withYoungGeneration(spawn: () => Worker): Worker {
  if (creating++ === 0) v8.setFlagsFromString(`--max-semi-space-size=${EXPLORER_SEMI_SPACE_MB} --min-semi-space-size=${EXPLORER_SEMI_SPACE_MB}`);
  let settled = false;
  const done = () => {
    if (settled) return;
    settled = true;
    if (--creating === 0) v8.setFlagsFromString('--min-semi-space-size=0 --max-semi-space-size=0');
  };
  try {
    const w = spawn();
    w.once('online', done);
    w.once('exit', done);
    return w;
  } catch (e) {
    done();
    throw e;
  }
}

export function exploreParallel(o: ParallelOptions): ParallelExplore {
  const stop = paddedSab(4);
  const flag = new Int32Array(stop);
  const next = paddedSab(8);
  const n = o.threads;
  const stepTimeoutMs = o.stepTimeoutMs ?? STEP_TIMEOUT_MS;
  const latest: (ExploreStats | undefined)[] = [];
  const workers: Worker[] = [];
  const beats: Int32Array[] = [];
  const ready: ({ sab: SharedArrayBuffer; sizes: ShmSizes; roles: string[] } | undefined)[] = [];
  const done: (ExploreResult | undefined)[] = new Array(n).fill(undefined);
  const costs: (ExplorerCost | undefined)[] = new Array(n).fill(undefined);
  const spawnedAt: number[] = [];
  const startMs: number[] = new Array(n).fill(-1);
  let settle: (() => void) | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  let hungStep: HungStep | undefined;

  const result = new Promise<ExploreResult & { workers: WorkerShare[] }>((resolve, reject) => {
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      clearInterval(watch);
      clearTimeout(graceTimer);
      const parts = done.map((r, w) => r ?? { stats: latest[w] ? { ...latest[w]!, stoppedBy: 'stop' as const } : emptyStats(), finds: [] });
      const finds: Find[] = [];
      // the first find of each id, by iteration number (not by which worker was quicker)
      const all = parts.flatMap((r) => r.finds).sort((a, b) => a.iteration - b.iteration);
      for (const f of all) if (!finds.some((x) => x.violation.id === f.violation.id)) finds.push(f);
      const stats = mergeStats(parts.map((r) => r.stats));
      if (hungStep) {
        stats.finds++;
        stats.findsById.HUNG = (stats.findsById.HUNG ?? 0) + 1;
        stats.stoppedBy = 'find';
      }
      const workers = parts.map((r, w) => ({ stats: r.stats, startMs: startMs[w], ...(costs[w] ? { cost: costs[w] } : {}) }));
      resolve({ stats, finds: o.keepGoing ? finds : finds.slice(0, hungStep ? 0 : 1), ...(hungStep ? { hungStep } : {}), workers });
    };
    const fail = (e: Error) => {
      if (over) return;
      over = true;
      clearInterval(watch);
      clearTimeout(graceTimer);
      Atomics.store(flag, 0, 1);
      for (const x of workers) void x.terminate();
      reject(e);
    };
    const check = () => {
      if (done.every((r) => r !== undefined)) finish();
    };
    settle = () => {
      // stop(): whatever has not finished by now is terminated; its progress so far counts
      for (let w = 0; w < n; w++) if (!done[w]) void workers[w].terminate();
      finish();
    };
    for (let w = 0; w < n; w++) {
      const beat = paddedSab(BEAT_WORDS * 4);
      const b = new Int32Array(beat, 0, BEAT_WORDS);
      b[BEAT.ACTOR] = -1;
      beats.push(b);
      const data: ExplorerData = {
        kind: 'explore', scenario: o.scenario, cfg: o.cfg, strategies: o.strategies, iterations: o.iterations,
        durationMs: o.durationMs, opsPerActor: o.opsPerActor, seed: o.seed, keepGoing: o.keepGoing, maxSteps: o.maxSteps,
        confidence: o.confidence, start: w, stride: n, progressMs: o.progressMs ?? 250, stop, next, beat,
      };
      spawnedAt.push(performance.now());
      const worker = withYoungGeneration(() => spawnWorker('explorer', { workerData: data }));
      workers.push(worker);
      worker.on('message', (m: ExplorerMessage) => {
        if (m.type === 'ready') {
          ready[m.worker] = { sab: m.sab, sizes: m.sizes, roles: m.roles };
          startMs[m.worker] = performance.now() - spawnedAt[m.worker];
        }
        else if (m.type === 'progress') {
          latest[m.worker] = m.stats;
          o.onProgress?.(mergeStats(latest.filter((x): x is ExploreStats => !!x)));
        } else if (m.type === 'done') {
          const began = m.cost.loadMs, model = m.cost.setupMs;
          costs[m.worker] = { ...m.cost, loadMs: began - (performance.timeOrigin + spawnedAt[m.worker]), setupMs: model - began };
          done[m.worker] = m.result;
          if (m.result.finds.length && !o.keepGoing) Atomics.store(flag, 0, 1);
          check();
        } else if (m.type === 'error') fail(new Error(`explorer ${m.worker}: ${m.error}`));
      });
      worker.on('error', (e) => fail(e));
      worker.on('exit', () => {
        // terminated (a hung step, stop()) or gone without a word: its iterations so far count
        if (!done[w]) {
          done[w] = { stats: latest[w] ? { ...latest[w]!, stoppedBy: 'stop' } : emptyStats(), finds: [] };
          check();
        }
      });
    }
    // the heartbeat watch: a step that has not returned for stepTimeoutMs is HUNG
    const seen = beats.map(() => ({ steps: -1, since: performance.now() }));
    watch = setInterval(() => {
      const now = performance.now();
      for (let w = 0; w < n; w++) {
        if (done[w]) continue;
        const b = beats[w];
        const actor = Atomics.load(b, BEAT.ACTOR), steps = Atomics.load(b, BEAT.STEPS);
        if (actor < 0 || steps !== seen[w].steps) {
          seen[w] = { steps: actor < 0 ? -1 : steps, since: now };
          continue;
        }
        if (now - seen[w].since < stepTimeoutMs || hungStep) continue;
        const r = ready[w];
        const at = r ? lastPoint(r.sab, r.sizes, actor) : null;
        hungStep = {
          iteration: Atomics.load(b, BEAT.ITERATION), task: actor, role: r?.roles[actor] ?? '?',
          op: at?.op ?? Atomics.load(b, BEAT.OP), label: at?.label ?? '?', page: at?.page ?? -1, stepMs: Math.round(now - seen[w].since),
          opsSeed: `${o.seed}.${Atomics.load(b, BEAT.ITERATION)}`,
        };
        Atomics.store(flag, 0, 1); // the others stop after their iteration
        void workers[w].terminate();
        if (!o.keepGoing) graceTimer = setTimeout(() => settle?.(), STOP_GRACE_MS);
      }
    }, 100);
  });
  return {
    result,
    stop: () => {
      Atomics.store(flag, 0, 1);
      if (!graceTimer) graceTimer = setTimeout(() => settle?.(), STOP_GRACE_MS);
    },
  };
}

// ---- the finding pipeline in a worker ---------------------------------------------------------

/** How a path is shown: relative to `cwd` when inside it. */
export function shownFrom(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** What a find became: the lines to print and the file to replay. */
export interface FindingOutcome {
  /** the file to replay (the shrunk one when there is one), or null (nothing written) */
  path: string | null;
  /** the find as written, before shrinking (null: nothing found / written) */
  written: string | null;
  /** what to print, in order */
  lines: string[];
  elapsedMs: number;
  /** the replay command, and the replayed interleaving as text lines (the reports show them) */
  replay?: string;
  diagram?: string[];
}

export interface FindingJob {
  kind: 'finding';
  /** an explore find to write (and shrink) */
  find?: Find;
  /** or a free-mode violation to reproduce under the controlled driver first */
  reproduce?: { violation: ViolationRecord; budgetMs: number };
  cfg: RunConfig;
  dir: string;
  cwd: string;
  shrink: null | { budgetMs: number };
  tool: { name: string; version: string; commit: string };
  /** explore: the title of the Markdown diagram, the terminal diagram's tail */
  title?: string;
  diagramTail?: number;
}

/** At most this many controlled iterations for run --reproduce (its time budget bounds it too). */
const REPRODUCE_ITERATIONS = 1_000_000;

/**
 * Write a find (explore) or reproduce a free-mode violation and write what was found (run
 * --reproduce): repro file, shrink, diagram, replay line. Synchronous; runFindingInWorker runs it
 * in a worker so it can be interrupted. `onWritten` is called as soon as the find is on disk.
 */
export function runFinding(job: FindingJob, scenario: Scenario, lock: PageLock, onWritten?: (path: string) => void, onProgress?: (line: string) => void): FindingOutcome {
  const t0 = performance.now();
  const shown = (p: string) => shownFrom(job.cwd, p);
  const took = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  let find = job.find ?? null;
  let involved = '';
  if (job.reproduce) {
    const v = job.reproduce.violation;
    // the operations are rebuilt from the race window's steps, not the report's look further back
    const r = reproduceFree({
      scenario, cfg: job.cfg, lock, violation: reproduceView(v), iterations: REPRODUCE_ITERATIONS, durationMs: job.reproduce.budgetMs, progressMs: 2_000,
      onProgress: (p) => onProgress?.(`reproduce: ${(p.elapsedMs / 1000).toFixed(0)} s, ${p.iterations.toLocaleString('en-US')} controlled iterations over ${p.sets} operation set${p.sets === 1 ? '' : 's'}, still searching; now ${p.now}`),
    });
    involved = who(r.involved);
    if (!r.find)
      return { path: null, written: null, lines: [`reproduce: ${v.id} NOT reproduced under the controlled driver within ${took()}, ${r.iterations.toLocaleString('en-US')} iterations (widest set: ${involved})`], elapsedMs: performance.now() - t0 };
    find = r.find;
    involved = r.how?.startsWith(WORKLOADS_HOW)
      // not the free run's operations: the same bug (signature) in a workload of the scenario's own
      ? `a fresh workload, ops seed ${r.find.opsSeed}: ${involved}, not the free run's operations; ${r.how.slice(WORKLOADS_HOW.length + 2)}, iteration ${r.iterations}`
      : `${involved}; ${r.how === 'free interleaving' ? 'in the free run\'s own order' : r.how?.startsWith('free interleaving') ? `in the free run's order up to the race, then ${r.how.slice('free interleaving, then '.length)}` : `explored, ${r.how}`}, iteration ${r.iterations}`;
  }
  let foundIn = '';
  const lines: string[] = [];
  const w = writeFinding({ find: find!, scenario, cfg: job.cfg, lock, tool: job.tool }, {
    path: (f) => join(job.dir, job.reproduce ? reproFileName(f).replace(/^repro-/, 'repro-free-') : reproFileName(f)),
    shrink: job.shrink,
    markdown: job.title ? { title: job.title } : null,
    ...(job.diagramTail !== undefined ? { diagramTail: job.diagramTail } : job.reproduce ? { diagramTail: 200 } : {}),
    shown,
    onWritten: (path) => {
      foundIn = took();
      onWritten?.(path);
    },
  });
  if (job.reproduce) {
    lines.push(`reproduce: ${job.reproduce.violation.id} reproduced under the controlled driver in ${foundIn} (${involved}): ${shown(w.path)}`);
    if (w.shrunk) lines.push(`reproduce: shrunk to ${w.shrunk.summary.after.steps} steps, ${w.shrunk.summary.after.ops} operations: ${shown(w.shrunk.path)}`);
  } else {
    if (w.shrunk) lines.push(`shrunk: ${shrinkSummaryText(w.shrunk.summary)}: ${shown(w.shrunk.path)}`);
    lines.push('', ...w.diagram, '');
  }
  lines.push(w.replayLine);
  return { path: w.replayPath, written: w.path, lines, elapsedMs: performance.now() - t0, replay: w.replayLine, diagram: w.diagram };
}

export interface FindingRun {
  /** null: stopped before it ended (stop()) */
  result: Promise<FindingOutcome | null>;
  /** terminate the worker now */
  stop(): void;
  /** set when the job's own time limit ended it (not a signal) */
  timedOut: boolean;
}

/** Past its budgets, how long a finding job may still take before it is ended (a replay that
 * hits a step that never returns would otherwise wait forever). */
export const FINDING_GRACE_MS = 30_000;

/** runFinding in a worker (workers/explorer.ts): stop() ends it at once; so does the job's own
 * time limit (its reproduce and shrink budgets plus FINDING_GRACE_MS), with `timedOut` set. */
export function runFindingInWorker(job: FindingJob, onWritten?: (path: string) => void, onProgress?: (line: string) => void): FindingRun {
  return runJobInWorker<FindingOutcome>(job, {
    result: (m) => (m.type === 'finding' ? m.result : undefined),
    onMessage: (m) => {
      if (m.type === 'written') onWritten?.(m.path);
      else if (m.type === 'reproducing') onProgress?.(m.line);
    },
    limitMs: (job.reproduce?.budgetMs ?? 0) + (job.shrink?.budgetMs ?? 0) + FINDING_GRACE_MS,
  });
}

/** A job of the explorer worker entry that is not an exploration (a finding, a replay, a
 * shrink), running. */
interface JobRun<T> {
  result: Promise<T | null>;
  /** set when the job's own time limit ended it (not a signal) */
  timedOut: boolean;
  /** stop(now = true): terminate the worker at once; stop(false): set the job's stop word and
   * give it STOP_GRACE_MS to end with what it has */
  stop(now?: boolean): void;
  /** set when a step did not return for the step timeout (the worker was terminated) */
  hung: HungStep | null;
}

/**
 * Run one job in the explorer worker entry. Its result is the first message `result` accepts;
 * an 'error' message rejects with its first line. The worker is ended by stop(), by `limitMs`
 * (timedOut), or, when the job has a heartbeat, by a step that has not returned for
 * `stepTimeoutMs` (hung: the task, its operation and last label from the driver's flight ring,
 * as exploreParallel reports it). Ended before a result: the result is null.
 */
function runJobInWorker<T>(data: FindingJob | ReproJob, o: {
  result: (m: ExplorerMessage | ReproMessage) => T | undefined;
  onMessage?: (m: ExplorerMessage | ReproMessage) => void;
  limitMs?: number;
  beat?: { words: Int32Array; stepTimeoutMs: number; iteration: number; opsSeed: string };
  stopWord?: Int32Array;
  /** after stop(false), how long the job may take to end with what it has (default STOP_GRACE_MS) */
  stopGraceMs?: number;
}): JobRun<T> {
  const worker = spawnWorker('explorer', { workerData: data });
  let stopped = false;
  let ready: { sab: SharedArrayBuffer; sizes: ShmSizes; roles: string[] } | null = null;
  let grace: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  const limit = o.limitMs === undefined ? undefined : setTimeout(() => {
    run.timedOut = true;
    run.stop();
  }, o.limitMs);
  limit?.unref();
  const result = new Promise<T | null>((resolve, reject) => {
    let over = false;
    const end = (f: () => void) => {
      clearTimeout(limit);
      clearTimeout(grace);
      clearInterval(watch);
      if (!over) f();
      over = true;
    };
    worker.on('message', (m: ExplorerMessage | ReproMessage) => {
      if (m.type === 'ready') ready = { sab: m.sab, sizes: m.sizes, roles: m.roles };
      o.onMessage?.(m);
      const r = o.result(m);
      if (r !== undefined) end(() => resolve(r));
      else if (m.type === 'error') end(() => reject(new Error(m.error.split('\n')[0])));
    });
    worker.on('error', (e) => end(() => reject(e)));
    worker.on('exit', () => end(() => (stopped || run.hung ? resolve(null) : reject(new Error('the worker exited without a result')))));
    const b = o.beat;
    if (!b) return;
    // the heartbeat watch (exploreParallel's): the same step count with an actor inside its step
    // for stepTimeoutMs is a step that never returns
    let seen = { steps: -1, since: performance.now() };
    watch = setInterval(() => {
      const now = performance.now();
      const actor = Atomics.load(b.words, BEAT.ACTOR), steps = Atomics.load(b.words, BEAT.STEPS);
      if (actor < 0 || steps !== seen.steps) {
        seen = { steps: actor < 0 ? -1 : steps, since: now };
        return;
      }
      if (now - seen.since < b.stepTimeoutMs) return;
      const at = ready ? lastPoint(ready.sab, ready.sizes, actor) : null;
      run.hung = {
        iteration: b.iteration, task: actor, role: ready?.roles[actor] ?? '?', op: at?.op ?? Atomics.load(b.words, BEAT.OP),
        label: at?.label ?? '?', page: at?.page ?? -1, stepMs: Math.round(now - seen.since), opsSeed: b.opsSeed,
      };
      clearInterval(watch);
      void worker.terminate();
    }, 100);
  });
  const run: JobRun<T> = {
    result,
    timedOut: false,
    hung: null,
    stop: (now = true) => {
      stopped = true;
      if (o.stopWord) Atomics.store(o.stopWord, 0, 1);
      if (now || !o.stopWord) void worker.terminate();
      else grace ??= setTimeout(() => void worker.terminate(), o.stopGraceMs ?? STOP_GRACE_MS);
    },
  };
  return run;
}

// ---- replay and shrink in a worker ------------------------------------------------------------
// The `replay` and `shrink` commands run the controlled driver in the same worker entry, so the
// main thread stays free for signals and watches the driver's heartbeat: a protocol step that
// never returns is reported as HUNG (task, operation, last label) instead of hanging the command.

/** A repro file to replay or shrink (validated by the command; the worker only loads it). */
export interface ReproJob {
  kind: 'replay' | 'shrink';
  file: ReproFile;
  /** replay: trace every step */
  trace?: boolean;
  /** shrink: its limits */
  shrink?: { budgetMs: number; maxRuns: number };
  /** Int32 word 0: set to 1 to stop (a shrink then ends with its smallest variation so far) */
  stop: SharedArrayBuffer;
  /** the driver's heartbeat (BEAT words) */
  beat: SharedArrayBuffer;
}

/** What a replay or shrink job sends back (the driver itself stays in the worker). */
export type ReproOutcome =
  | { kind: 'replay'; run: Omit<ReplayRun, 'driver'> }
  /** `first`: the file's own replay (it did not reproduce: nothing shrunk); `shrunk`: the shrink,
   * `interrupted` when a stop ended it early (its smallest variation so far) */
  | { kind: 'shrink'; first: Omit<ReplayRun, 'driver'>; shrunk: ShrinkResult | null; interrupted: boolean };

export type ReproMessage =
  | { type: 'ready'; sab: SharedArrayBuffer; sizes: ShmSizes; roles: string[] }
  | { type: 'repro'; result: ReproOutcome }
  /** shrink: the file reproduces, shrinking starts */
  | { type: 'shrinking' }
  | { type: 'error'; worker: number; error: string };

/** Run a replay or shrink job (in the worker: workers/explorer.ts). */
export function runReproJob(job: ReproJob, l: LoadedRepro, post: (m: ReproMessage) => void): ReproOutcome {
  const driver = new ControlledDriver({ scenario: l.scenario, cfg: l.cfg, lock: l.lock });
  driver.beat = new Int32Array(job.beat);
  Atomics.store(driver.beat, BEAT.ACTOR, -1);
  post({ type: 'ready', sab: driver.shm.sab, sizes: driver.shm.sizes, roles: driver.roles });
  const stop = new Int32Array(job.stop);
  const plain = ({ driver: _d, ...r }: ReplayRun) => r;
  const first = plain(runRepro(l, { driver, trace: job.kind === 'replay' && job.trace === true }));
  if (job.kind === 'replay') return { kind: 'replay', run: first };
  if (!first.reproduced) return { kind: 'shrink', first, shrunk: null, interrupted: false };
  post({ type: 'shrinking' });
  // a stop makes the shrink's clock read past its budget: it ends at its next check with the
  // smallest variation so far, traced (src/sched/shrink.ts keeps `best` valid at every check)
  let interrupted = false;
  const now = () => {
    if (Atomics.load(stop, 0) !== 0) {
      interrupted = true;
      return Number.MAX_SAFE_INTEGER;
    }
    return performance.now();
  };
  const t0 = performance.now();
  const s = shrink(l, { budgetMs: job.shrink?.budgetMs, maxRuns: job.shrink?.maxRuns, driver, now });
  return { kind: 'shrink', first, shrunk: { ...s, elapsedMs: performance.now() - t0 }, interrupted };
}

export type ReproRun = JobRun<ReproOutcome>;

/** runReproJob in a worker, its heartbeat watched: a step that does not return for
 * `stepTimeoutMs` ends the worker and is reported in `hung`. stop(false) lets a shrink end with
 * its smallest variation so far. */
export function runReproInWorker(job: Omit<ReproJob, 'stop' | 'beat'>, o: { stepTimeoutMs?: number; onShrinking?: () => void } = {}): ReproRun {
  const stop = new SharedArrayBuffer(4);
  const beat = new SharedArrayBuffer(BEAT_WORDS * 4);
  const words = new Int32Array(beat);
  words[BEAT.ACTOR] = -1;
  return runJobInWorker<ReproOutcome>({ ...job, stop, beat }, {
    result: (m) => (m.type === 'repro' ? m.result : undefined),
    onMessage: (m) => { if (m.type === 'shrinking') o.onShrinking?.(); },
    beat: { words, stepTimeoutMs: o.stepTimeoutMs ?? STEP_TIMEOUT_MS, iteration: job.file.seeds.iteration ?? 0, opsSeed: job.file.seeds.ops ?? '' },
    stopWord: new Int32Array(stop),
    stopGraceMs: SHRINK_STOP_GRACE_MS,
  });
}

/** After a stop, how long a shrink may take to end with its smallest variation so far: it stops
 * at its next check (between trial runs of a few ms) and traces that variation once; more than
 * STOP_GRACE_MS because a starved worker on a busy machine is slower, and a worker terminated
 * here writes nothing. */
export const SHRINK_STOP_GRACE_MS = 2_000;
