// What the main thread and lock-worker.ts exchange.
import type { ShmSizes } from '../../src/shm/layout.ts';

/** Control words (an Int32Array over `ctl`). */
export const BC = { READY: 0, GO: 1, STOP: 2, LAST: 3, PP: 4, WORDS: 16 } as const;

export interface LockWorkerData {
  mode: 'handoff' | 'hot' | 'pingpong';
  id: number;
  ctl: SharedArrayBuffer;
  /** one Float64: when the releasing side started to let go (hrtime ns) */
  clock: SharedArrayBuffer;
  lock?: string;
  sab?: SharedArrayBuffer;
  sizes: ShmSizes;
}

export interface LockWorkerResult {
  id: number;
  /** acquisitions (hot, handoff) or round trips (pingpong) */
  count: number;
  /** ns from the other side's release to this side's acquisition / wake-up (handoff, pingpong) */
  lat: number[];
}
