// Seeded randomness. Every stream is derived from the master seed by name, so the same seed gives
// the same streams in every driver and every thread. alea: ~10 ns a call, ~1 us to seed.
import seedrandom from 'seedrandom';

export interface Rng {
  /** uniform in [0, 1) */
  (): number;
  /** 32-bit signed integer */
  int32(): number;
}

export function rng(...parts: (string | number)[]): Rng {
  return seedrandom.alea(parts.join(':')) as unknown as Rng;
}

/** The stream that chooses task `task`'s operation number `op`: a pure function of its inputs,
 * so a task's work never depends on outcomes (a failed trylock, a lost race). */
export function opRng(seed: string | number, task: number, op: number): Rng {
  return new OpStream(seed, task).at(op);
}

// ---- op streams without the seeding cost ----------------------------------------------------
//
// Free mode draws a fresh op stream for every operation, and seeding seedrandom's alea costs more
// than most operations (the seed string joined, hashed three times by Mash, a closure and an
// object allocated: a third of a map-truncate task's time and much of its garbage). OpStream gives
// exactly the same numbers as rng(seed, 'op', task, op) (test/kernel/rng.test.ts), so op streams,
// recorded seeds and repro files are unchanged: it is Baagoe's alea and Mash as seedrandom has
// them (lib/alea.js), with the three Mash(' ') seeds and the first pass over the constant prefix
// `${seed}:op:${task}:` computed once per task, the per-op digits hashed from char codes, and one
// Rng per task reseeded in place (valid until the next at()).

const MASH_N0 = 0xefc8249d;
const TWO_M32 = 2.3283064365386963e-10; // 2^-32

/** Mash's state after hashing the char codes `cs[from..to)` from state n; what Mash returns is
 * mashOut() of it. */
function mash(n: number, cs: number[], from: number, to: number): number {
  for (let i = from; i < to; i++) {
    n += cs[i];
    let h = 0.02519603282416938 * n;
    n = h >>> 0;
    h -= n;
    h *= n;
    n = h >>> 0;
    h -= n;
    n += h * 0x100000000; // 2^32
  }
  return n;
}
const mashOut = (n: number): number => (n >>> 0) * TWO_M32;

// Alea's state after its three mash(' ') calls: constants.
const SPACE = [32];
const N1 = mash(MASH_N0, SPACE, 0, 1), N2 = mash(N1, SPACE, 0, 1), N3 = mash(N2, SPACE, 0, 1);
const M1 = mashOut(N1), M2 = mashOut(N2), M3 = mashOut(N3);

/** Mash's states after hashing char codes [from, to) of four strings at once, from st[0..3] (in
 * place). Mash is one chain of dependent floating-point steps per character (latency-bound, ~10 ns
 * a character): four independent chains interleaved take about the time of one (measured: 390 ns
 * of three passes for one seed string, 125 ns each four at a time). */
function mash4(st: Float64Array, a: number[], b: number[], c: number[], d: number[], from: number, to: number): void {
  let n0 = st[0], n1 = st[1], n2 = st[2], n3 = st[3];
  for (let i = from; i < to; i++) {
    n0 += a[i];
    n1 += b[i];
    n2 += c[i];
    n3 += d[i];
    let h0 = 0.02519603282416938 * n0, h1 = 0.02519603282416938 * n1, h2 = 0.02519603282416938 * n2, h3 = 0.02519603282416938 * n3;
    n0 = h0 >>> 0;
    n1 = h1 >>> 0;
    n2 = h2 >>> 0;
    n3 = h3 >>> 0;
    h0 -= n0;
    h1 -= n1;
    h2 -= n2;
    h3 -= n3;
    h0 *= n0;
    h1 *= n1;
    h2 *= n2;
    h3 *= n3;
    n0 = h0 >>> 0;
    n1 = h1 >>> 0;
    n2 = h2 >>> 0;
    n3 = h3 >>> 0;
    h0 -= n0;
    h1 -= n1;
    h2 -= n2;
    h3 -= n3;
    n0 += h0 * 0x100000000;
    n1 += h1 * 0x100000000;
    n2 += h2 * 0x100000000;
    n3 += h3 * 0x100000000;
  }
  st[0] = n0;
  st[1] = n1;
  st[2] = n2;
  st[3] = n3;
}

/** The number of decimal digits of a whole number. */
function digits(v: number): number {
  let len = 1;
  for (; v >= 10; v = (v - (v % 10)) / 10) len++;
  return len;
}

/** Write op's decimal digits into cs at [start, start + len). Exact: v - r is a multiple of 10. */
function writeDigits(cs: number[], start: number, len: number, op: number): void {
  for (let i = start + len - 1, v = op; i >= start; i--, v = (v - (v % 10)) / 10) cs[i] = 48 + (v % 10);
}

/** Alea's first state word from Mash state n after its pass (s = M - mashOut(n), mod 1). */
const seedWord = (m: number, n: number): number => {
  const s = m - mashOut(n);
  return s < 0 ? s + 1 : s;
};

/** How many operations' streams OpStream seeds at once when it is walked forward (mash4). */
const AHEAD = 4;

export class OpStream {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private c = 1;
  /** the seed string's char codes: the constant prefix, then the op number's digits */
  private readonly cs: number[];
  /** four copies of it, for seeding four consecutive operations at once */
  private readonly cs4: number[][];
  private readonly prefixLen: number;
  /** Mash's state after the first pass over the prefix */
  private readonly nPrefix: number;
  /** the last operation asked for (at()); a walk forward (the next one) seeds AHEAD at once */
  private last = -2;
  /** the seeds (s0, s1, s2) of operations [aheadFrom, aheadFrom + AHEAD), seeded together */
  private aheadFrom = -1;
  private readonly ahead = new Float64Array(3 * AHEAD);
  private readonly st = new Float64Array(AHEAD);
  /** the stream (the same function object at every at()) */
  readonly r: Rng;

  constructor(seed: string | number, task: number) {
    const prefix = `${seed}:op:${task}:`;
    this.cs = Array.from({ length: prefix.length + 17 }, (_, i) => (i < prefix.length ? prefix.charCodeAt(i) : 0));
    this.cs4 = Array.from({ length: AHEAD }, () => this.cs.slice());
    this.prefixLen = prefix.length;
    this.nPrefix = mash(N3, this.cs, 0, this.prefixLen);
    const r = (): number => {
      const t = 2091639 * this.s0 + this.c * TWO_M32;
      this.s0 = this.s1;
      this.s1 = this.s2;
      return (this.s2 = t - (this.c = t | 0));
    };
    (r as Rng).int32 = () => (r() * 0x100000000) | 0;
    this.r = r as Rng;
  }

  /** The stream of operation `op` (seedrandom.alea(`${seed}:op:${task}:${op}`)), reseeded in place.
   * A pure function of op: the batch below only changes when the work is done. */
  at(op: number): Rng {
    if (!(Number.isSafeInteger(op) && op >= 0)) throw new Error(`op stream: operation number ${op}`);
    const k = op - this.aheadFrom;
    if (this.aheadFrom < 0 || k < 0 || k >= AHEAD) {
      // walked forward (free mode's operations, an explorer's actor): seed the next AHEAD at once,
      // when they all have as many digits; otherwise (or at random) this one alone
      if (op === this.last + 1 && op + AHEAD - 1 <= Number.MAX_SAFE_INTEGER && digits(op) === digits(op + AHEAD - 1)) this.seedAhead(op);
      else {
        this.last = op;
        this.seedOne(op);
        this.c = 1;
        return this.r;
      }
    }
    this.last = op;
    const a = this.ahead, i = 3 * (op - this.aheadFrom);
    this.s0 = a[i];
    this.s1 = a[i + 1];
    this.s2 = a[i + 2];
    this.c = 1;
    return this.r;
  }

  /** Alea's seeding of one operation's string: three Mash passes, the first from the cached prefix. */
  private seedOne(op: number): void {
    const cs = this.cs, start = this.prefixLen, len = start + digits(op);
    writeDigits(cs, start, len - start, op);
    const n1 = mash(this.nPrefix, cs, start, len), n2 = mash(n1, cs, 0, len), n3 = mash(n2, cs, 0, len);
    this.s0 = seedWord(M1, n1);
    this.s1 = seedWord(M2, n2);
    this.s2 = seedWord(M3, n3);
  }

  /** seedOne() of operations [op, op + AHEAD) (as many digits each), four Mash chains at once. */
  private seedAhead(op: number): void {
    const [a, b, c, d] = this.cs4, start = this.prefixLen, nd = digits(op), len = start + nd;
    for (let k = 0; k < AHEAD; k++) writeDigits(this.cs4[k], start, nd, op + k);
    const st = this.st, out = this.ahead;
    st.fill(this.nPrefix);
    mash4(st, a, b, c, d, start, len);
    for (let k = 0; k < AHEAD; k++) out[3 * k] = seedWord(M1, st[k]);
    mash4(st, a, b, c, d, 0, len);
    for (let k = 0; k < AHEAD; k++) out[3 * k + 1] = seedWord(M2, st[k]);
    mash4(st, a, b, c, d, 0, len);
    for (let k = 0; k < AHEAD; k++) out[3 * k + 2] = seedWord(M3, st[k]);
    this.aheadFrom = op;
  }
}

/** The stream that drives perturbation (free mode) for one task. */
export function perturbRng(seed: string | number, task: number): Rng {
  return rng(seed, 'perturb', task);
}

export const below = (r: Rng, n: number): number => Math.floor(r() * n);

/** A Zipf-ish choice in [0, n): low indices are hot. */
export function zipf(r: Rng, n: number, skew = 1.2): number {
  // inverse-CDF of a continuous power law, clamped: cheap and good enough for "some pages hot"
  const u = r();
  const x = Math.floor(Math.pow(n + 1, Math.pow(u, skew)) - 1);
  return Math.min(n - 1, Math.max(0, x));
}
