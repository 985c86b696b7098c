// The controlled driver: every actor of a scenario runs as a generator in ONE thread, over the same
// SharedArrayBuffer model and the same protocol code as free mode. At every schedule point a
// strategy picks which runnable actor takes its next step, so a seed (or a recorded list of
// choices) fixes the interleaving exactly.
//
// The driver's model of the effects protocol code yields (src/kernel/step.ts):
// - futexWait: the word is compared when the wait is issued, like a futex: a different value
//   returns 'not-equal' at once; otherwise the actor blocks until a futexWake on the same word, or
//   until its timeout passes on the virtual clock ('timed-out').
// - futexWake: releases up to `count` actors blocked on that word, in the order they blocked.
// - NOW: the virtual clock, which advances STEP_NS per step and jumps to the next timeout when
//   nothing else can run.
//
// A step is one resume of an actor: from the schedule point it is paused at (the step named by
// that label runs) to its next schedule point, with effects handled in between. Starting an
// operation is a step of its own, so "every actor between operations" is a state the driver sees.
//
// Detection: the inline assertions of the protocol code (the violation ring), LOCK-LEAK at the end
// of every operation, the scenario's whole-state checks whenever every actor is between operations
// and at the end, DEADLOCK when nothing can run but some actor has not finished (with the wait-for
// chain), HUNG when an iteration exceeds its step bound (a livelock, or a spin nobody ends) or one
// step yields STEP_EFFECT_BUDGET effects without a schedule point (a step that never yields at all
// is caught from outside the thread: src/run/explore-parallel.ts). The
// driver knows no pages: what a blocked actor waits on, the LOCK-LEAK check, the DEADLOCK and HUNG
// explanations and the violation message come from the observer (src/check/observer.ts).
//
// Signal events: a scenario that says so (Scenario.signalEvents) gets fatal signals from outside
// its actors as scheduler choices. At every decision, before choosing an actor, the driver asks
// the strategy (Strategy.signal) whether a SIGKILL arrives now for one of the actors in a killable
// wait with none pending; if so it is sent exactly as a task would send it (sendFatalSignal: the
// fatal word, then signal_wake_up), as a step of its own, and the decision is recorded as
// SIGNAL(victim). So a signal can land between any two schedule points of a killable wait, placed
// by the strategy, instead of only where a sender actor's own steps happen to fall.
import { CTL, type ShmSizes } from '../shm/layout.ts';
import { Shm, TASK_DONE, TASK_RUNNING, TASK_WAITING } from '../shm/shm.ts';
import { attachLockdep } from '../check/lockdep.ts';
import { pageObserver } from '../check/observer.ts';
import { initShm } from '../shm/init.ts';
import { LabelTable } from '../shm/labels.ts';
import type { ActorState, ActorsView, DriverObserver, Violation } from '../kernel/observer.ts';
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import { configVariants, kernelOps } from '../variants/index.ts';
import type { Rng } from '../kernel/rng.ts';
import type { Effect, FutexWait, Step, Yielded } from '../kernel/step.ts';
import { Task } from '../kernel/task.ts';
import { signalChoice, type SchedView, type Strategy } from './strategies/strategy.ts';
import { WQ_TASK_KILLABLE, sendFatalSignal } from '../locks/waitqueue.ts';

/** Virtual nanoseconds per step. */
export const STEP_NS = 100;
/** Default step bound per iteration (shuttle fails after 1,000,000 steps; ours are coarser). */
export const DEFAULT_MAX_STEPS = 200_000;
/** Effects one step may yield before its next schedule point: beyond it the step is HUNG (a loop
 * of effects, e.g. futex waits that return 'not-equal', with no schedule point in it). A loop
 * with no yield at all cannot be seen from inside the thread: the explorer's heartbeat catches
 * it (src/run/explore-parallel.ts). */
export const STEP_EFFECT_BUDGET = 1_000_000;

/** What was found in one iteration (the one shape both modes report: src/kernel/observer.ts). */
export type { Violation };

/** One row of an interleaving: the step `label` of `task` ran (page/aux as the code set them). */
export interface TraceEvent {
  step: number;
  task: number;
  /** the schedule point's label, or '(op start)', '(woken)', '(timed out)' */
  label: string;
  page: number;
  aux: number;
  op: number;
  /** what else happened in the step: 'sleeps on …', 'wakes T2', the op's description */
  note: string;
}

export interface IterationResult {
  violation: Violation | null;
  /** the step (1-based) in which the violation was detected (0 = none; steps+1 = after the end) */
  violationStep: number;
  steps: number;
  decisions: number;
  /** the choice made at each decision (actor ids); valid until the next iteration */
  schedule: Int32Array;
  /** the chosen actor's operation number at each decision (shrinking drops an op's decisions) */
  scheduleOps: Int32Array;
  /** steps taken by a different actor than the step before */
  switches: number;
  /** operations completed per actor */
  opsDone: number[];
  trace: TraceEvent[] | null;
  /** virtual clock at the end, ns */
  clockNs: number;
}

export interface IterationInput {
  /** the operations of each actor, in order (an empty list = the actor does nothing) */
  ops: Op[][];
  strategy: Strategy;
  /** the iteration's schedule stream (handed to the strategy) */
  rng: Rng;
  /** where signal events arrive (handed to the strategy; without it the strategies place none) */
  signalRng?: Rng;
  maxSteps?: number;
  /** collect a TraceEvent per step (replay --trace, diagrams); off while exploring */
  trace?: boolean;
}

// actor states
const BETWEEN = 0; // between operations (runnable: its next step starts an op)
const RUNNING = 1; // inside an operation, runnable
const BLOCKED = 2; // in futexWait
const DONE = 3; // all operations done
const STATE_NAMES: readonly ActorState[] = ['between', 'running', 'blocked', 'done'];

export function describeOp(op: Op): string {
  return `${op.kind}(${op.args.join(', ')})`;
}

export interface ControlledSetup {
  scenario: Scenario;
  cfg: RunConfig;
  lock: PageLock;
  /** flight-recorder entries per task (violation snapshots); default 64 */
  flightEntries?: number;
  /** what the driver asks about pages (default: src/check/observer.ts) */
  observer?: (shm: Shm) => DriverObserver;
}

export class ControlledDriver implements SchedView {
  readonly scenario: Scenario;
  readonly cfg: RunConfig;
  readonly roles: string[];
  readonly actors: number;
  readonly shm: Shm;
  readonly tasks: Task[];
  readonly spin: Int32Array;
  /** the scenario has signal events (Scenario.signalEvents) */
  readonly signalEvents: boolean;

  private readonly observer: DriverObserver;
  /** the actors as the observer's explanations see them */
  private readonly view: ActorsView;
  private readonly roleOf: (task: number) => string;
  private readonly labelTable: LabelTable;

  // per-actor state, reused across iterations
  private readonly state: Int8Array;
  private readonly opNo: Int32Array;
  private readonly gens: (Step<void> | null)[];
  private readonly sendVal: unknown[];
  private readonly waitWord: Float64Array; // global word index the actor sleeps on
  private readonly waitOn: (FutexWait | null)[];
  private readonly blockSeq: Float64Array;
  private readonly deadline: Float64Array;
  private readonly atLabel: string[]; // the schedule point each actor is paused at
  private readonly atPage: Int32Array;
  private readonly atAux: Int32Array;
  private readonly prevLabel: string[];
  private readonly prevPage: Int32Array;
  private readonly prevAux: Int32Array;
  private readonly runnable: Int32Array;
  private nRunnable = 0;
  /** the actors a signal event may hit now (in a killable wait, no fatal signal pending) */
  private readonly signalable: Int32Array;
  /** each actor's wait-entry flags at the last decision (signal events: what changed since) */
  private readonly seenWq: Int32Array;
  /** sends the signal events: the task slot after the actors (the checker's slot in free mode) */
  private readonly outside: Task;
  /** a heartbeat another thread watches (src/sched/explore.ts BEAT: steps, actor, iteration, op) */
  beat: Int32Array | null = null;
  /** told each time an actor reaches a schedule point (its operation number, the label, t.aux):
   * a strategy that follows a recorded interleaving by its points (src/sched/anchored.ts) counts
   * them. Null: not called. */
  onReach: ((actor: number, op: number, label: string, aux: number) => void) | null = null;
  private schedBuf = new Int32Array(1024);
  private schedOps = new Int32Array(1024);

  // per-iteration
  private clock = 0;
  private seq = 0;
  private nextDeadline = Infinity;
  private ops: Op[][] = [];
  private trace: TraceEvent[] | null = null;
  private ev: TraceEvent | null = null;
  private pendingViolation: Violation | null = null;
  private opsSinceCheck = 0;

  constructor(setup: ControlledSetup) {
    const { scenario, cfg, lock } = setup;
    this.scenario = scenario;
    this.cfg = cfg;
    this.roles = scenario.roles(cfg);
    const n = (this.actors = this.roles.length);
    const sizes: ShmSizes = {
      ...scenario.sizes(cfg),
      tasks: n + 1, // actors plus the checker's slot, as in free mode
      flightEntries: setup.flightEntries ?? 64,
      violationSlots: 4,
    };
    this.shm = new Shm(sizes);
    initShm(this.shm);
    this.observer = (setup.observer ?? pageObserver)(this.shm);
    this.roleOf = (t) => this.roles[t] ?? 'checker';
    this.view = this.actorsView();
    this.labelTable = new LabelTable(this.shm);
    const options = { ...cfg.extra, unfairness: cfg.unfairness };
    this.tasks = [];
    const ops = kernelOps({ lock, variants: configVariants(cfg) });
    for (let id = 0; id < n; id++) this.tasks.push(new Task({ id, shm: this.shm, ops, options, labels: this.labelTable }));
    this.spin = new Int32Array(n);
    this.signalEvents = scenario.signalEvents?.(cfg) ?? false;
    this.signalable = new Int32Array(n);
    this.seenWq = new Int32Array(n);
    this.outside = new Task({ id: n, shm: this.shm, ops, options, labels: this.labelTable });
    this.state = new Int8Array(n);
    this.opNo = new Int32Array(n);
    this.gens = new Array(n).fill(null);
    this.sendVal = new Array(n).fill(undefined);
    this.waitWord = new Float64Array(n);
    this.waitOn = new Array(n).fill(null);
    this.blockSeq = new Float64Array(n);
    this.deadline = new Float64Array(n);
    this.atLabel = new Array(n).fill('');
    this.atPage = new Int32Array(n);
    this.atAux = new Int32Array(n);
    this.prevLabel = new Array(n).fill('');
    this.prevPage = new Int32Array(n);
    this.prevAux = new Int32Array(n);
    this.runnable = new Int32Array(n);
  }

  /** The operation number actor a is in (or will start next; its op count once done). */
  opOf(a: number): number {
    return this.opNo[a];
  }

  /** The operations each actor does, from the scenario's op stream: a pure function of
   * (seed, task, opNo). */
  static opsFor(scenario: Scenario, cfg: RunConfig, seed: string, opsPerActor: number, rngFor: (seed: string, task: number, op: number) => Rng,
    roles: readonly string[] = scenario.roles(cfg)): Op[][] {
    return roles.map((role, task) => {
      const out: Op[] = [];
      for (let i = 0; i < opsPerActor; i++) out.push(scenario.nextOp(role, rngFor(seed, task, i), cfg, task));
      return out;
    });
  }

  /** Fresh model for a new iteration: initShm + the scenario's init, label table kept. */
  private reset(): void {
    const shm = this.shm;
    initShm(shm, { keepLabels: true });
    // the label table outlives iterations (the tasks' LabelTable caches its ids, and every label
    // in this model is interned through it): its region is not zeroed, and its slots are written
    // back (what a zeroed region would need; here it rewrites the same words)
    this.labelTable.restore();
    this.observer.reset();
    this.scenario.init(shm, this.cfg);
  }

  runIteration(input: IterationInput): IterationResult {
    const n = this.actors;
    if (input.ops.length !== n) throw new RangeError(`ops for ${input.ops.length} actors, scenario has ${n}`);
    this.reset();
    this.ops = input.ops;
    this.clock = 0;
    this.seq = 0;
    this.nextDeadline = Infinity;
    this.pendingViolation = null;
    this.opsSinceCheck = 0;
    this.trace = input.trace ? [] : null;
    this.ev = null;
    for (let a = 0; a < n; a++) {
      this.state[a] = input.ops[a].length ? BETWEEN : DONE;
      this.opNo[a] = 0;
      this.gens[a] = null;
      this.sendVal[a] = undefined;
      this.waitOn[a] = null;
      this.deadline[a] = Infinity;
      this.atLabel[a] = '';
      this.atPage[a] = -1;
      this.atAux[a] = 0;
      this.prevLabel[a] = '';
      this.spin[a] = 0;
      const t = this.tasks[a];
      t.page = -1;
      t.aux = 0;
      t.op = 0;
      // lockdep's per-task state caches what it saw in the (now wiped) graph: a fresh one
      if (this.cfg.lockdep) attachLockdep(t);
      this.shm.role[a] = a;
    }
    this.rebuildRunnable();
    const strategy = input.strategy;
    strategy.begin(this, input.rng, this.signalEvents ? input.signalRng : undefined);
    this.seenWq.fill(0);
    const signals = this.signalEvents && strategy.signal !== undefined;
    const maxSteps = input.maxSteps ?? DEFAULT_MAX_STEPS;
    const ctl = this.shm.ctl;
    const runnable = this.runnable;
    let steps = 0;
    let decisions = 0;
    let switches = 0;
    let cur = -1;
    let violation: Violation | null = null;
    let violationStep = 0;

    for (;;) {
      let a: number;
      const nr = this.nRunnable;
      const victim = nr >= 2 && signals ? this.signalVictim(strategy) : -1;
      if (victim >= 0) {
        // a signal event: a step of its own, not an actor's (cur and the switches stay as they are)
        if (decisions === this.schedBuf.length) this.growSchedule();
        this.schedOps[decisions] = this.opNo[victim];
        this.schedBuf[decisions++] = signalChoice(victim);
        steps++;
        this.clock += STEP_NS;
        this.deliverSignal(victim, steps);
        a = -1;
      } else if (nr >= 2) {
        a = strategy.choose(runnable, nr, cur);
        if (decisions === this.schedBuf.length) this.growSchedule();
        this.schedOps[decisions] = this.opNo[a];
        this.schedBuf[decisions++] = a;
      } else if (nr === 1) {
        a = runnable[0];
      } else if (this.wakeTimedOut()) {
        continue; // time jumped to the next timeout; someone can run again
      } else {
        if (!this.allDone()) {
          violation = this.observer.explainStuck(this.view, 'DEADLOCK', steps);
          violationStep = steps + 1; // after the last step: nothing could run
        }
        break;
      }
      if (victim < 0) {
        if (a !== cur && cur !== -1) switches++;
        cur = a;
        steps++;
        this.clock += STEP_NS;
        const beat = this.beat;
        if (beat !== null) {
          beat[0]++;
          beat[3] = this.opNo[a];
          beat[1] = a;
          this.stepActor(a, steps);
          beat[1] = -1;
        } else this.stepActor(a, steps);
      }
      if (ctl[CTL.VIOLATIONS] !== 0) {
        violation = this.fromRing();
        violationStep = steps;
        break;
      }
      if (this.pendingViolation !== null) {
        violation = this.pendingViolation;
        violationStep = steps;
        break;
      }
      if (this.clock >= this.nextDeadline) this.expireDeadlines();
      if (steps >= maxSteps) {
        violation = this.observer.explainStuck(this.view, 'HUNG', maxSteps);
        violationStep = steps;
        break;
      }
    }
    if (violation === null && this.opsSinceCheck > 0) {
      violation = this.quiescentCheck();
      if (violation) violationStep = steps + 1;
    }
    strategy.end(decisions);
    return {
      violation,
      violationStep,
      steps,
      decisions,
      schedule: this.schedBuf.subarray(0, decisions),
      scheduleOps: this.schedOps.subarray(0, decisions),
      switches,
      opsDone: Array.from(this.opNo),
      trace: this.trace,
      clockNs: this.clock,
    };
  }

  /** Ask the strategy whether a signal event comes now: the victim, or -1. The candidates whose
   * wait entry changed since the last decision (queued, woken, handed the lock: the moments a
   * signal races with) come first. */
  private signalVictim(strategy: Strategy): number {
    const shm = this.shm, c = this.signalable, seen = this.seenWq;
    let m = 0, fresh = 0;
    for (let a = 0; a < this.actors; a++) {
      const s = this.state[a];
      const f = Atomics.load(shm.wqFlags, a);
      const changed = f !== seen[a];
      seen[a] = f;
      // TASK_KILLABLE rides in the wait entry's flags from init_wait to the end of the wait
      // (src/locks/waitqueue.ts); a pending fatal signal is not sent twice
      if ((s !== RUNNING && s !== BLOCKED) || (f & WQ_TASK_KILLABLE) === 0 || Atomics.load(shm.fatal, a) !== 0) continue;
      if (changed) {
        c[m++] = c[fresh];
        c[fresh++] = a;
      } else c[m++] = a;
    }
    return m === 0 ? -1 : strategy.signal!(c, m, fresh);
  }

  /** A signal event: SIGKILL for actor v from outside the actors, sent as any task sends it
   * (sendFatalSignal: the fatal word, then signal_wake_up), all in this one step. */
  private deliverSignal(v: number, step: number): void {
    if (this.trace !== null) {
      this.ev = { step, task: v, label: '(SIGKILL)', page: this.atPage[v], aux: 0, op: this.opNo[v], note: 'a fatal signal from outside the tasks' };
      this.trace.push(this.ev);
    }
    const gen = sendFatalSignal(this.outside, v);
    for (let r = gen.next(); !r.done; r = gen.next()) {
      const y = r.value;
      if (typeof y === 'string') continue;
      if (y.kind !== 'wake') throw new Error(`sendFatalSignal yielded a '${y.kind}' effect`);
      this.futexWake(y.arr, y.index, y.count);
    }
  }

  private growSchedule(): void {
    const n = this.schedBuf.length * 2;
    const b = new Int32Array(n);
    b.set(this.schedBuf);
    this.schedBuf = b;
    const o = new Int32Array(n);
    o.set(this.schedOps);
    this.schedOps = o;
  }

  /** One step of actor a. */
  private stepActor(a: number, step: number): void {
    const t = this.tasks[a];
    let gen = this.gens[a];
    const tracing = this.trace !== null;
    if (tracing) {
      const label = gen === null ? '(op start)' : this.atLabel[a];
      this.ev = {
        step, task: a, label, page: gen === null ? -1 : this.atPage[a], aux: gen === null ? 0 : this.atAux[a],
        op: this.opNo[a], note: gen === null ? describeOp(this.ops[a][this.opNo[a]]) : '',
      };
      this.trace!.push(this.ev);
    }
    if (gen === null) {
      const op = this.ops[a][this.opNo[a]];
      t.op = this.opNo[a];
      t.page = -1;
      t.aux = 0;
      this.shm.opNo[a] = t.op;
      gen = this.scenario.runOp(t, this.roles[a], op, this.cfg);
      this.gens[a] = gen;
      this.state[a] = RUNNING;
    }
    let send = this.sendVal[a];
    this.sendVal[a] = undefined;
    for (let effects = 0; ; effects++) {
      if (effects >= STEP_EFFECT_BUDGET) {
        this.stepHung(a, effects);
        return;
      }
      let r: IteratorResult<Yielded, void>;
      try {
        r = gen.next(send);
      } catch (e) {
        this.crash(a, e);
        return;
      }
      if (r.done) {
        this.endOp(a);
        return;
      }
      const y = r.value;
      if (typeof y === 'string') {
        t.record(y);
        const page = t.page, aux = t.aux;
        // spin detection: the same point as one or two steps ago
        if ((y === this.prevLabel[a] && page === this.prevPage[a] && aux === this.prevAux[a])
          || (y === this.atLabel[a] && page === this.atPage[a] && aux === this.atAux[a])) this.spin[a]++;
        else this.spin[a] = 0;
        this.prevLabel[a] = this.atLabel[a];
        this.prevPage[a] = this.atPage[a];
        this.prevAux[a] = this.atAux[a];
        this.atLabel[a] = y;
        this.atPage[a] = page;
        this.atAux[a] = aux;
        if (this.onReach !== null) this.onReach(a, this.opNo[a], y, aux);
        return;
      }
      const e = y as Effect;
      if (e.kind === 'now') {
        send = this.clock;
      } else if (e.kind === 'wake') {
        this.futexWake(e.arr, e.index, e.count);
        send = undefined;
      } else if (Atomics.load(e.arr, e.index) !== e.expected) {
        send = 'not-equal';
      } else {
        this.block(a, e);
        return;
      }
    }
  }

  private wordOf(arr: Int32Array, index: number): number {
    return arr.byteOffset / 4 + index;
  }

  private block(a: number, e: FutexWait): void {
    // the task's state words say what it waits on, as in free mode
    this.observer.onBlock(this.tasks[a], e);
    this.shm.taskState[a] = TASK_WAITING;
    this.state[a] = BLOCKED;
    this.waitOn[a] = e;
    this.waitWord[a] = this.wordOf(e.arr, e.index);
    this.blockSeq[a] = this.seq++;
    this.deadline[a] = e.timeoutMs === Infinity ? Infinity : this.clock + Math.max(0, e.timeoutMs) * 1e6;
    if (this.deadline[a] < this.nextDeadline) this.nextDeadline = this.deadline[a];
    this.atLabel[a] = '(woken)';
    this.atPage[a] = this.tasks[a].page;
    this.atAux[a] = this.tasks[a].aux;
    this.spin[a] = 0;
    if (this.ev) this.note(`sleeps on ${this.wordName(e.arr, e.index)}`);
    this.rebuildRunnable();
  }

  private futexWake(arr: Int32Array, index: number, count: number): void {
    const word = this.wordOf(arr, index);
    const n = this.actors;
    let woken = 0;
    while (woken < count) {
      let pick = -1;
      for (let b = 0; b < n; b++)
        if (this.state[b] === BLOCKED && this.waitWord[b] === word && (pick < 0 || this.blockSeq[b] < this.blockSeq[pick])) pick = b;
      if (pick < 0) break;
      this.unblock(pick, 'ok');
      woken++;
      if (this.ev) this.note(`wakes T${pick}`);
    }
    if (woken > 0) this.rebuildRunnable();
  }

  private unblock(b: number, result: 'ok' | 'timed-out'): void {
    this.shm.taskState[b] = TASK_RUNNING;
    this.state[b] = RUNNING;
    this.waitOn[b] = null;
    this.sendVal[b] = result;
    this.deadline[b] = Infinity;
    this.atLabel[b] = result === 'ok' ? '(woken)' : '(timed out)';
  }

  /** Blocked actors whose timeout has passed return 'timed-out' (FIFO among equal deadlines). */
  private expireDeadlines(): void {
    let next = Infinity;
    let any = false;
    for (let b = 0; b < this.actors; b++) {
      if (this.state[b] !== BLOCKED) continue;
      if (this.deadline[b] <= this.clock) {
        this.unblock(b, 'timed-out');
        any = true;
      } else if (this.deadline[b] < next) next = this.deadline[b];
    }
    this.nextDeadline = next;
    if (any) this.rebuildRunnable();
  }

  /** Nothing can run: jump the clock to the earliest timeout. False if nobody has one. */
  private wakeTimedOut(): boolean {
    if (this.nextDeadline === Infinity) return false;
    this.clock = Math.max(this.clock, this.nextDeadline);
    this.expireDeadlines();
    return this.nRunnable > 0;
  }

  private endOp(a: number): void {
    this.gens[a] = null;
    this.observer.onOpEnd(this.tasks[a]); // LOCK-LEAK goes to the ring
    this.opNo[a]++;
    this.shm.heartbeat[a]++;
    this.opsSinceCheck++;
    this.state[a] = this.opNo[a] >= this.ops[a].length ? DONE : BETWEEN;
    if (this.state[a] === DONE) this.shm.taskState[a] = TASK_DONE;
    this.atLabel[a] = '';
    this.atPage[a] = -1;
    this.atAux[a] = 0;
    this.spin[a] = 0;
    if (this.state[a] === DONE) this.rebuildRunnable();
    if (this.pendingViolation === null && this.shm.ctl[CTL.VIOLATIONS] === 0 && this.allBetween()) {
      const v = this.quiescentCheck();
      if (v) this.pendingViolation = v;
    }
  }

  private crash(a: number, e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    const where = (err.stack ?? '').split('\n').slice(1).find((l) => l.includes('/src/')) ?? '';
    this.pendingViolation = {
      id: 'CRASH', task: a, op: this.opNo[a], page: this.tasks[a].page, values: [],
      message: `task ${a} (${this.roles[a]}) threw in op ${this.opNo[a]}: ${err.message}${where ? ` (${where.trim()})` : ''}`,
    };
    this.gens[a] = null;
    this.state[a] = DONE;
    this.rebuildRunnable();
    if (this.ev) this.note(`throws: ${err.message}`);
  }

  /** A step that yielded STEP_EFFECT_BUDGET effects without reaching a schedule point. */
  private stepHung(a: number, effects: number): void {
    const from = this.atLabel[a] || '(op start)';
    this.pendingViolation = {
      id: 'HUNG', task: a, op: this.opNo[a], page: this.tasks[a].page, values: [],
      message: `${this.taskName(a)} yielded ${effects} effects in one step from '${from}' without reaching a schedule point (a loop with no schedule point in it)`,
    };
    this.gens[a] = null;
    this.state[a] = DONE;
    this.rebuildRunnable();
    if (this.ev) this.note(`no schedule point after ${effects} effects`);
  }

  private note(s: string): void {
    const ev = this.ev!;
    ev.note = ev.note ? `${ev.note}; ${s}` : s;
  }

  private rebuildRunnable(): void {
    let k = 0;
    for (let a = 0; a < this.actors; a++) {
      const s = this.state[a];
      if (s === BETWEEN || s === RUNNING) this.runnable[k++] = a;
    }
    this.nRunnable = k;
  }

  private allDone(): boolean {
    for (let a = 0; a < this.actors; a++) if (this.state[a] !== DONE) return false;
    return true;
  }

  private allBetween(): boolean {
    for (let a = 0; a < this.actors; a++) {
      const s = this.state[a];
      if (s !== BETWEEN && s !== DONE) return false;
    }
    return true;
  }

  private quiescentCheck(): Violation | null {
    this.opsSinceCheck = 0;
    const findings = this.scenario.quiescentCheck?.(this.shm, this.cfg) ?? [];
    if (findings.length === 0) return null;
    const f = findings[0];
    return { id: f.id, task: -1, op: -1, page: f.page, values: f.values ?? [], message: f.message };
  }

  private fromRing(): Violation {
    return this.observer.describe(this.roleOf)
      ?? { id: 'CRASH', task: -1, op: -1, page: -1, values: [], message: 'violation counted but not readable' };
  }

  /** Name a futex word by the region it lives in ("wqFlags[2]", "flags[5]"). */
  wordName(arr: Int32Array, index: number): string {
    const word = this.wordOf(arr, index);
    for (const r of this.shm.layout.regions)
      if (word >= r.offset && word < r.offset + r.length) return `${r.name}[${word - r.offset}]`;
    return `word ${word}`;
  }

  private taskName(a: number): string {
    return `T${a} (${this.roles[a]}, op ${this.opNo[a]}${this.opNo[a] < this.ops[a].length ? ` ${describeOp(this.ops[a][this.opNo[a]])}` : ''})`;
  }

  private actorsView(): ActorsView {
    return {
      actors: this.actors,
      actorState: (a) => STATE_NAMES[this.state[a]],
      actorName: (a) => this.taskName(a),
      actorOp: (a) => this.opNo[a],
      sleepsOn: (a) => {
        const e = this.waitOn[a];
        return e ? this.wordName(e.arr, e.index) : '?';
      },
      pointLabel: (a) => this.atLabel[a],
      pointPage: (a) => this.atPage[a],
      pointRepeats: (a) => this.spin[a],
    };
  }
}
