// What the main thread and lock-worker.ts exchange.
import type { ShmSizes } from '../../src/shm/layout.ts';

/** Control words (an Int32Array over `ctl`). */
export const BC = { READY: 0, GO: 1, STOP: 2, LAST: 3, PP: 4, WORDS: 16 } as const;

export interface LockWorkerData {
  mode: 'handoff' | 'hot' | 'pingpong';
  id: number;
  ctl: SharedArrayBuffer;
  /** Float64s: [0] when the releasing side started to let go, [1] when it woke the sleeper's
   * entry (counted runs), hrtime ns */
  clock: SharedArrayBuffer;
  lock?: string;
  sab?: SharedArrayBuffer;
  sizes: ShmSizes;
  /** handoff: count the futex effects of every pass (what a hand-off costs in sleeps and wakes);
   * the counting wrapper adds a little time per schedule point, so its latencies are not reported */
  count?: boolean;
}

/** Futex effects a worker's lock_page / unlock_page calls made (handoff with `count`). */
export interface EffectCounts {
  /** futex waits on the bucket spinlock word (q->lock contended) */
  bucketWaits: number;
  /** of those, the ones that slept (the rest returned at once: the word had changed) */
  bucketSleeps: number;
  /** of bucketWaits, the ones in unlock_page (the waker's walk waiting for q->lock) */
  bucketWaitsUnlock: number;
  /** futex waits on the task's own wait entry (io_schedule) */
  entryWaits: number;
  /** any other futex wait (a spinlock nap) */
  otherWaits: number;
  /** waits that returned 'timed-out' (a slice or a nap ran out rather than a wake) */
  timedOut: number;
  /** waits that returned at once: the word had already changed ('not-equal', no sleep) */
  notEqual: number;
  /** futex wakes on the bucket lock / on a wait entry */
  bucketWakes: number;
  entryWakes: number;
  /** schedule points */
  points: number;
}

/** One counted pass split in three (ns): the holder's unlock_page up to its futex wake of the
 * sleeper's entry, the OS wake-up (wake to the sleeper's return from its futex wait), and the
 * sleeper's lock_page from there to its return. */
export interface PassSplit {
  beforeWake: number[];
  wakeUp: number[];
  afterWake: number[];
  /** how long each q->lock was held: its last spin_lock(q) point to its spin_unlock(q) point */
  qHold: number[];
}

export interface LockWorkerResult {
  id: number;
  /** acquisitions (hot, handoff) or round trips (pingpong) */
  count: number;
  /** ns from the other side's release to this side's acquisition / wake-up (handoff, pingpong) */
  lat: number[];
  counts?: EffectCounts;
  split?: PassSplit;
}
