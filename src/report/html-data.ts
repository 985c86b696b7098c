// Figures derived from a RunResult for the HTML report: rates over time, latency percentiles,
// fairness. Pure functions of run.json, so `report <run-dir>` re-renders exactly what the run saw.
import type { RunResult, StatsSample, TaskSummary } from './result.ts';
import { bucketBounds, formatUs } from './html-hist.ts';

/** One chart: x values and one or more y series, all the same length. */
export interface ChartSpec {
  id: string;
  title: string;
  /** 'line': time series; 'bars': one bar per x; 'step': a histogram drawn as steps */
  kind: 'line' | 'bars' | 'step';
  xLabel: string;
  yLabel: string;
  x: number[];
  /**
   * For charts over an index (histogram buckets, tasks): the integer x = first + k is labelled
   * labels[k] on the axis and hover[k] (default labels[k]) in the legend.
   */
  xTicks?: { first: number; labels: string[]; hover?: string[] };
  series: { label: string; values: (number | null)[] }[];
}

/** Roles in first-seen order over tasks and samples. */
export function rolesOf(r: RunResult): string[] {
  const roles: string[] = [];
  const see = (role: string) => { if (!roles.includes(role)) roles.push(role); };
  for (const t of r.tasks) see(t.role);
  for (const s of r.samples) for (const role of Object.keys(s.opsByRole)) see(role);
  return roles;
}

/**
 * Per-interval rates from cumulative counters: (c[i] - c[i-1]) / (t[i] - t[i-1]) per second, the
 * first interval counted from t = 0. Down-sampled series (see src/run/checkpoint.ts) stay exact:
 * a merged sample keeps the newer cumulative value, so its rate is the average over its interval.
 */
export function ratePerSecond(samples: StatsSample[], pick: (s: StatsSample) => number): number[] {
  const out: number[] = [];
  let prevT = 0, prevV = 0;
  for (const s of samples) {
    const v = pick(s), dt = (s.t - prevT) / 1000;
    out.push(dt > 0 ? Math.max(0, (v - prevV) / dt) : 0);
    prevT = s.t;
    prevV = v;
  }
  return out;
}

const round = (v: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** The stats-over-time charts; none when the run has no samples. */
/** A sample at t = 0: every counter 0, every role with 0 operations. */
function zeroSample(p: StatsSample): StatsSample {
  return { t: 0, opsByRole: Object.fromEntries(Object.keys(p.opsByRole).map((k) => [k, 0])), acquisitions: 0, contended: 0, maxWaitUs: 0, overtaken: 0, violations: 0 };
}

export function timeCharts(r: RunResult): ChartSpec[] {
  if (r.samples.length === 0) return [];
  // one sample (a sub-second run) would draw every chart as a dot: start the lines at t = 0, where
  // every counter was 0 (the rates are averages since the start, so they hold from 0 to t)
  const padded = r.samples.length === 1 && r.samples[0].t > 0;
  const s = padded ? [zeroSample(r.samples[0]), r.samples[0]] : r.samples;
  const x = s.map((p) => round(p.t / 1000, 3));
  const rate = (pick: (p: StatsSample) => number) => {
    const v = ratePerSecond(s, pick).map((n) => round(n));
    if (padded) v[0] = v[1];
    return v;
  };
  const roles = rolesOf(r).filter((role) => s.some((p) => role in p.opsByRole));
  return [
    {
      id: 'ops', title: 'Operations/s per role', kind: 'line', xLabel: 'time (s)', yLabel: 'ops/s', x,
      series: roles.map((role) => ({ label: role, values: rate((p) => p.opsByRole[role] ?? 0) })),
    },
    {
      id: 'acq', title: 'Lock acquisitions/s', kind: 'line', xLabel: 'time (s)', yLabel: 'per s', x,
      series: [
        { label: 'acquisitions/s', values: rate((p) => p.acquisitions) },
        { label: 'contended/s', values: rate((p) => p.contended) },
      ],
    },
    {
      id: 'maxwait', title: 'Max lock wait', kind: 'line', xLabel: 'time (s)', yLabel: 'µs', x,
      series: [{ label: 'max wait (µs)', values: s.map((p) => p.maxWaitUs) }],
    },
    {
      id: 'viol', title: 'Violations and overtaken waiters (cumulative)', kind: 'line', xLabel: 'time (s)', yLabel: 'count', x,
      series: [
        { label: 'violations', values: s.map((p) => p.violations) },
        { label: 'overtaken', values: s.map((p) => p.overtaken) },
      ],
    },
  ];
}

export interface Percentiles {
  label: string;
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Sum of several histograms, bucket by bucket. */
export function sumHist(hists: number[][]): number[] {
  const n = Math.max(0, ...hists.map((h) => h.length));
  const out = new Array<number>(n).fill(0);
  for (const h of hists) for (let i = 0; i < h.length; i++) out[i] += h[i];
  return out;
}

/**
 * The value at quantile q: the upper bound of the bucket holding the q-th sample (so the figure is
 * never below the truth), capped by the exact maximum when it is known.
 */
export function histQuantile(hist: number[], q: number, knownMax = Infinity): number {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) {
      const [, hi] = bucketBounds(i, hist.length);
      return Math.min(hi, knownMax);
    }
  }
  return knownMax;
}

export function percentiles(label: string, hist: number[], knownMax: number): Percentiles {
  const count = hist.reduce((a, b) => a + b, 0);
  // the exact max comes from the tasks' maxWaitUs; without one, the last non-empty bucket's bound
  const max = count === 0 ? 0 : knownMax > 0 ? knownMax : histQuantile(hist, 1);
  const cap = knownMax > 0 ? knownMax : Infinity;
  return { label, count, p50: histQuantile(hist, 0.5, cap), p99: histQuantile(hist, 0.99, cap), p999: histQuantile(hist, 0.999, cap), max };
}

function byRole(tasks: TaskSummary[]): Map<string, TaskSummary[]> {
  const m = new Map<string, TaskSummary[]>();
  for (const t of tasks) m.set(t.role, [...(m.get(t.role) ?? []), t]);
  return m;
}

/** p50/p99/p99.9/max of the lock wait per role and over all tasks (roles that waited at all). */
export function waitPercentiles(r: RunResult): Percentiles[] {
  const out: Percentiles[] = [];
  const maxOf = (ts: TaskSummary[]) => Math.max(0, ...ts.map((t) => t.stats.maxWaitUs ?? 0));
  for (const [role, ts] of byRole(r.tasks)) {
    const h = sumHist(ts.map((t) => t.waitHist));
    if (h.some((c) => c > 0)) out.push(percentiles(role, h, maxOf(ts)));
  }
  if (out.length > 1) out.push(percentiles('all', sumHist(r.tasks.map((t) => t.waitHist)), maxOf(r.tasks)));
  return out;
}

/** Hover label for a bucket: "<1 µs", "1.33 µs–1.67 µs", "≥1.75 s". */
export function bucketLabel(i: number, n: number): string {
  const [lo, hi] = bucketBounds(i, n);
  if (!Number.isFinite(hi)) return `≥${formatUs(lo)}`;
  if (lo === 0) return `<${formatUs(hi)}`;
  return `${formatUs(lo)}–${formatUs(hi)}`;
}

/**
 * Lock-wait histogram chart, trimmed to the used buckets. One role: bars at x = bucket index. Several
 * roles: one step line per role, bucket i drawn over [i - 0.5, i + 0.5] (the x values are the bucket
 * edges, the last value repeated to close the last step).
 */
export function histChart(r: RunResult): ChartSpec | null {
  const roles = byRole(r.tasks);
  const hists = [...roles].map(([role, ts]) => ({ role, h: sumHist(ts.map((t) => t.waitHist)) }))
    .filter(({ h }) => h.some((c) => c > 0));
  if (hists.length === 0) return null;
  const n = Math.max(...hists.map(({ h }) => h.length));
  let first = n, last = -1;
  for (const { h } of hists) {
    for (let i = 0; i < h.length; i++) {
      if (h[i] > 0) { first = Math.min(first, i); last = Math.max(last, i); }
    }
  }
  first = Math.max(0, first - 1);
  last = Math.min(n - 1, last + 1);
  const idx: number[] = [];
  for (let i = first; i <= last; i++) idx.push(i);
  const xTicks = { first, labels: idx.map((i) => formatUs(bucketBounds(i, n)[0])), hover: idx.map((i) => bucketLabel(i, n)) };
  const base = { id: 'hist', title: 'Lock wait latency histogram', xLabel: 'lock wait (bucket lower bound)', yLabel: 'waits', xTicks };
  if (hists.length === 1) {
    return { ...base, kind: 'bars', x: idx, series: [{ label: hists[0].role, values: idx.map((i) => hists[0].h[i] ?? 0) }] };
  }
  return {
    ...base, kind: 'step', x: [...idx.map((i) => i - 0.5), last + 0.5],
    series: hists.map(({ role, h }) => ({ label: role, values: [...idx.map((i) => h[i] ?? 0), h[last] ?? 0] })),
  };
}

export interface Fairness {
  role: string;
  tasks: number;
  min: number;
  max: number;
  /** max/min acquisitions (Infinity when a task got none) */
  ratio: number;
  /** Jain's fairness index (Σx)² / (n·Σx²): 1 = perfectly even, 1/n = one task got everything */
  jain: number;
}

export function jainIndex(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const sq = xs.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (xs.length * sq);
}

/** Fairness of lock acquisitions per role, among roles that take locks at all. */
export function fairness(r: RunResult): Fairness[] {
  const out: Fairness[] = [];
  for (const [role, ts] of byRole(r.tasks)) {
    const xs = ts.map((t) => t.stats.acquisitions ?? 0);
    if (!xs.some((x) => x > 0)) continue;
    const min = Math.min(...xs), max = Math.max(...xs);
    out.push({ role, tasks: xs.length, min, max, ratio: min > 0 ? max / min : Infinity, jain: jainIndex(xs) });
  }
  return out;
}

export function fairnessChart(r: RunResult): ChartSpec | null {
  if (r.tasks.length === 0 || !r.tasks.some((t) => (t.stats.acquisitions ?? 0) > 0)) return null;
  return {
    id: 'fair', title: 'Acquisitions per task', kind: 'bars', xLabel: 'task', yLabel: 'acquisitions',
    x: r.tasks.map((_, i) => i),
    xTicks: { first: 0, labels: r.tasks.map((t) => `${t.task} ${t.role}`) },
    series: [{ label: 'acquisitions', values: r.tasks.map((t) => t.stats.acquisitions ?? 0) }],
  };
}
