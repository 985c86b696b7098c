// Bucket bounds of the per-task lock-wait histograms (TaskSummary.waitHist) in µs, for the report:
// the buckets are src/shm/histogram.ts's (log-linear, HIST_SUB per power of two, in ns).
import { HIST_SUB, bucketLow } from '../shm/histogram.ts';

export { HIST_SUB };

/** [lower, upper) bounds in µs of bucket i of an n-bucket histogram; the last upper is Infinity. */
export function bucketBounds(i: number, n: number): [number, number] {
  return [bucketLow(i) / 1000, i >= n - 1 ? Infinity : bucketLow(i + 1) / 1000];
}

/** A duration in µs, short: "0", "1.33 µs", "21.3 µs", "1.33 ms", "2.5 s". */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return '∞';
  if (us === 0) return '0';
  const [v, unit] = us >= 1e6 ? [us / 1e6, 's'] : us >= 1e3 ? [us / 1e3, 'ms'] : [us, 'µs'];
  return `${Number(v.toPrecision(3))} ${unit}`;
}
