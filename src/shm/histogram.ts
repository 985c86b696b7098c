// Log-linear latency histograms in shared memory (HdrHistogram-style, but tiny): one Int32 count
// per bucket, HIST_BUCKETS buckets per task (shm.waitHist[task * HIST_BUCKETS + bucket]).
//
// Buckets are in whole microseconds. Buckets 0..HIST_SUB-1 hold 0..HIST_SUB-1 us exactly; after
// that, bucket g*HIST_SUB + s (g >= 1) holds [(HIST_SUB + s) << (g - 1), (HIST_SUB + s + 1) << (g - 1))
// us, so a bucket is at most 1/HIST_SUB (25 %) wide relative to its lower bound. With 64 buckets
// the last one starts at 114.688 ms and is open-ended (it also counts overflow); the exact maximum
// is kept separately (the maxWaitUs stat). src/report/html-hist.ts draws the same buckets.
import { HIST_BUCKETS } from './layout.ts';

/** Linear sub-buckets per power of two. */
export const HIST_SUB = 4;
const SUB_BITS = 2; // log2(HIST_SUB)

/** The bucket a duration in nanoseconds falls in (negative and NaN give 0). */
export function bucketOf(ns: number): number {
  const us = ns / 1000;
  if (!(us >= HIST_SUB)) return us >= 1 ? Math.floor(us) : 0;
  if (us >= 2 ** 31) return HIST_BUCKETS - 1;
  const v = Math.floor(us);
  const e = 31 - Math.clz32(v); // 2^e <= v < 2^(e+1), e >= SUB_BITS
  const g = e - SUB_BITS + 1;
  const s = Math.floor(v / 2 ** (g - 1)) - HIST_SUB;
  return Math.min(HIST_BUCKETS - 1, g * HIST_SUB + s);
}

/** Lower bound of bucket b, in ns. */
export function bucketLow(b: number): number {
  if (b < HIST_SUB) return Math.max(0, b) * 1000;
  const g = Math.floor(b / HIST_SUB), s = b % HIST_SUB;
  return (HIST_SUB + s) * 2 ** (g - 1) * 1000;
}

/** [low, high) of every bucket in ns; the last bucket's high is Infinity. */
export function bucketBounds(): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let b = 0; b < HIST_BUCKETS; b++)
    out.push([bucketLow(b), b === HIST_BUCKETS - 1 ? Infinity : bucketLow(b + 1)]);
  return out;
}

/** Add one sample to the histogram that starts at `base` in `arr`. One writer per histogram
 * (the task it belongs to), so a plain increment is enough; readers may see it a little late. */
export function histRecord(arr: Int32Array, base: number, ns: number): void {
  arr[base + bucketOf(ns)]++;
}

/** Task `task`'s histogram as a plain array. */
export function taskHist(hist: Int32Array, task: number): number[] {
  return Array.from(hist.subarray(task * HIST_BUCKETS, (task + 1) * HIST_BUCKETS));
}

/** The sum of the histograms of `tasks` tasks (or of the given task ids). */
export function sumHist(hist: Int32Array, tasks: number | number[]): number[] {
  const ids = typeof tasks === 'number' ? Array.from({ length: tasks }, (_, i) => i) : tasks;
  const out = new Array<number>(HIST_BUCKETS).fill(0);
  for (const t of ids) for (let b = 0; b < HIST_BUCKETS; b++) out[b] += hist[t * HIST_BUCKETS + b];
  return out;
}

export function histCount(counts: ArrayLike<number>): number {
  let n = 0;
  for (let b = 0; b < counts.length; b++) n += counts[b];
  return n;
}

/** The value (ns) below which a fraction q of the samples lie, as the upper bound of the bucket
 * holding the q-th sample (an over-estimate by at most one bucket width); for the open last bucket,
 * its lower bound. 0 when there are no samples. */
export function percentile(counts: ArrayLike<number>, q: number): number {
  const n = histCount(counts);
  if (n === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    seen += counts[b];
    if (seen >= rank) return b === HIST_BUCKETS - 1 ? bucketLow(b) : bucketLow(b + 1);
  }
  return bucketLow(counts.length - 1);
}

/** Upper bound (ns) of the highest non-empty bucket (lower bound if it is the open last one). */
export function histMax(counts: ArrayLike<number>): number {
  for (let b = counts.length - 1; b >= 0; b--)
    if (counts[b] > 0) return b === HIST_BUCKETS - 1 ? bucketLow(b) : bucketLow(b + 1);
  return 0;
}

export interface HistSummary {
  count: number;
  p50Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
}

export function summarizeHist(counts: ArrayLike<number>): HistSummary {
  return {
    count: histCount(counts),
    p50Ns: percentile(counts, 0.5),
    p99Ns: percentile(counts, 0.99),
    p999Ns: percentile(counts, 0.999),
    maxNs: histMax(counts),
  };
}
