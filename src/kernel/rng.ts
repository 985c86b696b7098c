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

export class OpStream {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private c = 1;
  /** the seed string's char codes: the constant prefix, then the op number's digits */
  private readonly cs: number[];
  private readonly prefixLen: number;
  /** Mash's state after the first pass over the prefix */
  private readonly nPrefix: number;
  /** the stream (the same function object at every at()) */
  readonly r: Rng;

  constructor(seed: string | number, task: number) {
    const prefix = `${seed}:op:${task}:`;
    this.cs = Array.from({ length: prefix.length + 17 }, (_, i) => (i < prefix.length ? prefix.charCodeAt(i) : 0));
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

  /** The stream of operation `op` (seedrandom.alea(`${seed}:op:${task}:${op}`)), reseeded in place. */
  at(op: number): Rng {
    if (!(Number.isSafeInteger(op) && op >= 0)) throw new Error(`op stream: operation number ${op}`);
    const cs = this.cs, start = this.prefixLen;
    // the digits of op after the prefix, most significant first (exact: v - r is a multiple of 10)
    let len = start + 1;
    for (let v = op; v >= 10; v = (v - (v % 10)) / 10) len++;
    for (let i = len - 1, v = op; i >= start; i--, v = (v - (v % 10)) / 10) cs[i] = 48 + (v % 10);
    // pass 1 continues from the cached prefix state; passes 2 and 3 hash the whole string
    const n1 = mash(this.nPrefix, cs, start, len), n2 = mash(n1, cs, 0, len), n3 = mash(n2, cs, 0, len);
    let s0 = M1 - mashOut(n1);
    s0 = s0 < 0 ? s0 + 1 : s0;
    let s1 = M2 - mashOut(n2);
    s1 = s1 < 0 ? s1 + 1 : s1;
    let s2 = M3 - mashOut(n3);
    s2 = s2 < 0 ? s2 + 1 : s2;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.c = 1;
    return this.r;
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
