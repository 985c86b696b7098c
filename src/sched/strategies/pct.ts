// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010):
// give the n actors random distinct priorities, pick d-1 change points among the k decisions, always
// run the highest-priority runnable actor, and at the i-th change point drop the running actor's
// priority to i, below every initial priority. A bug of depth d is then hit with probability at
// least 1/(n * k^(d-1)) per iteration.
//
// k is not known up front: as shuttle's pct.rs does, the first iteration runs oldest-actor-first
// (no change points) only to measure it, and later iterations use the largest count seen.
//
// Two additions keep PCT usable on lock code with spin loops (the bucket spinlock): an actor that
// keeps yielding the same point while a lower-priority actor holds what it spins on would spin
// until the step bound, so a spinning actor steps aside (the highest-priority actor that is not
// spinning runs; not a change point) until its spin ends, and then has its priority again. It
// used to be demoted below everyone for the rest of the iteration: on lock code every contended
// spinlock then reshuffled the priorities for good, and a waiter that once spun could never
// again overtake anyone (locks/busted-unfair, the unbounded-unfairness mutant, went from never
// found to found within 70 iterations: docs/strategies.md); and after many more decisions than k the iteration falls back to a fair random walk
// (Coyote's fair-prioritization), so a long iteration always ends.
//
// Signal events (Strategy.signal) are placed the way PCT places its change points: one signal
// point per iteration, a decision drawn uniformly in [1, k] from the signal stream; at that
// decision, if some actor is in a killable wait, one of them (uniformly) gets a fatal signal. A
// window that needs a signal between two given steps is one more ordering constraint: PCT hits it
// with probability about 1/k, where a signal sent by an actor needs that actor's priority to fall
// exactly there.
import type { Rng } from '../../kernel/rng.ts';
import type { SchedView, Strategy } from './strategy.ts';

/** spin steps after which a spinning actor steps aside (PCT, bounded and replay schedules) */
export const SPIN_DEMOTE = 3;

export class PctStrategy implements Strategy {
  readonly name: string;
  /** largest number of decisions seen in one iteration (the k of the bound) */
  k = 0;
  /** most actors seen in one iteration (the n of the bound) */
  n = 0;
  private measured = false;
  private prio = new Int32Array(0);
  private readonly changeAt: number[] = [];
  private nextChange = 0;
  private decision = 0;
  private fairAfter = Infinity;
  private view!: SchedView;
  private r!: Rng;
  private s: Rng | null = null;
  /** the decision at which a signal event may arrive (0: none this iteration) */
  private signalAt = 0;
  /** an iteration had a signal stream (the scenario has signal events): describe() says so */
  private signals = false;

  constructor(readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be an integer >= 1, got ${depth}`);
    this.name = `pct(d=${depth})`;
  }

  begin(view: SchedView, r: Rng, signals?: Rng): void {
    this.view = view;
    this.r = r;
    this.s = signals ?? null;
    this.signalAt = 0;
    if (signals) this.signals = true;
    const n = view.actors;
    this.n = Math.max(this.n, n);
    if (this.prio.length < n) this.prio = new Int32Array(n);
    const d = this.depth;
    this.decision = 0;
    this.nextChange = 0;
    this.changeAt.length = 0;
    if (!this.measured) {
      // oldest actor first: the lowest id has the highest priority
      for (let i = 0; i < n; i++) this.prio[i] = d + n - 1 - i;
      this.fairAfter = Infinity;
      return;
    }
    // random distinct priorities d .. d+n-1 (Fisher-Yates)
    for (let i = 0; i < n; i++) this.prio[i] = d + i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const x = this.prio[i];
      this.prio[i] = this.prio[j];
      this.prio[j] = x;
    }
    // min(d-1, k-1) distinct change points in [1, k] (as shuttle does)
    const k = Math.max(1, this.k);
    const want = Math.min(d - 1, k - 1);
    while (this.changeAt.length < want) {
      const c = 1 + Math.floor(r() * k);
      if (!this.changeAt.includes(c)) this.changeAt.push(c);
    }
    this.changeAt.sort((a, b) => a - b);
    this.fairAfter = 4 * k + 1000;
    // from its own stream, so the priorities and change points above are what they were without it
    if (signals) this.signalAt = 1 + Math.floor(signals() * k);
  }

  signal(candidates: Int32Array, m: number): number {
    // asked before the choice of decision this.decision + 1; after a signal the driver asks again
    // at the same decision, and gets -1
    if (this.signalAt === 0 || this.decision + 1 !== this.signalAt) return -1;
    this.signalAt = 0;
    return candidates[Math.floor(this.s!() * m)];
  }

  choose(runnable: Int32Array, n: number): number {
    const prio = this.prio;
    const dec = ++this.decision;
    if (dec > this.fairAfter) return runnable[Math.floor(this.r() * n)];
    let top = this.highest(runnable, n);
    if (this.nextChange < this.changeAt.length && dec === this.changeAt[this.nextChange]) {
      // the i-th change point (1-based) lowers the running actor's priority to i
      prio[top] = ++this.nextChange;
      top = this.highest(runnable, n);
    }
    if (this.view.spin[top] >= SPIN_DEMOTE) top = this.highest(runnable, n, true);
    return top;
  }

  /** The highest-priority runnable actor; with `skipSpinners`, the highest that is not spinning
   * (a spinner when every runnable actor spins). */
  private highest(runnable: Int32Array, n: number, skipSpinners = false): number {
    const prio = this.prio, spin = this.view.spin;
    let top = -1;
    for (let i = 0; i < n; i++) {
      const a = runnable[i];
      if (skipSpinners && spin[a] >= SPIN_DEMOTE) continue;
      if (top < 0 || prio[a] > prio[top]) top = a;
    }
    return top >= 0 ? top : this.highest(runnable, n);
  }

  end(decisions: number): void {
    this.measured = true;
    if (decisions > this.k) this.k = decisions;
  }

  describe(confidence = 0.95): string {
    return pctBoundLine(this.depth, this.n, this.k, confidence) + (this.signals ? '; signal events: one signal point per iteration, a decision drawn uniformly in [1, k]' : '');
  }
}

/** PCT's lower bound on the chance that one iteration hits a bug of depth d. */
export function pctBound(depth: number, n: number, k: number): number {
  return 1 / (Math.max(1, n) * Math.pow(Math.max(1, k), depth - 1));
}

/** Iterations for the chance of at least one hit to reach `confidence` (ln(1-c) / ln(1-p)). */
export function iterationsFor(p: number, confidence = 0.95): number {
  if (p >= 1) return 1;
  return Math.ceil(Math.log(1 - confidence) / Math.log1p(-p));
}

export function pctBoundLine(depth: number, n: number, k: number, confidence = 0.95): string {
  const p = pctBound(depth, n, k);
  return `pct(d=${depth}): n=${n} actors, k=${k} decisions (largest seen), bound p >= 1/(n*k^(d-1)) = ${p.toPrecision(3)}`
    + ` per iteration; ${+(confidence * 100).toFixed(4)}% confidence for a depth-${depth} bug needs`
    + ` ${iterationsFor(p, confidence).toLocaleString('en-US')} iterations`;
}
