// Novelty-guided exploration: a greybox fuzzer over schedules (AFL's loop, applied to
// interleavings as in "Greybox fuzzing for concurrency testing", ASPLOS 2024, RFF, and PERIOD).
//
// Coverage is abstract state, observed at every decision: each actor's local state (the schedule
// point it is paused at, whether it is asleep, its wait entry's flags and whether it is queued,
// whether a fatal signal is pending while it is in a killable wait, and the lock and waiters bits
// of the page it is at), and every ordered pair of the local states of two actors at pages that
// share a wait-queue bucket (with whether they are at the same page). The measure is about the
// protocol, not the workload: a signal pending outside a killable wait only stays pending
// (signal_pending_state(TASK_KILLABLE) is what reads it), and two tasks at pages with different
// buckets do not meet in a page lock or its wait queue, so their pairs only multiplied the keys
// with each new workload (docs/strategies.md: in the locks/v4.14 cell's configuration Oleg's
// missed wake-up is found on 3 seeds of 5 within 30,000 iterations, before on 1). A pair says
// "this task is here while that one is there": for a lost wake-up, "a killable waiter woken while
// runnable, paused before its signal test, with another waiter asleep behind it" is one pair, and
// each step towards it (the waiter lost the race, the second waiter queued, slept, the unlock
// woke the first) is a pair not seen before, so the way there is kept one stage at a time instead
// of being drawn whole at random.
//
// The corpus keeps, for every decision at which an iteration reached a new key (up to NEW_MAX per
// iteration), an entry: the iteration's choices (signal events included), that decision, that key
// and the iteration whose operations it ran. An iteration either walks at random from the start
// (FRESH of them: new workloads, new first steps) or fuzzes an entry: of TOURNAMENT entries drawn,
// the one fuzzed the fewest times without a new key (an entry whose fuzzing stopped paying gives
// way to those not yet tried or still paying, as AFL++'s power schedules lower the energy of
// inputs fuzzed often for nothing), and among those the one whose key has been observed least
// often so far (a rare state: AFLFast's and FairFuzz's power schedules favour inputs that reach
// rare branches; the stages towards a deep bug stay rare, while a key every walk passes through
// soon has thousands of hits).
//
// Productivity (AFL's and Entropic's idea that energy goes where fuzzing pays): an entry's weight
// in the draw is its estimated chance that fuzzing it reaches a new key, squared, (wins + prior) /
// (fuzzes + 1), where the prior of an entry made by fuzzing another is that parent's estimate and
// the prior of a fresh walk's entry is PRIOR_FRESH. A find is a chain of entries, each made by
// fuzzing the one before (the cell's configuration: 2-8 entries, each fuzzed 1-3 times before it
// made the next); drawn uniformly, every step of the chain waited for a draw among thousands of
// entries. Weighted this way the lineages that keep reaching new states are drawn more often and
// the entries that stopped paying less, without naming any state (docs/strategies.md).
//
// It replays the entry's
// choices up to its decision (the cut), then, with probability PARK, parks one actor drawn at
// random for a log-uniform number of decisions (up to 2^PARK_LOG: the mutation "preempt a task
// here for a while", which a uniform walk makes exponentially unlikely), and walks at random.
// Signal events come as the random walk's do (swarmSignal) after the cut; before it, a recorded
// signal is replayed when its victim can take one.
//
// Deterministic for one explorer: what an iteration does is a function of the seed and of the
// iterations this explorer ran before it, in order. Parallel explorers (explore --threads N) each
// keep their own corpus over the iterations they claim, so their results depend on which explorer
// ran which iteration. Recorded schedules replay exactly either way (the choices are recorded).
import type { Rng } from '../../kernel/rng.ts';
import type { Shm } from '../../shm/shm.ts';
import { PG_locked, PG_waiters } from '../../shm/shm.ts';
import { FLIGHT_WORDS } from '../../shm/layout.ts';
import { WQ_TASK_KILLABLE, pageWaitQueue } from '../../locks/waitqueue.ts';
import type { SchedView, Strategy } from './strategy.ts';
import { SIGNAL_RATES, swarmSignal, swarmSignalText } from './random.ts';

/** Share of iterations that walk at random from the start (new workloads, new first steps). */
export const FRESH = 1 / 8;
/** Corpus entries drawn per pick; the one fuzzed the fewest times for nothing, then the one whose
 * key was observed least often, is fuzzed. */
export const TOURNAMENT = 3;
/** Decisions with a new key kept per iteration (each one a corpus entry). */
export const NEW_MAX = 16;
/** Share of fuzzed iterations that park one actor at the cut (measured on the minimal v4.14
 * workload, seeds 1-5: 0.25 and 0.5 found less, docs/strategies.md). */
export const PARK = 0.9;
/** A parked actor stays parked for up to 2^(PARK_LOG) decisions (log-uniform). */
export const PARK_LOG = 6;
/** Most corpus entries kept (the oldest are overwritten beyond it). */
export const CORPUS_MAX = 20_000;
/** The productivity estimate a fresh walk's entries start from (an entry made by fuzzing another
 * starts from its parent's estimate). */
export const PRIOR_FRESH = 1 / 4;
/** An entry's weight in the draw is its productivity estimate to this power (measured on the
 * locks/v4.14 cell's configuration, seeds 1-10: 1 found less than 2; 3, 4 and 6 no better). */
export const PRODUCTIVITY_POWER = 2;

interface Entry {
  choices: Int32Array;
  /** the decision at which its new coverage key was seen (the cut) */
  from: number;
  /** the iteration whose operations it ran */
  workload: number;
  /** the new coverage key it reached there (its rarity ranks it) */
  key: number;
  /** iterations that fuzzed it and reached no new key (fewest first) */
  fails: number;
  /** iterations that fuzzed it and reached a new key */
  wins: number;
  /** the productivity estimate before it was fuzzed (its parent's, or PRIOR_FRESH) */
  prior: number;
  /** its place in the corpus ring and in the weight tree */
  slot: number;
  /** the how-many-th entry kept (ties go to the newer) */
  seq: number;
}

/** The estimated chance that fuzzing `e` reaches a new key (Laplace's rule, from its prior). */
const productivity = (e: Entry): number => (e.wins + e.prior) / (e.wins + e.fails + 1);

const mix = (h: number, v: number): number => {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
};

/** The observations of each coverage key: an open-addressing table of int32 keys (linear
 * probing), instead of a Map and a Set, which cost an observation two or three hash lookups with
 * boxed numbers: the observation runs at every decision for every actor and every pair. */
export class KeyCounts {
  private keys = new Int32Array(1 << 12);
  /** observations; 0 marks an empty slot (every key present was observed at least once) */
  private counts = new Float64Array(1 << 12);
  private mask = (1 << 12) - 1;
  size = 0;

  private slot(key: number): number {
    const h = Math.imul(key, 0x85ebca6b);
    let i = (h ^ (h >>> 16)) & this.mask;
    while (this.counts[i] !== 0 && this.keys[i] !== key) i = (i + 1) & this.mask;
    return i;
  }

  /** One more observation of `key`; true when it is the first. */
  add(key: number): boolean {
    const i = this.slot(key);
    if (this.counts[i] !== 0) {
      this.counts[i]++;
      return false;
    }
    this.keys[i] = key;
    this.counts[i] = 1;
    if (++this.size * 2 > this.mask) this.grow();
    return true;
  }

  /** Observations of `key` so far (0: never). */
  get(key: number): number {
    return this.counts[this.slot(key)];
  }

  private grow(): void {
    const keys = this.keys, counts = this.counts;
    this.keys = new Int32Array(keys.length * 2);
    this.counts = new Float64Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    for (let i = 0; i < keys.length; i++) {
      if (counts[i] === 0) continue;
      const j = this.slot(keys[i]);
      this.keys[j] = keys[i];
      this.counts[j] = counts[i];
    }
  }
}

/** A Fenwick tree of non-negative weights: set one in O(log n), draw an index with probability
 * proportional to its weight in O(log n). */
export class WeightTree {
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private readonly top: number;
  constructor(readonly n: number) {
    this.t = new Float64Array(n + 1);
    this.v = new Float64Array(n);
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.top = top;
  }

  set(i: number, w: number): void {
    const d = w - this.v[i];
    if (d === 0) return;
    this.v[i] = w;
    for (let k = i + 1; k <= this.n; k += k & -k) this.t[k] += d;
  }

  total(): number {
    let s = 0;
    for (let k = this.n; k > 0; k -= k & -k) s += this.t[k];
    return s;
  }

  /** The index whose weight covers x in [0, total()): the first i with prefix(i + 1) > x. */
  find(x: number): number {
    let pos = 0;
    for (let step = this.top; step > 0; step >>= 1) {
      const nx = pos + step;
      if (nx <= this.n && this.t[nx] <= x) {
        pos = nx;
        x -= this.t[nx];
      }
    }
    // rounding can leave x at the very end: the last index with weight
    while (pos > 0 && (pos >= this.n || this.v[pos] === 0)) pos--;
    return pos;
  }
}

export class NoveltyStrategy implements Strategy {
  readonly name = 'novelty';
  private shm: Shm | null = null;
  private r!: Rng;
  private s: Rng | null = null;
  private rate = 0;
  private signals = false;
  /** observations of each coverage key (how rare a kept entry's new key is) */
  private readonly hits = new KeyCounts();
  /** the decisions of this iteration at which a new key appeared (the first key at each) */
  private readonly newAt = new Int32Array(NEW_MAX);
  private readonly newKeys = new Int32Array(NEW_MAX);
  private nNew = 0;
  /** a ring of CORPUS_MAX entries (the oldest overwritten), weighted in `weights` */
  private readonly corpus: Entry[] = [];
  private readonly weights = new WeightTree(CORPUS_MAX);
  private added = 0;
  /** the entry this iteration replays a prefix of (null: a fresh walk) */
  private parent: Entry | null = null;
  private cut = 0;
  private workloadOf = 0;
  private hooked = false;
  private parked = -1;
  private parkUntil = 0;
  private rec = new Int32Array(256);
  private j = 0;
  private observedAt = -1;
  private local = new Int32Array(0);
  private page = new Int32Array(0);
  /** the wait-queue bucket of the page each actor is at (-1: none) */
  private bucket = new Int32Array(0);
  /** iterations run, fresh walks among them, and iterations that added to the corpus */
  iterations = 0;
  fresh = 0;
  kept = 0;

  /** The iteration whose operations this one runs (ExploreOptions hook, before begin): the
   * parent's, or `iteration` itself for a fresh walk. `r` is this iteration's own pick stream. */
  workload(iteration: number, r: Rng): number {
    this.hooked = true;
    this.parent = null;
    this.workloadOf = iteration;
    if (this.corpus.length === 0 || r() < FRESH) return iteration;
    let best: Entry | null = null;
    const total = this.weights.total();
    for (let k = 0; k < TOURNAMENT; k++) {
      const e = this.corpus[this.weights.find(r() * total)];
      if (best === null || e.fails < best.fails || (e.fails === best.fails && (this.hits.get(e.key) < this.hits.get(best.key)
        || (this.hits.get(e.key) === this.hits.get(best.key) && e.seq > best.seq)))) best = e;
    }
    this.parent = best;
    this.cut = best!.from;
    this.workloadOf = best!.workload;
    return best!.workload;
  }

  begin(view: SchedView, r: Rng, signals?: Rng): void {
    this.shm = view.shm ?? null;
    if (this.local.length !== view.actors) {
      this.local = new Int32Array(view.actors);
      this.page = new Int32Array(view.actors);
      this.bucket = new Int32Array(view.actors);
    }
    this.r = r;
    this.s = signals ?? null;
    if (signals) this.signals = true;
    this.rate = signals ? SIGNAL_RATES[Math.floor(signals() * SIGNAL_RATES.length)] : 0;
    // a caller that did not ask for the workload (it gives the operations) draws the parent here
    if (!this.hooked) this.workload(0, r);
    this.hooked = false;
    this.j = 0;
    this.parked = -1;
    this.parkUntil = 0;
    this.observedAt = -1;
    this.nNew = 0;
    this.iterations++;
    if (this.parent === null) this.fresh++;
  }

  private replaying(): number {
    const p = this.parent;
    return p !== null && this.j < this.cut && this.j < p.choices.length ? p.choices[this.j] : Number.NaN;
  }

  private push(c: number): void {
    if (this.j === this.rec.length) {
      const b = new Int32Array(this.rec.length * 2);
      b.set(this.rec);
      this.rec = b;
    }
    this.rec[this.j++] = c;
  }

  signal(candidates: Int32Array, m: number, fresh: number): number {
    this.observe();
    const want = this.replaying();
    let v = -1;
    if (!Number.isNaN(want)) {
      if (want < 0) {
        const victim = -want - 1;
        for (let k = 0; k < m; k++) if (candidates[k] === victim) v = victim;
      }
    } else v = swarmSignal(this.s!, this.rate, candidates, m, fresh);
    if (v >= 0) this.push(-v - 1);
    return v;
  }

  choose(runnable: Int32Array, n: number): number {
    this.observe();
    const want = this.replaying();
    let a = -1;
    if (!Number.isNaN(want) && want >= 0) for (let k = 0; k < n; k++) if (runnable[k] === want) a = want;
    if (a < 0 && Number.isNaN(want) && this.j === this.cut && this.parked < 0 && this.r() < PARK) {
      // the mutation "preempt one task for a while": park one actor for a log-uniform number of
      // decisions from here
      this.parked = Math.floor(this.r() * this.local.length);
      this.parkUntil = this.j + 1 + Math.floor(this.r() * (2 << Math.floor(this.r() * PARK_LOG)));
    }
    if (a < 0 && this.parked >= 0 && this.j < this.parkUntil) {
      let k = Math.floor(this.r() * (n - 1));
      for (let x = 0; x < n; x++) {
        if (runnable[x] === this.parked) continue;
        if (k-- === 0) a = runnable[x];
      }
    }
    if (a < 0) a = runnable[Math.floor(this.r() * n)];
    this.push(a);
    return a;
  }

  /** The coverage keys of the state at this decision (once per decision). */
  private observe(): void {
    if (this.observedAt === this.j) return;
    this.observedAt = this.j;
    const shm = this.shm;
    if (shm === null) return;
    const n = this.local.length;
    const f = shm.flight, stride = shm.layout.flightStride, entries = shm.sizes.flightEntries;
    const pages = shm.sizes.pages;
    for (let a = 0; a < n; a++) {
      const base = a * stride;
      const w = f[base];
      let label = 0, pg = -1;
      if (w > 0) {
        const e = base + 1 + ((w - 1) % entries) * FLIGHT_WORDS;
        label = f[e + 1];
        pg = f[e + 2];
      }
      let h = mix(0x2545f491, label);
      h = mix(h, shm.taskState[a]); // running, asleep, done
      h = mix(h, shm.wqFlags[a]);
      h = mix(h, shm.wqLinked[a] ? 1 : 0);
      const atPage = pg >= 0 && pg < pages;
      // a pending fatal signal counts where it is read: in a killable wait
      h = mix(h, shm.fatal[a] && (shm.wqFlags[a] & WQ_TASK_KILLABLE) ? 1 : 0);
      h = mix(h, atPage ? shm.flags[pg] & (PG_locked | PG_waiters) : -1);
      this.local[a] = h;
      this.page[a] = pg;
      this.bucket[a] = atPage ? pageWaitQueue(shm, pg) : -1;
      this.cover(h);
    }
    // pairs of actors that can meet: at one page, or at pages whose waiters share a bucket
    for (let a = 0; a < n; a++) {
      if (this.bucket[a] < 0) continue;
      for (let b = 0; b < n; b++)
        if (a !== b && this.bucket[a] === this.bucket[b]) this.cover(mix(mix(this.local[a], this.local[b]), this.page[a] === this.page[b] ? 7 : 3));
    }
  }

  private cover(key: number): void {
    if (!this.hits.add(key)) return;
    if (this.nNew < NEW_MAX && (this.nNew === 0 || this.newAt[this.nNew - 1] !== this.j)) {
      this.newAt[this.nNew] = this.j;
      this.newKeys[this.nNew++] = key;
    }
  }

  private weigh(e: Entry): void {
    this.weights.set(e.slot, productivity(e) ** PRODUCTIVITY_POWER);
  }

  end(): void {
    const parent = this.parent;
    if (this.nNew === 0) {
      if (parent !== null) {
        parent.fails++;
        this.weigh(parent);
      }
      return;
    }
    if (parent !== null) {
      parent.wins++;
      this.weigh(parent);
    }
    this.kept++;
    // one entry per decision that reached something new, sharing the recorded choices; each
    // starts from its parent's productivity estimate (this win included)
    const prior = parent !== null ? productivity(parent) : PRIOR_FRESH;
    const choices = this.rec.slice(0, this.j);
    for (let k = 0; k < this.nNew; k++) {
      const slot = this.added % CORPUS_MAX;
      const e: Entry = { choices, from: this.newAt[k], key: this.newKeys[k], workload: this.workloadOf, fails: 0, wins: 0, prior, slot, seq: this.added++ };
      this.corpus[slot] = e;
      this.weigh(e);
    }
  }

  /** Coverage keys seen and corpus entries kept so far. */
  get states(): number {
    return this.hits.size;
  }

  get corpusSize(): number {
    return this.corpus.length;
  }

  describe(): string {
    return `novelty: corpus of schedules that reached new (task point, wait entry, page bits) pairs of tasks at one wait-queue bucket, drawn by how often fuzzing them paid, each fuzzed by replaying a prefix and walking at random`
      + ` (${this.hits.size} coverage keys; ${this.corpus.length} corpus entries from ${this.kept} of ${this.iterations} iterations; deterministic for one explorer only)`
      + `${this.signals ? ` (${swarmSignalText()})` : ''}`;
  }
}
