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
  return rng(seed, 'op', task, op);
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
