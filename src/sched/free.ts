// The free-running driver: runs one actor's operations on a real worker thread.
//
// A protocol generator yields schedule points (strings) and effects. Here a schedule point is
// recorded in the task's flight ring and is where seeded perturbation widens race windows; a wait
// effect becomes Atomics.wait, a wake Atomics.notify, 'now' the monotonic clock. After each
// operation the observer checks the task holds no page lock (LOCK-LEAK); between operations the
// driver beats its heartbeat and honours the run's control words: STOP, the --ops bound, stutter
// and quiescent epochs. What a waiting task waits on is the observer's to record
// (src/check/observer.ts): the driver knows no pages.
//
// Perturbation changes timing only: the operations (opRng) and everything the driver does with
// shared state are the same at every level.
import type { PerturbLevel, RunConfig } from '../kernel/config.ts';
import type { Scenario } from '../kernel/scenario.ts';
import { CTL } from '../shm/layout.ts';
import { TASK_DONE, TASK_PARKED, TASK_RUNNING, TASK_WAITING } from '../shm/shm.ts';
import { OpStream, perturbRng, type Rng } from '../kernel/rng.ts';
import type { Effect, FutexWait, Step, WaitResult } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import type { DriverObserver } from '../kernel/observer.ts';
import { directOf, enterDirect, type DirectDriver, type Label } from '../kernel/direct.ts';
import { attachLockdep } from '../check/lockdep.ts';
import { SPIN_NAP_MS, spinlocksHeld } from '../locks/spinlock.ts';
import { PageObserver } from '../check/observer.ts';

/**
 * Perturbation at each schedule point, as probabilities per schedule point. At most one kind
 * fires per point (one draw decides). `hold` applies only while the task holds a page lock: it
 * stretches a critical section so waiters queue up behind it (locktorture's long_hold); a sleep
 * anywhere else lets another task run into the middle of a protocol step (a preemption).
 *
 *              spin             short sleep          long hold (lock held)
 *   low    1/64, <= 200 iter   1/4096, 20-200 us    1/4096, 0.2-1 ms
 *   high   1/8,  <= 2000 iter  1/256,  20-1000 us   1/256,  1-5 ms
 *
 * In expectation `low` costs about 0.1 us per schedule point (~10-20 % of a short operation) and
 * `high` about 10 us per point in a critical section; `off` costs one branch. What each level
 * does to detection is measured in the run reports (time and operations to the first violation).
 *
 * These are the rates of the generator path. The direct form's schedule points cost a fraction of
 * a generator resume (map-truncate runs 3-4x the operations per second), so a protocol window is
 * open for less time and a sleep that lands in it (a preemption: what lets the other side of a
 * race run inside it) comes 4x less often per second of window at the same rate per point. At
 * `low` (the default) the direct form sleeps DIRECT_SLEEP_SCALE times as often per point (1/1024);
 * spins and holds stay as they are, and so does `high` (it already sleeps 16x as often as `low`).
 * Chosen on patch4 (map-truncate, seeds 1-10): the median time to detect was best at 4x of 1x,
 * 4x and 16x, and 4x more sleeps than 1x did not lower the operations per second. The sleeps are
 * 20-50 % of a map-truncate actor's wall time (bench direct's wall table, load 14-18; spinners'
 * naps another 12-32 %, and polling the lock word 20 us before a nap ended only ~10 % of them), so
 * where the cores are idle they bound its operations per second. Tried against that, patch4 seeds
 * 1-10, two rounds each, alternated with 4x in the same minutes: 2x found slower (medians 0.63 /
 * 0.78 s against 0.33-0.49 s, load 10-14), and so did a busy-wait of the asked length instead of
 * the timed sleep, which has no timer slack (1.39 / 0.75 s against 1.25 / 0.26 s, load 19-25;
 * median operations to the find 110k / 64k against 55k / 54k).
 * Re-measured with more idle cores (2 cores, load 2.5-5), where 4x's sleeps leave the cores
 * partly idle: in 8 s map-truncate runs (`run --duration 8s`, two per scale) the actors sleep 34 %
 * of their time at 4x, 30 % at 3x, 25 % at 2x and 18 % at 1x, and the operations per second
 * follow (841-865k, 940-983k, 1,117-1,136k, 1,368-1,373k; CPU 1.53-1.63, 1.47-1.55, 1.33-1.39,
 * 1.21 s per million operations). But patch4, seeds 1-10, the scales rotated in the same minutes
 * (13 rounds of 4x and 2x, 10 of 3x and 1x; load 2.9-5.4), needs more operations at every smaller
 * scale, more than the extra operations per second pay for: median operations to the find 66k
 * (4x), 72.5k (3x), 89k (2x), 117.5k (1x); median time to detect over the rounds' medians 101,
 * 112, 127, 162 ms; median p90 158, 202, 225, 312 ms. The 40 known-bad free rows of map-truncate,
 * writeback and locks (matrix --budget 2m, 2-4 rounds per scale) are caught 40/40 at every scale,
 * detect-time sums 22.8-31.4 s (4x), 24.6-36.8 (3x), 21.4-25.2 (2x), 27.1-31.5 (1x): no signal.
 * So 4x stays; a smaller scale buys operations per second with detection.
 *
 * A sleep with a spinlock held (the PTL, an i_pages lock, a page_table_lock, the zone lock) stays
 * a sleep like any other. In the kernel a spinlock holder is not preempted (non-RT), so such a
 * sleep models a vCPU preemption at most, and every spinner waits behind it: the mapper takes
 * 25 % and the faulter 40 % of their sleeps under one (FreeWall.spinSleepMs), and the spinners'
 * naps add up to about three times that sleeping (several spinners behind one holder). But
 * patch4's window is under the PTL (filemap_map_pages() -> next_uptodate_page() -> do_set_pte()
 * while truncation deletes the page), so what it does to detection was measured, patch4 seeds
 * 1-10, alternated with this policy and with 0ed913c in the same minutes (load 2.4-6.3), only the
 * sleeps under a spinlock changed (the busy-wait tried before replaced every sleep, at load 19-25):
 * - a busy delay of the asked length (the holder keeps its core, no timer overshoot): no more
 *   operations per second (818k / 734k against 838k / 790k, load ~3), more CPU per operation
 *   (1.96 / 2.29 s per million against 1.66 / 1.87), and a longer tail to find patch4 (max over
 *   seeds 1-10 0.44-0.95 s in 4 rounds, against 0.22-0.57 s; median operations to the find
 *   80-94k against 50-104k);
 * - no sleep at all: 1.15x the operations per second (784k / 760k against 668k / 601k, load 3-4)
 *   but more operations to find patch4 (median 69-126k against 50-72k) and no faster to find it
 *   (medians 0.09-0.33 s against 0.06-0.22 s);
 * - a quarter of the asked length: the sleep barely shortens (~260 us for ~27 us asked at load ~6:
 *   the timer's floor).
 * So none found patch4 sooner, and neither did the longer spinner's nap tried beside them (see
 * wait()).
 */
export interface PerturbRates {
  spin: number;
  spinMaxIters: number;
  sleep: number;
  sleepUs: [number, number];
  hold: number;
  holdUs: [number, number];
}

export const PERTURB_RATES: Record<PerturbLevel, PerturbRates | null> = {
  off: null,
  low: { spin: 1 / 64, spinMaxIters: 200, sleep: 1 / 4096, sleepUs: [20, 200], hold: 1 / 4096, holdUs: [200, 1000] },
  high: { spin: 1 / 8, spinMaxIters: 2000, sleep: 1 / 256, sleepUs: [20, 1000], hold: 1 / 256, holdUs: [1000, 5000] },
};

/** How many times as often the direct form sleeps per schedule point as the generator path, at
 * --perturb low. */
export const DIRECT_SLEEP_SCALE = 4;

/** The rates a driver perturbs with: PERTURB_RATES, low's sleeps scaled for the direct form. */
export function perturbRates(level: PerturbLevel, direct: boolean): PerturbRates | null {
  const R = PERTURB_RATES[level] ?? null;
  return R && direct && level === 'low' ? { ...R, sleep: R.sleep * DIRECT_SLEEP_SCALE } : R;
}

/** The perturbation countdown with perturbation off: a count that runs out only after ~10^9
 * schedule points (then it is re-armed). A small integer, as every gap is: Infinity (a double)
 * made the countdown, decremented at every schedule point, a heap number written each time. */
const NO_PERTURB = 0x3fffffff;

/** Longest single Atomics.wait. A longer wait returns 'timed-out' early (a spurious wake-up the
 * protocol re-checks), so a blocked task still notices STOP and a terminate() lands quickly. */
export const WAIT_SLICE_MS = 50;

// ---- quiescent epochs --------------------------------------------------------------------
// The main thread makes CTL.EPOCH odd to ask every actor to park between operations, and even to
// release them. CTL.PARKED counts the actors parked for the current epoch, tagged with the epoch
// (tag << 16 | count), so an actor that saw an epoch that has already ended (it timed out) can
// never be counted in the next one: its compare-exchange fails on the tag.

export const epochTag = (epoch: number): number => (epoch >>> 1) & 0x7fff;

/** Main thread: reset the count for `epoch` (odd) and request it. */
export function requestEpoch(ctl: Int32Array, epoch: number): void {
  Atomics.store(ctl, CTL.PARKED, epochTag(epoch) << 16);
  Atomics.store(ctl, CTL.EPOCH, epoch);
}

/** Main thread: actors parked for `epoch`. */
export function parkedFor(ctl: Int32Array, epoch: number): number {
  const w = Atomics.load(ctl, CTL.PARKED);
  return w >>> 16 === epochTag(epoch) ? w & 0xffff : 0;
}

/** Main thread: end the epoch (even) and wake the parked actors. */
export function releaseEpoch(ctl: Int32Array, epoch: number): void {
  Atomics.store(ctl, CTL.EPOCH, epoch + 1);
  Atomics.notify(ctl, CTL.EPOCH);
}

/** Actor: count myself in for `epoch`; false if that epoch is no longer the one requested. */
function joinEpoch(ctl: Int32Array, epoch: number): boolean {
  for (;;) {
    const w = Atomics.load(ctl, CTL.PARKED);
    if (w >>> 16 !== epochTag(epoch) || Atomics.load(ctl, CTL.EPOCH) !== epoch) return false;
    if (Atomics.compareExchange(ctl, CTL.PARKED, w, w + 1) === w) return true;
  }
}

// ---- the driver --------------------------------------------------------------------------

export interface FreeActor {
  t: Task;
  scenario: Scenario;
  role: string;
  cfg: RunConfig;
  /** origin of the 'now' clock (process.hrtime.bigint() at run start), shared by all workers */
  clockBase?: bigint;
  /** what the driver asks about pages (default: src/check/observer.ts) */
  observer?: DriverObserver;
  /** run the protocol code's direct form where the build made one (default: directDefault()) */
  direct?: boolean;
}

/** The switch for the direct form (src/kernel/direct.ts): on unless PAGELOCK_DIRECT=off in the
 * environment (workers inherit it), to compare against the generators or to rule the direct form
 * out. Without a build that made direct forms (running from the sources) the generators run. */
export const DIRECT_ENV = 'PAGELOCK_DIRECT';
export function directDefault(): boolean {
  return process.env[DIRECT_ENV] !== 'off';
}

export interface FreeActorEnd {
  ops: number;
  /** 'stop': the run asked; 'ops': the --ops bound was reached */
  endedBy: 'stop' | 'ops';
  wall: FreeWall;
}

/**
 * Where an actor's wall time went, in ms from its first operation (after the start barrier) to its
 * end. The driver reads the clock only around what blocks (a perturbation sleep, a futex wait, a
 * park), never at a schedule point; the rest of the time (`totalMs` less the parts) the actor ran,
 * or was ready to run while the cores were busy with other threads.
 */
export interface FreeWall {
  totalMs: number;
  /** perturbation sleeps (a preemption), `sleeps` of them */
  sleepMs: number;
  sleeps: number;
  /** of those, the sleeps with a spinlock held (a preempted spinlock holder: its spinners nap) */
  spinSleepMs: number;
  spinSleeps: number;
  /** perturbation holds (a sleep with a page lock held: a long critical section) */
  holdMs: number;
  holds: number;
  /** spinners' naps: a spin_lock() whose holder has not let go sleeps on the lock word, SPIN_NAP_MS
   * or until the unlock wakes it (see wait()) */
  napMs: number;
  naps: number;
  /** every other futex wait: page locks, the wait-table bucket lock, mutexes, rw semaphores */
  waitMs: number;
  waits: number;
  /** parked between operations: quiescent epochs and stutter */
  parkMs: number;
}

const newWall = (): FreeWall => ({ totalMs: 0, sleepMs: 0, sleeps: 0, spinSleepMs: 0, spinSleeps: 0, holdMs: 0, holds: 0, napMs: 0, naps: 0, waitMs: 0, waits: 0, parkMs: 0 });

export class FreeDriver implements DirectDriver {
  // The fields the constructor sets are `declare`d, as Task's are (src/kernel/task.ts): a plain
  // declaration compiles (ES2022 class fields) to a property defined as undefined before the
  // constructor runs, so V8 tracks `t` as any object (a map check before each use of it at every
  // schedule point) and the perturbation countdown as any value (a tagged number, decremented at
  // every schedule point). Declared, each is created by its first assignment in the constructor.
  declare private readonly t: Task;
  /** run the direct form (when the scenario's runOp has one) */
  declare readonly direct: boolean;
  declare private readonly rates: PerturbRates | null;
  declare private readonly prng: Rng;
  declare private readonly clockBase: bigint;
  private readonly nap = new Int32Array(new SharedArrayBuffer(4)); // private word to sleep on
  declare private readonly observer: DriverObserver;
  private parkedEpoch = 0;
  private readonly wall = newWall();
  spinSink = 0;

  constructor(private readonly a: FreeActor) {
    this.t = a.t;
    this.direct = a.direct ?? directDefault();
    // the sleeps are scaled where the direct form runs (a build made one for the scenario)
    this.rates = perturbRates(a.cfg.perturb, this.direct && directOf(a.scenario.runOp) !== undefined);
    this.prng = perturbRng(a.cfg.seed, a.t.id);
    this.clockBase = a.clockBase ?? process.hrtime.bigint();
    this.observer = a.observer ?? new PageObserver(a.t.shm);
    this.untilPerturb = this.rates ? this.perturbGap(this.rates) : NO_PERTURB;
    if (a.cfg.lockdep) attachLockdep(a.t);
  }

  run(): FreeActorEnd {
    const { t, scenario, role, cfg } = this.a;
    const shm = t.shm, id = t.id;
    let opNo = 0;
    let endedBy: FreeActorEnd['endedBy'] = 'stop';
    const opStream = new OpStream(cfg.seed, id); // opRng(cfg.seed, id, opNo), seeded in place
    const direct = this.direct ? directOf(scenario.runOp) : undefined;
    const outer = direct ? enterDirect(this) : null;
    Atomics.store(shm.taskState, id, TASK_RUNNING);
    let t0 = 0;
    try {
      for (;; opNo++) {
        if (!this.betweenOps()) break;
        if (opNo === 0) {
          // the clock starts at the first operation: the start barrier (an epoch every actor parks
          // for until the last worker has loaded) is not the run's time
          t0 = performance.now();
          this.wall.parkMs = 0;
        }
        if (cfg.ops > 0 && opNo >= cfg.ops) {
          endedBy = 'ops';
          break;
        }
        const op = scenario.nextOp(role, opStream.at(opNo), cfg, id);
        t.op = opNo;
        t.page = -1;
        t.aux = 0;
        // opNo and heartbeat: this task's own words, plain stores (a locked RMW per operation
        // otherwise). Readers on other threads (watchdog, lostwake's once-per-operation report)
        // read them with Atomics.load: an aligned Int32 access is tear-free, and a task's next
        // atomic (its first schedule point's, or the wait entry's before it sleeps) orders them
        shm.opNo[id] = opNo;
        if (direct) direct.call(scenario, t, role, op, cfg);
        else this.drive(scenario.runOp(t, role, op, cfg));
        this.observer.onOpEnd(t);
        shm.heartbeat[id]++;
        t.stat('ops');
      }
    } finally {
      if (outer) enterDirect(outer);
    }
    Atomics.store(shm.taskState, id, TASK_DONE);
    this.wall.totalMs = t0 > 0 ? performance.now() - t0 : 0;
    return { ops: opNo, endedBy, wall: { ...this.wall } };
  }

  /** Run one protocol generator to its end on this thread. */
  drive<T>(gen: Step<T>): T {
    let send: unknown;
    for (;;) {
      const r = gen.next(send);
      if (r.done) return r.value;
      const y = r.value;
      send = undefined;
      if (typeof y === 'string') {
        this.t.record(y);
        if (--this.untilPerturb <= 0) this.perturb();
      } else send = this.effect(y);
    }
  }

  /** Run `f`'s direct form (an entry or any generator function of transformed code) on this
   * driver, or drive its generator when it has none. */
  call<T>(f: (...a: any[]) => Step<T>, self: unknown, ...args: unknown[]): T {
    const d = this.direct ? directOf(f) : undefined;
    if (!d) return this.drive(f.apply(self, args));
    const outer = enterDirect(this);
    try {
      return d.apply(self, args);
    } finally {
      enterDirect(outer);
    }
  }

  // ---- the direct form's driver (src/kernel/direct.ts) ----

  /** A schedule point of the direct form: the same flight record and perturbation as a yielded
   * label, the label's id cached at its call site. */
  point(l: Label): void {
    const t = this.t;
    if (l.tab !== t.labels) {
      l.tab = t.labels;
      l.id = t.labels.id(l.s);
    }
    t.recordId(l.id);
    if (--this.untilPerturb <= 0) this.perturb();
  }

  /** An effect: a wait becomes Atomics.wait, a wake Atomics.notify, 'now' the monotonic clock. */
  effect(y: Effect): unknown {
    if (y.kind === 'wait') return this.wait(y);
    if (y.kind === 'wake') {
      Atomics.notify(y.arr, y.index, y.count);
      return undefined;
    }
    return Number(process.hrtime.bigint() - this.clockBase);
  }

  /** A futex wait, in slices. The task's state words say what it waits on (watchdog, wait-for
   * graph): the observer records it. */
  private wait(e: FutexWait): WaitResult {
    const shm = this.t.shm, id = this.t.id;
    this.observer.onBlock(this.t, e);
    Atomics.store(shm.taskState, id, TASK_WAITING);
    const t0 = performance.now();
    // A spinner's nap stays SPIN_NAP_MS (the unlock wakes it sooner: src/locks/spinlock.ts). Tried:
    // a nap that lasts until the unlock's wake (a wait slice at most). map-truncate ran 1.11x the
    // operations per second (8 s runs, load 2.4-2.5: 850-855k against 761-768k) but found patch4
    // later: seeds 1-10, mean 0.119 / 0.124 s against 0.106-0.111 / 0.113 s, pooled median 0.105
    // against 0.090 s, 90th percentile 0.22-0.24 against 0.19-0.21 s (100-140 runs a side in two
    // series alternated with 0ed913c, load 2-5). A napper that takes the lock the moment it is
    // released changes which side of a race runs next.
    const r = Atomics.wait(e.arr, e.index, e.expected, Math.min(e.timeoutMs, WAIT_SLICE_MS));
    const ms = performance.now() - t0, w = this.wall;
    if (e.timeoutMs <= SPIN_NAP_MS) {
      w.napMs += ms;
      w.naps++;
    } else {
      w.waitMs += ms;
      w.waits++;
    }
    Atomics.store(shm.taskState, id, TASK_RUNNING);
    return r;
  }

  /**
   * Schedule points until the next perturbation. At most one kind fires per point, with
   * probability spin + sleep + hold together; rather than drawing at every point, the driver
   * draws the gap to the next point where one fires (geometric), so a schedule point costs one
   * decrement, and draws which kind only there: the same distribution, a draw per event instead
   * of per point.
   */
  declare private untilPerturb: number;
  private perturbGap(R: PerturbRates): number {
    const p = R.spin + R.sleep + R.hold;
    return 1 + Math.floor(Math.log(1 - this.prng()) / Math.log(1 - p));
  }

  private perturb(): void {
    const R = this.rates;
    if (R === null) {
      this.untilPerturb = NO_PERTURB; // --perturb off: ran out, re-armed
      return;
    }
    this.untilPerturb = this.perturbGap(R);
    const r = this.prng;
    let x = r() * (R.spin + R.sleep + R.hold);
    if ((x -= R.spin) < 0) {
      const n = 1 + Math.floor(r() * R.spinMaxIters);
      let s = 0;
      for (let i = 0; i < n; i++) s = (s + i) | 0;
      this.spinSink = s;
    } else if ((x -= R.sleep) < 0) {
      const ms = this.sleepUs(R.sleepUs[0] + r() * (R.sleepUs[1] - R.sleepUs[0]));
      this.wall.sleepMs += ms;
      this.wall.sleeps++;
      if (spinlocksHeld() > 0) {
        this.wall.spinSleepMs += ms;
        this.wall.spinSleeps++;
      }
    } else if ((x -= R.hold) < 0 && Atomics.load(this.t.shm.heldCount, this.t.id) > 0) {
      const ms = this.sleepUs(R.holdUs[0] + r() * (R.holdUs[1] - R.holdUs[0]));
      this.wall.holdMs += ms;
      this.wall.holds++;
    }
  }

  /** A perturbation's sleep. Atomics.wait with a timeout returns late (the timer slack, 50 us for
   * a normal thread, and the wake-up: a 20-200 us sleep takes ~80-320 us), and that lateness is
   * part of what the rates above were tuned with: asking for that much less, so sleeps last as
   * the table says, ran map-truncate 1.12x faster (load ~13) but found patch4 slower (median
   * 0.40 -> 0.72 s over seeds 1-10 twice, alternated, load ~14). Returns how long it took (ms). */
  private sleepUs(us: number): number {
    const t0 = performance.now();
    Atomics.wait(this.nap, 0, 0, us / 1000);
    return performance.now() - t0;
  }

  /** Honour STOP, epochs and stutter. Returns false when the task must stop. */
  private betweenOps(): boolean {
    const shm = this.t.shm, ctl = shm.ctl, id = this.t.id;
    for (;;) {
      if (Atomics.load(ctl, CTL.STOP) !== 0) return false;
      const e = Atomics.load(ctl, CTL.EPOCH);
      if ((e & 1) !== 0 && e !== this.parkedEpoch) {
        this.parkedEpoch = e; // counted or stale: either way, never again for this epoch
        if (joinEpoch(ctl, e)) {
          Atomics.store(shm.taskState, id, TASK_PARKED);
          const t0 = performance.now();
          Atomics.notify(ctl, CTL.PARKED); // the main thread waits (async) for the count to move
          while (Atomics.load(ctl, CTL.EPOCH) === e && Atomics.load(ctl, CTL.STOP) === 0)
            Atomics.wait(ctl, CTL.EPOCH, e, WAIT_SLICE_MS);
          this.wall.parkMs += performance.now() - t0;
          Atomics.store(shm.taskState, id, TASK_RUNNING);
        }
        continue;
      }
      if (Atomics.load(ctl, CTL.STUTTER) !== 0) {
        Atomics.store(shm.taskState, id, TASK_PARKED);
        const t0 = performance.now();
        // short slices: an epoch request or STOP during a stutter is seen within one slice
        Atomics.wait(ctl, CTL.STUTTER, 1, WAIT_SLICE_MS / 5);
        this.wall.parkMs += performance.now() - t0;
        Atomics.store(shm.taskState, id, TASK_RUNNING);
        continue;
      }
      return true;
    }
  }
}

export function runFreeActor(a: FreeActor): FreeActorEnd {
  return new FreeDriver(a).run();
}
