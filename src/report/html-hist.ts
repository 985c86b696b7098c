// Bucket bounds of the per-task lock-wait histograms (TaskSummary.waitHist), in µs.
//
// Log-linear, HdrHistogram-style: SUB sub-buckets per power of two. Buckets 0..SUB-1 hold the
// values 0..SUB-1 exactly; after that, bucket g*SUB + s (g >= 1) holds
// [(SUB + s) << (g - 1), (SUB + s + 1) << (g - 1)), so every bucket is at most 1/SUB (25 %) wide
// relative to its lower bound. The last bucket is open-ended (it also counts overflow).
export const HIST_SUB = 4;

/** [lower, upper) bounds in µs of bucket i of an n-bucket histogram; the last upper is Infinity. */
export function bucketBounds(i: number, n: number): [number, number] {
  const lower = (k: number): number => {
    if (k < HIST_SUB) return k;
    const g = Math.floor(k / HIST_SUB), s = k % HIST_SUB;
    return (HIST_SUB + s) * 2 ** (g - 1);
  };
  return [lower(i), i >= n - 1 ? Infinity : lower(i + 1)];
}

/** The bucket a value (µs) falls in: the inverse of bucketBounds. */
export function bucketOf(us: number, n: number): number {
  const v = Math.max(0, Math.floor(us));
  if (v < HIST_SUB) return v;
  const e = Math.floor(Math.log2(v)); // v in [2^e, 2^(e+1))
  const g = e - Math.log2(HIST_SUB) + 1;
  const s = Math.floor(v / 2 ** (g - 1)) - HIST_SUB;
  return Math.min(n - 1, g * HIST_SUB + s);
}
