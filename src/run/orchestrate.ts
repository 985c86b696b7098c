// Run orchestration (free mode): build the shared model, start one worker per actor, watch them
// from the main thread, stop, collect.
//
// The main thread coordinates and never blocks (it waits with Atomics.waitAsync and timers): every
// tick it runs the watchdog and the wait-for graph, between epochs the scenario's live checks, at
// an interval a quiescent epoch (every actor parks between operations, the whole state is checked,
// the actors are released), every statIntervalMs a stats sample and line, and stutter if enabled.
// It stops on the duration, when every actor reached --ops, soon after the first violation, on a
// hung task or on the AbortSignal (SIGINT/SIGTERM). Workers still alive at the end are terminated,
// always: the tool never hangs, whatever the protocol does.
//
// Epoch 1 is the start barrier: each worker parks for it as soon as it has loaded, so the clock
// starts when every actor is ready and the initial state is checked once before any operation.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { RunConfig } from '../kernel/config.ts';
import type { HungReport, RunResult, StatsSample, TaskSummary } from '../report/result.ts';
import type { Finding, Scenario } from '../kernel/scenario.ts';
import { spawnWorker } from './spawn.ts';
import { StatsSampler, taskStats } from './stats.ts';
import { gitInfo, toolVersion } from './gitinfo.ts';
import { CTL, HIST_BUCKETS, type ShmSizes } from '../shm/layout.ts';
import { Shm, TASK_DONE, TASK_PARKED } from '../shm/shm.ts';
import { initShm } from '../shm/init.ts';
import { INVARIANTS, type InvariantId } from '../kernel/invariants.ts';
import { readViolations, reportViolation, violationCount, violationReported, type ViolationRecord } from '../check/violations.ts';
import { hungFinding, Watchdog } from '../check/watchdog.ts';
import { DeadlockDetector, selfWaitText } from '../check/waitfor.ts';
import { LiveRevalidator } from '../check/revalidate.ts';
import { LostWakeDetector } from '../check/lostwake.ts';
import { lockdepSummary } from '../check/lockdep.ts';
import { violationMessage } from '../check/describe.ts';
import { RssMonitor, statsDownsampler } from './checkpoint.ts';
import { checkWaiters, quiescentLockFindings } from '../check/lockstate.ts';
import { parkedFor, PERTURB_RATES, releaseEpoch, requestEpoch, type FreeWall } from '../sched/free.ts';
import { getScenario } from '../scenarios/index.ts';
import type { ActorData, ActorMessage } from './actor-protocol.ts';
import { flightEntriesFor } from './validate.ts';
import { keptFlight } from '../report/interleaving.ts';

/** RSS growth is judged only after the first minute: worker heaps reach their working size first. */
const RSS_WARMUP_MS = 60_000;

/** What runStress tells its caller before the first operation. */
export interface StartInfo {
  runId: string;
  config: RunConfig;
  mode: 'free';
  /** actor tasks and their roles, in task-id order (the checker task is `actors`) */
  roles: string[];
  tasks: number;
  cores: number;
  oversubscribed: boolean;
  memoryBytes: number;
  /** bytes per shared-memory region, largest first */
  memory: { name: string; bytes: number }[];
  startedAt: string;
  /** The run so far, as the result would say if it ended now (checkpoints: src/run/checkpoint.ts).
   * Valid from now until the run returns. */
  partialRunResult: () => RunResult;
}

export interface RunHooks {
  onStart?(info: StartInfo): void;
  /** every statIntervalMs: the sample and its greppable line (see src/run/stats.ts) */
  onStats?(sample: StatsSample, line: string): void;
  /** fraction of the run done (duration or ops), for a progress bar */
  onProgress?(fraction: number, sample: StatsSample): void;
}

/**
 * Timing knobs of the orchestration, read from `cfg.extra` (all in ms; the defaults suit 2 cores):
 * - `epochMs` (1000): interval between quiescent epochs; 0 = none (the start and final checks run);
 *   stretched to 20x the last epoch's pause when the check is slow (huge models)
 * - `epochTimeoutMs` (1000): how long an epoch waits for every actor to park before it gives up
 * - `liveCheckMs` (100): interval between live-check scans (also at least 20x the last scan)
 * - `stutterRunMs` (2000) / `stutterPauseMs` (50): with `stutter`, run this long, then pause all
 *   actors this long (load suddenly removed and re-applied, as kernel/torture.c does)
 * - `startTimeoutMs` (60000): how long the workers may take to load
 */
export interface Tuning {
  epochMs: number;
  epochTimeoutMs: number;
  liveCheckMs: number;
  stutterRunMs: number;
  stutterPauseMs: number;
  startTimeoutMs: number;
}

export const TUNING_DEFAULTS: Tuning = {
  epochMs: 1000, epochTimeoutMs: 1000, liveCheckMs: 100, stutterRunMs: 2000, stutterPauseMs: 50, startTimeoutMs: 60_000,
};

export function tuning(cfg: RunConfig): Tuning {
  const t = { ...TUNING_DEFAULTS };
  for (const k of Object.keys(t) as (keyof Tuning)[]) {
    const v = cfg.extra?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) t[k] = v;
  }
  return t;
}

/** Violation slots kept with full snapshots (flight-recorder entries per task: flightEntriesFor,
 * src/run/validate.ts: thousands, so a race partner's step is still held when the report comes). */
export const VIOLATION_SLOTS = 32;

/** Main-loop tick, and how long to keep collecting after the first violation. */
const TICK_MS = 10;
const COLLECT_AFTER_VIOLATION_MS = 200;
/** After a LOCK-WAKE, how long the stop waits for tasks asleep on a page lock (see shutdown()). */
const LOST_WAKE_STOP_MS = 300;
/** An epoch (or live scan) interval is at least this many times the last one's duration, so the
 * actors stand still (and the main thread is busy checking) at most ~5 % of the run. */
const CHECK_SPACING = 20;
/** After a signal, how long the actors get to finish their operation. */
const SIGNAL_STOP_MS = 800;
/** Grace for workers to exit after terminate(). */
const TERMINATE_GRACE_MS = 2_000;

/** Checked by the driver and the orchestration for every scenario. */
const ALWAYS_CHECKED: InvariantId[] = ['LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'DEADLOCK', 'HUNG', 'CRASH'];

let runCounter = 0;
function makeRunId(cfg: RunConfig, at: Date): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const id = `${ts}-${cfg.scenario}-${cfg.lock}-s${cfg.seed}${runCounter++ ? `-${runCounter}` : ''}`;
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

const nowMs = () => performance.now();

/** Atomics.waitAsync (Node 20; not in the ES2022 lib typings). A pending wait does not keep the
 * process alive by itself: the workers do. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

export async function runStress(cfg: RunConfig, hooks: RunHooks = {}, signal?: AbortSignal): Promise<RunResult> {
  return new FreeRun(cfg, hooks, signal).execute();
}

interface ActorWorker {
  task: number;
  worker: Worker;
  exited: Promise<void>;
  alive: boolean;
  finished: boolean; // posted 'done' or 'crash'
  terminated: boolean;
  threadId: number;
  exitCode: number | null;
}

class FreeRun {
  private readonly scenario: Scenario;
  private readonly roles: string[];
  private readonly actors: number;
  private readonly shm: Shm;
  private readonly tune: Tuning;
  private readonly startedAt = new Date();
  private readonly runId: string;
  private readonly cores = os.availableParallelism();
  private readonly workers: ActorWorker[] = [];
  private readonly sampler: StatsSampler;
  /** stats samples, down-sampled past DEFAULT_MAX_SAMPLES so a day-long run stays bounded */
  private readonly samples = statsDownsampler();
  /** process RSS, sampled every second (run.json extra.rss; a warning when it keeps growing) */
  private readonly rss = new RssMonitor({ warmupMs: RSS_WARMUP_MS });
  private readonly notes: string[] = [];
  private readonly hung: HungReport[] = [];
  /** messages of violations the main thread reported, by id:task:op:page */
  private readonly messages = new Map<string, string[]>();
  private readonly crashes = new Map<number, string>();
  /** where each finished actor's wall time went (its driver's FreeWall), by task */
  private readonly walls = new Map<number, FreeWall>();
  private readonly live: LiveRevalidator;
  private readonly deadlocks: DeadlockDetector;
  private readonly lostWake: LostWakeDetector;
  private watchdog!: Watchdog;

  private t0 = 0; // the run's clock starts after the start barrier
  private stoppedAt = 0; // ... and stops when every actor has stopped
  private deadlocked = false;
  /** a task is known not to finish its operation (a lost wake-up): do not wait long for it */
  private knownStuck = false;
  private endReason = '';
  private stopAt = Infinity;
  private epoch = -1; // last requested epoch number (odd)
  private epochStats = { count: 0, timedOut: 0, totalPauseMs: 0, maxPauseMs: 0, checkMs: 0, findings: 0 };
  private stutterStats = { pauses: 0 };
  private workerStartMs = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly cfg: RunConfig, private readonly hooks: RunHooks, private readonly signal?: AbortSignal) {
    this.scenario = getScenario(cfg.scenario);
    this.roles = this.scenario.roles(cfg);
    this.actors = this.roles.length;
    if (this.actors < 1) throw new Error(`scenario ${cfg.scenario} has no actors for this configuration`);
    this.tune = tuning(cfg);
    const sizes: ShmSizes = {
      ...this.scenario.sizes(cfg), tasks: this.actors + 1, flightEntries: flightEntriesFor(this.actors + 1), violationSlots: VIOLATION_SLOTS,
    };
    this.shm = new Shm(sizes);
    initShm(this.shm);
    this.scenario.init(this.shm, cfg);
    const roleIds = [...new Set(this.roles)];
    this.roles.forEach((r, t) => (this.shm.role[t] = roleIds.indexOf(r)));
    this.runId = makeRunId(cfg, this.startedAt);
    this.sampler = new StatsSampler(this.shm, this.roles);
    this.live = new LiveRevalidator(this.shm, this.actors);
    this.deadlocks = new DeadlockDetector(this.shm, this.actors);
    this.lostWake = new LostWakeDetector(this.shm, this.roles, cfg.lostWakeMs ?? 0);
  }

  // ---- the run ------------------------------------------------------------------------------

  async execute(): Promise<RunResult> {
    const onAbort = () => this.stop('signal');
    this.signal?.addEventListener('abort', onAbort);
    this.rss.start();
    try {
      this.announce();
      if (this.signal?.aborted) this.stop('signal');
      else if (await this.start()) await this.mainLoop();
      await this.shutdown();
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      await this.terminateAll();
      this.rss.stop();
    }
    return this.result();
  }

  private announce(): void {
    const layout = this.shm.layout;
    const memory = layout.regions
      .map((r) => ({ name: r.name, bytes: r.length * 4 }))
      .sort((a, b) => b.bytes - a.bytes);
    this.hooks.onStart?.({
      runId: this.runId, config: this.cfg, mode: 'free', roles: [...this.roles], tasks: this.shm.sizes.tasks,
      cores: this.cores, oversubscribed: this.actors > this.cores, memoryBytes: layout.bytes, memory,
      startedAt: this.startedAt.toISOString(), partialRunResult: () => this.result(),
    });
  }

  /** Spawn the workers and wait at the start barrier (epoch 1). False if the run cannot start. */
  private async start(): Promise<boolean> {
    const t = nowMs();
    this.epoch = 1;
    requestEpoch(this.shm.ctl, this.epoch);
    const clockBase = process.hrtime.bigint().toString();
    for (let task = 0; task < this.actors; task++) {
      const data: ActorData = {
        sab: this.shm.sab, sizes: this.shm.sizes, cfg: this.cfg, task, role: this.roles[task], clockBase,
      };
      this.workers.push(this.spawn(task, data));
    }
    const ok = await this.waitParked(this.epoch, this.tune.startTimeoutMs, true);
    this.workerStartMs = Math.round(nowMs() - t);
    if (!ok) {
      if (!this.endReason) {
        this.notes.push(`the workers did not start within ${this.tune.startTimeoutMs} ms`);
        this.stop('crash');
      }
      releaseEpoch(this.shm.ctl, this.epoch);
      return false;
    }
    this.checkQuiescent('start');
    releaseEpoch(this.shm.ctl, this.epoch);
    this.t0 = nowMs();
    this.watchdog = new Watchdog(this.shm, this.roles, this.cfg.hungMs, this.t0);
    this.watchdog.lostWakeReported = (task) => this.lostWake.has(task);
    return true;
  }

  private spawn(task: number, workerData: ActorData): ActorWorker {
    const worker = spawnWorker('actor', { workerData, name: `actor-${task}` });
    const w: ActorWorker = {
      task, worker, alive: true, finished: false, terminated: false, exited: Promise.resolve(),
      threadId: worker.threadId, exitCode: null,
    };
    w.exited = new Promise<void>((resolve) => {
      worker.on('exit', (code) => {
        w.alive = false;
        w.exitCode = code;
        if (!w.finished && !w.terminated) this.crashed(task, -1, `worker exited with code ${code} before finishing`);
        Atomics.store(this.shm.taskState, task, TASK_DONE);
        this.poke();
        resolve();
      });
    });
    worker.on('message', (m: ActorMessage) => {
      if (m.type === 'done') {
        w.finished = true;
        this.walls.set(task, m.wall);
      }
      else if (m.type === 'crash') {
        w.finished = true;
        this.crashes.set(task, m.stack);
        this.stop('crash');
      }
      this.poke();
    });
    worker.on('error', (e) => {
      // an exception outside the driver's try (loading the modules): the worker could not report it
      this.crashed(task, Atomics.load(this.shm.opNo, task), e?.stack ?? String(e));
    });
    return w;
  }

  private crashed(task: number, op: number, stack: string): void {
    if (this.crashes.has(task)) return;
    this.crashes.set(task, stack);
    this.report('CRASH', task, op, -1, [], `task ${task} crashed: ${stack.split('\n')[0]}`);
    this.stop('crash');
  }

  private async mainLoop(): Promise<void> {
    const { cfg, tune } = this;
    let nextStats = this.t0 + cfg.statIntervalMs;
    let nextEpoch = tune.epochMs > 0 ? this.t0 + tune.epochMs : Infinity;
    let nextLive = this.t0 + tune.liveCheckMs;
    let nextStutter = cfg.stutter ? this.t0 + tune.stutterRunMs : Infinity;
    let stutterUntil = 0;
    for (;;) {
      await this.sleep(TICK_MS);
      const now = nowMs();
      if (this.endReason && now >= this.stopAt) break;
      if (violationCount(this.shm) > 0 && !this.endReason) this.stop('violation', COLLECT_AFTER_VIOLATION_MS);

      // hung tasks and deadlocks: every tick, whatever else is going on
      this.scanHangs(now);
      if (this.endReason && now >= this.stopAt) break;

      if (cfg.durationMs > 0 && now - this.t0 >= cfg.durationMs) this.stop('duration');
      if (this.workers.every((w) => !w.alive || w.finished)) this.stop(cfg.ops > 0 ? 'ops' : 'crash');
      if (this.endReason && now >= this.stopAt) break;

      // stutter: all actors pause between operations, then the load comes back at once
      if (stutterUntil && now >= stutterUntil) {
        Atomics.store(this.shm.ctl, CTL.STUTTER, 0);
        Atomics.notify(this.shm.ctl, CTL.STUTTER);
        stutterUntil = 0;
        nextStutter = now + tune.stutterRunMs;
      } else if (!stutterUntil && now >= nextStutter && tune.stutterPauseMs > 0) {
        Atomics.store(this.shm.ctl, CTL.STUTTER, 1);
        stutterUntil = now + tune.stutterPauseMs;
        this.stutterStats.pauses++;
      }

      // checks keep to a bounded share of the run: an interval is at least CHECK_SPACING times what
      // the last check took (a million-page model's whole-state check takes about a second)
      if (!stutterUntil && now >= nextEpoch) {
        const pause = await this.quiescentEpoch();
        nextEpoch = nowMs() + Math.max(tune.epochMs, CHECK_SPACING * pause);
      } else if (now >= nextLive) {
        this.liveScan(now);
        const took = nowMs() - now;
        nextLive = nowMs() + Math.max(tune.liveCheckMs, CHECK_SPACING * took);
      }

      if (nowMs() >= nextStats) {
        this.emitStats();
        // stay on the grid, skipping slots a slow check made us miss
        while (nextStats <= nowMs() + cfg.statIntervalMs / 2) nextStats += cfg.statIntervalMs;
      }
    }
    if (Atomics.load(this.shm.ctl, CTL.STUTTER)) {
      Atomics.store(this.shm.ctl, CTL.STUTTER, 0);
      Atomics.notify(this.shm.ctl, CTL.STUTTER);
    }
  }

  /** Ask the actors to stop (the first reason given is the one reported). */
  private stop(reason: string, afterMs = 0): void {
    if (!this.endReason) {
      this.endReason = reason;
      this.stopAt = nowMs() + afterMs;
    } else this.stopAt = Math.min(this.stopAt, nowMs() + afterMs);
    this.poke();
  }

  /** Stop the actors, let them finish their operation, check the final state. */
  private async shutdown(): Promise<void> {
    const ctl = this.shm.ctl;
    Atomics.store(ctl, CTL.STOP, 1);
    for (const w of [CTL.EPOCH, CTL.STUTTER]) Atomics.notify(ctl, w);
    // A LOCK-WAKE reported by the owed wake-up accounting (src/locks/waitqueue.ts) names a sleeper
    // no wake-up is owed to: unless a later unlock happens to rescue it, it cannot finish its
    // operation, and waiting the hung bound for it only delayed the end of the run (by 2.5 s at
    // the matrix's --hung 2s: the slow mode of lock-waiters-cleared's time to detect). So once
    // every task still in its operation sleeps on a page lock (wqSleep), the wait ends after
    // LOST_WAKE_STOP_MS; a task still running gets the whole bound as before.
    const lostWake = violationReported(this.shm, 'LOCK-WAKE');
    const waitStart = nowMs();
    // a task that cannot finish its operation is hung: give it the hung bound (shorter when the
    // run already stops for a hang or a deadlock), with the watchdog still looking; a signal
    // means now: about a second, and a task still in its operation then is noted, not judged
    // (the run is INTERRUPTED, not FAILED)
    const bound = this.endReason === 'hung' || this.deadlocked || this.knownStuck || !this.watchdog ? 300
      : this.endReason === 'signal' ? SIGNAL_STOP_MS : this.cfg.hungMs + 500;
    const until = nowMs() + bound;
    while (this.workers.some((w) => w.alive && !w.finished) && nowMs() < until) {
      await this.sleep(TICK_MS);
      if (this.watchdog && this.endReason !== 'hung') this.scanHangs(nowMs());
      if (lostWake && nowMs() - waitStart >= LOST_WAKE_STOP_MS
        && this.workers.every((w) => !w.alive || w.finished || Atomics.load(this.shm.wqSleep, w.task) !== 0)) break;
    }
    const stuck = this.workers.filter((w) => w.alive && !w.finished);
    if (this.t0 === 0) {
      // stopped (a signal) before every worker had loaded: nothing ran, so nothing is hung
      if (stuck.length) this.notes.push(`the run was stopped before it started: ${stuck.length} worker(s) still loading`);
      return;
    }
    for (const w of stuck) {
      if (this.hung.some((h) => h.task === w.task)) continue;
      if (this.endReason === 'signal') {
        this.notes.push(`task ${w.task} (${this.roles[w.task]}) was still in its operation when the signal stopped the run (not judged: the run did not wait the hung bound)`);
        continue;
      }
      const f = hungFinding(this.shm, w.task, this.roles[w.task], this.watchdog ? this.watchdog.blockedMs(w.task, nowMs()) : 0);
      this.hung.push(f.report);
      this.notes.push(`still blocked when the run stopped: ${f.message}`);
    }
    this.stoppedAt = nowMs();
    this.emitStats(); // the last sample: the actors have stopped
    if (stuck.length === 0 && this.crashes.size === 0) this.checkQuiescent('final');
    else this.notes.push('final quiescent check skipped: not every actor finished its operation');
  }

  /** terminate() every worker still alive and wait (bounded) for each to exit. */
  private async terminateAll(): Promise<void> {
    const alive = this.workers.filter((w) => w.alive);
    for (const w of alive) {
      w.terminated = true;
      void w.worker.terminate().catch(() => undefined);
    }
    const all = Promise.all(alive.map((w) => w.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), TERMINATE_GRACE_MS)));
    if ((await Promise.race([all, late])) === 'late') {
      for (const w of this.workers.filter((x) => x.alive)) {
        w.worker.unref();
        this.notes.push(`worker of task ${w.task} did not exit within ${TERMINATE_GRACE_MS} ms of terminate()`);
      }
    }
    clearTimeout(timer);
  }

  // ---- checks -------------------------------------------------------------------------------

  private scanHangs(now: number): void {
    if (!this.watchdog) return;
    for (const f of this.watchdog.scan(now)) {
      this.hung.push(f.report);
      this.note('HUNG', f.report.task, f.report.op, f.report.waitPage, f.message);
      if (f.lostWakeup && !this.lostWake.has(f.report.task)) this.note('LOCK-WAKE', f.report.task, f.report.op, f.report.waitPage, f.lostWakeupMessage);
      this.stop('hung');
    }
    for (const w of this.lostWake.scan(now)) {
      this.report('LOCK-WAKE', w.task, w.op, w.page, [w.stuckMs, w.bit], w.message);
      this.knownStuck = true;
      this.stop('violation', COLLECT_AFTER_VIOLATION_MS);
    }
    for (const d of this.deadlocks.scan(now)) {
      const first = d.edges[0];
      const message = `${d.self ? selfWaitText(first) : `wait-for cycle of tasks ${d.tasks.join(' -> ')}`}: ${d.chain}`;
      this.report('DEADLOCK', first.task, Atomics.load(this.shm.opNo, first.task), first.page,
        d.edges.flatMap((e) => [e.task, e.page]).slice(0, 4), message);
      this.deadlocked = true;
      this.stop('violation', COLLECT_AFTER_VIOLATION_MS);
    }
  }

  private liveScan(now: number): void {
    // LOCK-WAITERS walks each bucket under its lock (buckets held right now are skipped, never
    // waited for): what it finds is exact, no re-validation needed
    for (const f of checkWaiters(this.shm)) this.reportFinding(f);
    const found = this.scenario.liveCheck?.(this.shm, this.cfg) ?? [];
    for (const f of this.live.scan(found, now)) this.reportFinding(f);
  }

  /** One periodic quiescent epoch: park everyone (bounded), check, release. Returns the pause (ms). */
  private async quiescentEpoch(): Promise<number> {
    const t = nowMs();
    this.epoch += 2;
    requestEpoch(this.shm.ctl, this.epoch);
    const ok = await this.waitParked(this.epoch, this.tune.epochTimeoutMs, false);
    if (ok) this.checkQuiescent('epoch');
    else this.epochStats.timedOut++;
    releaseEpoch(this.shm.ctl, this.epoch);
    const pause = nowMs() - t;
    this.epochStats.count++;
    this.epochStats.totalPauseMs += pause;
    this.epochStats.maxPauseMs = Math.max(this.epochStats.maxPauseMs, pause);
    return pause;
  }

  /**
   * Wait until every live actor is parked for `epoch`. Reads the count before the live set: the
   * count only grows and the live set only shrinks, and a counted actor stays parked until the
   * epoch ends, so count >= live means every live actor is parked.
   */
  private async waitParked(epoch: number, timeoutMs: number, all: boolean): Promise<boolean> {
    const ctl = this.shm.ctl;
    const until = nowMs() + timeoutMs;
    for (;;) {
      const parked = parkedFor(ctl, epoch);
      const live = this.workers.filter((w) => w.alive && Atomics.load(this.shm.taskState, w.task) !== TASK_DONE).length;
      if (parked >= (all ? this.actors : live) && (all || this.allParkedOrDone())) return true;
      if (this.endReason === 'crash' || this.endReason === 'signal' || nowMs() >= until) return false;
      if (!all && this.watchdog) this.scanHangs(nowMs());
      if (this.endReason === 'hung') return false;
      const w = Atomics.load(ctl, CTL.PARKED);
      const r = waitAsync(ctl, CTL.PARKED, w, all ? 50 : 5);
      if (r.async) await r.value;
    }
  }

  private allParkedOrDone(): boolean {
    for (let t = 0; t < this.actors; t++) {
      const s = Atomics.load(this.shm.taskState, t);
      if (s !== TASK_PARKED && s !== TASK_DONE) return false;
    }
    return true;
  }

  /** The whole-state checks, with every actor between operations. */
  private checkQuiescent(when: 'start' | 'epoch' | 'final'): void {
    const t = nowMs();
    const found = [...quiescentLockFindings(this.shm), ...(this.scenario.quiescentCheck?.(this.shm, this.cfg) ?? [])];
    this.epochStats.checkMs += nowMs() - t;
    this.epochStats.findings += found.length;
    const seen = new Set<string>();
    for (const f of found) {
      const k = `${f.id}:${f.page}`;
      if (seen.has(k)) continue; // the same fact found by two checks
      seen.add(k);
      this.reportFinding(f, when);
    }
  }

  private reportFinding(f: Finding, when?: string): void {
    const message = when ? `${f.message} (${when === 'epoch' ? 'quiescent epoch' : `${when} check`})` : f.message;
    this.report(f.id, -1, -1, f.page, f.values ?? [], message);
    if (!this.endReason) this.stop('violation', COLLECT_AFTER_VIOLATION_MS);
  }

  /** Report to the ring from the main thread, keeping the message for the result. */
  private report(id: InvariantId, task: number, op: number, page: number, values: number[], message: string): void {
    reportViolation(this.shm, id, task, op, page, values);
    this.note(id, task, op, page, message);
  }

  private note(id: InvariantId, task: number, op: number, page: number, message: string): void {
    const k = `${id}:${task}:${op}:${page}`;
    this.messages.set(k, [...(this.messages.get(k) ?? []), message]);
  }

  // ---- stats and result ---------------------------------------------------------------------

  private emitStats(): void {
    const s = this.sampler.sample(nowMs() - this.t0);
    const line = this.sampler.line(this.cfg.scenario, s);
    this.samples.push(s);
    this.hooks.onStats?.(s, line);
    this.hooks.onProgress?.(this.progress(s), s);
  }

  private progress(s: StatsSample): number {
    let f = 0;
    if (this.cfg.durationMs > 0) f = Math.max(f, s.t / this.cfg.durationMs);
    if (this.cfg.ops > 0) {
      const ops = Object.values(s.opsByRole).reduce((a, b) => a + b, 0);
      f = Math.max(f, ops / (this.cfg.ops * this.actors));
    }
    return Math.min(1, f);
  }

  /** Messages for the violation records of one result() (each queued message used once per call:
   * a checkpoint reads them again later). */
  private describer(): (r: ViolationRecord) => string {
    const used = new Map<string, number>();
    return (r) => {
      const k = `${r.id}:${r.task}:${r.op}:${r.page}`;
      const queued = this.messages.get(k), n = used.get(k) ?? 0;
      if (queued && n < queued.length) {
        used.set(k, n + 1);
        return queued[n];
      }
      return this.describe(r);
    };
  }

  private describe = (r: ViolationRecord): string => {
    if (r.id === 'CRASH' && this.crashes.has(r.task))
      return `task ${r.task} (${this.roles[r.task] ?? 'checker'}) crashed in op ${r.op}: ${this.crashes.get(r.task)}`;
    return violationMessage(this.shm, r, (t) => this.roles[t] ?? 'checker');
  };

  private result(): RunResult {
    const shm = this.shm;
    const git = gitInfo();
    // each keeps the records its report uses, not every task's whole ring
    const violations = readViolations(shm, this.describer()).map((v) => ({ ...v, flight: keptFlight(v) }));
    const tasks: TaskSummary[] = this.roles.map((role, task) => {
      const stats = taskStats(shm, task);
      return {
        task, role, ops: stats.ops, stats,
        waitHist: Array.from(shm.waitHist.subarray(task * HIST_BUCKETS, (task + 1) * HIST_BUCKETS)),
      };
    });
    const count = violationCount(shm);
    const notes = [...this.notes];
    if (count > VIOLATION_SLOTS) notes.push(`${count} violations reported; the first ${VIOLATION_SLOTS} are kept in full`);
    const rss = this.rss.summary();
    if (rss.warning) notes.push(rss.warning);
    const failed = count > 0 || this.hung.length > 0 || this.crashes.size > 0 || this.endReason === 'crash';
    const invariants = new Set<string>([...(this.scenario.invariants ?? []), ...ALWAYS_CHECKED]);
    if (this.cfg.lockdep) invariants.add('LOCK-ORDER');
    const e = this.epochStats;
    return {
      tool: { name: 'pagelock-stress', version: toolVersion(), commit: git.dirty ? `${git.commit}-dirty` : git.commit, node: process.version },
      runId: this.runId,
      config: this.cfg,
      mode: 'free',
      cores: this.cores,
      oversubscribed: this.actors > this.cores,
      memoryBytes: shm.layout.bytes,
      startedAt: this.startedAt.toISOString(),
      elapsedMs: this.t0 > 0 ? Math.round((this.stoppedAt || nowMs()) - this.t0) : 0,
      endReason: this.endReason || 'duration',
      outcome: failed ? 'FAILURE' : 'SUCCESS',
      // a signal cut the run short: not a PASS (src/report/result.ts endStateOf)
      endState: failed ? 'FAIL' : this.endReason === 'signal' ? 'INTERRUPTED' : 'PASS',
      invariantsChecked: [...invariants],
      violations,
      violationCount: count,
      hung: this.hung,
      tasks,
      samples: this.samples.values(),
      notes,
      extra: {
        epochs: {
          intervalMs: this.tune.epochMs, count: e.count, timedOut: e.timedOut,
          meanPauseMs: e.count ? +(e.totalPauseMs / e.count).toFixed(2) : 0, maxPauseMs: +e.maxPauseMs.toFixed(2),
          totalPauseMs: Math.round(e.totalPauseMs), checkMs: +e.checkMs.toFixed(2),
        },
        stutter: { enabled: this.cfg.stutter, pauses: this.stutterStats.pauses, runMs: this.tune.stutterRunMs, pauseMs: this.tune.stutterPauseMs },
        perturb: { level: this.cfg.perturb, rates: PERTURB_RATES[this.cfg.perturb] },
        workerStartMs: this.workerStartMs,
        // per actor that finished, where its wall time went (src/sched/free.ts FreeWall), ms
        wall: [...this.walls].sort(([a], [b]) => a - b).map(([task, w]) => ({ task, role: this.roles[task], ...w })),
        // exitCode null: the thread had not exited when the run returned (see notes)
        workers: this.workers.map((w) => ({ task: w.task, threadId: w.threadId, exitCode: w.exitCode, terminated: w.terminated })),
        roles: this.roles,
        rss,
        ...(this.cfg.lockdep ? { lockdep: lockdepSummary(shm, (t) => this.roles[t] ?? 'checker') } : {}),
        ...(this.scenario.summary ? { [this.scenario.name]: this.scenario.summary(shm, this.cfg) } : {}),
      },
    };
  }

  // ---- timing ---------------------------------------------------------------------------------

  /** Sleep up to `ms`; poke() (a message, an exit, an abort) ends it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private poke(): void {
    this.wake?.();
  }
}
