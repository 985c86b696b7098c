// The contract between protocol code and the two drivers.
//
// Kernel paths are generator functions. Before each shared-memory step another task could
// interleave with, they `yield` a schedule point: a string, the kernel's own step name
// ('xas_load', 'trylock_page', ...). Where the kernel would sleep or wake, they yield an Effect
// instead of calling Atomics.wait/notify, so the same code runs on real worker threads (free mode)
// and under a deterministic scheduler in one thread (controlled mode).

/** Sleep until the Int32 word changes from `expected` (a futex). Spurious returns are allowed,
 * as with io_schedule(): callers re-check their condition in a loop. */
export interface FutexWait {
  readonly kind: 'wait';
  readonly arr: Int32Array;
  readonly index: number;
  readonly expected: number;
  /** Milliseconds of (driver) time before 'timed-out'; Infinity = no timeout. */
  readonly timeoutMs: number;
}
/** Wake up to `count` tasks sleeping on the word. */
export interface FutexWake {
  readonly kind: 'wake';
  readonly arr: Int32Array;
  readonly index: number;
  readonly count: number;
}
/** The driver's clock in nanoseconds (virtual in controlled mode). */
export interface Now {
  readonly kind: 'now';
}

export type Effect = FutexWait | FutexWake | Now;
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** What a protocol generator yields: a labelled schedule point or an effect. */
export type Yielded = string | Effect;

/** A protocol step sequence returning T. Drivers send back WaitResult for waits, a number for
 * 'now', undefined otherwise. */
export type Step<T = void> = Generator<Yielded, T, any>;

export function futexWait(arr: Int32Array, index: number, expected: number, timeoutMs = Infinity): FutexWait {
  return { kind: 'wait', arr, index, expected, timeoutMs };
}
export function futexWake(arr: Int32Array, index: number, count = 1): FutexWake {
  return { kind: 'wake', arr, index, count };
}
export const NOW: Now = Object.freeze({ kind: 'now' });
