// Soak support: what lets a run last a day with bounded memory and still leave a readable report
// when it is killed.
//
// - Checkpointer: every interval, rewrites the report files (run.json, summary.md, junit.xml,
//   index.html) from the current partial RunResult, each atomically (temp file + rename), so a
//   SIGKILLed run leaves the last complete checkpoint, which `report <run-dir>` re-renders.
// - Downsampler: keeps at most N samples of a time series by merging adjacent pairs when full.
// - RssMonitor: samples the process RSS and warns when it keeps growing.
import type { RssSample, RssSummary, RunResult, StatsSample } from '../report/result.ts';

export type { RssSample, RssSummary };
import { writeReports } from '../report/write.ts';

/**
 * A time series bounded to `capacity` entries at uniform resolution. When the buffer fills, adjacent
 * pairs are merged (capacity → capacity/2) and from then on every `stride` incoming samples
 * (doubled at each compaction) are merged into one before being kept. `merge(older, newer)` must be
 * associative; for StatsSample it is mergeStatsSamples.
 */
export class Downsampler<T> {
  readonly capacity: number;
  private kept: T[] = [];
  private pending: T | null = null;
  private pendingCount = 0;
  /** raw samples per kept sample */
  stride = 1;
  /** raw samples pushed in total */
  pushed = 0;

  constructor(capacity: number, private readonly merge: (older: T, newer: T) => T) {
    if (!(capacity >= 2)) throw new RangeError(`Downsampler capacity must be >= 2 (got ${capacity})`);
    this.capacity = capacity + (capacity % 2); // even, so compaction pairs everything up
  }

  push(x: T): void {
    this.pushed++;
    this.pending = this.pending === null ? x : this.merge(this.pending, x);
    if (++this.pendingCount < this.stride) return;
    this.kept.push(this.pending);
    this.pending = null;
    this.pendingCount = 0;
    if (this.kept.length >= this.capacity) {
      const half: T[] = [];
      for (let i = 0; i < this.kept.length; i += 2) half.push(this.merge(this.kept[i], this.kept[i + 1]));
      this.kept = half;
      this.stride *= 2;
    }
  }

  /** The kept samples, oldest first, plus the partly merged newest one. At most `capacity`. */
  values(): T[] {
    return this.pending === null ? this.kept.slice() : [...this.kept, this.pending];
  }

  get length(): number {
    return this.kept.length + (this.pending === null ? 0 : 1);
  }
}

/**
 * Merge two adjacent stats samples into one covering both intervals. The counters in a StatsSample
 * (opsByRole, acquisitions, contended, overtaken, violations, counters) are cumulative since the
 * start, so the newer sample's values are the sums of both intervals' counts, and rates derived from
 * the merged series stay exact averages; maxWaitUs keeps the larger of the two maxima; suspicions
 * of both are kept.
 */
export function mergeStatsSamples(older: StatsSample, newer: StatsSample): StatsSample {
  const m: StatsSample = { ...newer, opsByRole: { ...newer.opsByRole }, maxWaitUs: Math.max(older.maxWaitUs, newer.maxWaitUs) };
  if (newer.counters) {
    m.counters = { ...newer.counters };
    if (older.counters?.maxWaitUs !== undefined || newer.counters.maxWaitUs !== undefined)
      m.counters.maxWaitUs = Math.max(older.counters?.maxWaitUs ?? 0, newer.counters.maxWaitUs ?? 0);
  }
  // a suspicion seen in either interval stays visible (bounded: the same few texts repeat)
  if (older.suspicions?.length || newer.suspicions?.length)
    m.suspicions = [...new Set([...(older.suspicions ?? []), ...(newer.suspicions ?? [])])].slice(0, 8);
  return m;
}

/** The default bound on kept stats samples: a day at one sample per second ends up at ~1 per 2.6 min. */
export const DEFAULT_MAX_SAMPLES = 1024;

export const statsDownsampler = (capacity = DEFAULT_MAX_SAMPLES) => new Downsampler<StatsSample>(capacity, mergeStatsSamples);


export interface RssMonitorOptions {
  /** kept samples (down-sampled beyond that); default 512 */
  capacity?: number;
  /** for start(): default 1000 ms */
  intervalMs?: number;
  /** growth that counts as "keeps growing", in %; default 5 */
  thresholdPct?: number;
  /** fewest samples before judging growth; default 9 */
  minSamples?: number;
  /** samples taken before this (ms since the start) are not judged: start-up heap growth; default 0 */
  warmupMs?: number;
  read?: () => number;
  clock?: () => number;
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/**
 * Samples process.memoryUsage().rss. "Keeps growing" means the lowest RSS seen in the last third
 * of the run is more than thresholdPct above the highest RSS seen in the first third: one spike or
 * a GC cycle does not trigger it, a steady climb does.
 */
export class RssMonitor {
  private readonly series: Downsampler<RssSample>;
  private readonly read: () => number;
  private readonly clock: () => number;
  private readonly t0: number;
  private readonly thresholdPct: number;
  private readonly minSamples: number;
  private readonly intervalMs: number;
  private readonly warmupMs: number;
  private timer: NodeJS.Timeout | null = null;
  private first = -1;
  private min = Infinity;
  private max = 0;
  private last = 0;

  constructor(o: RssMonitorOptions = {}) {
    this.series = new Downsampler<RssSample>(o.capacity ?? 512, (a, b) => ({
      t: b.t, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), last: b.last,
    }));
    this.read = o.read ?? (() => process.memoryUsage().rss);
    this.clock = o.clock ?? (() => performance.now());
    this.t0 = this.clock();
    this.thresholdPct = o.thresholdPct ?? 5;
    this.minSamples = Math.max(3, o.minSamples ?? 9);
    this.intervalMs = o.intervalMs ?? 1000;
    this.warmupMs = o.warmupMs ?? 0;
  }

  sample(): number {
    const rss = this.read();
    if (this.first < 0) this.first = rss;
    this.min = Math.min(this.min, rss);
    this.max = Math.max(this.max, rss);
    this.last = rss;
    this.series.push({ t: this.clock() - this.t0, min: rss, max: rss, last: rss });
    return rss;
  }

  /** Sample now and then every intervalMs, without keeping the process alive. */
  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  summary(): RssSummary {
    const samples = this.series.values();
    // the heaps of a fresh process grow to their working size first: that is not a leak
    const judged = samples.filter((s) => s.t >= this.warmupMs);
    let growthPct = 0, growing = false, warning: string | null = null;
    const isJudged = judged.length >= this.minSamples;
    if (isJudged) {
      const third = Math.floor(judged.length / 3);
      const firstMax = Math.max(...judged.slice(0, third).map((s) => s.max));
      const lastMin = Math.min(...judged.slice(judged.length - third).map((s) => s.min));
      growthPct = (lastMin / firstMax - 1) * 100;
      growing = growthPct > this.thresholdPct;
      if (growing) {
        warning = `??? RSS keeps growing: the last third of the run never went below ${mib(lastMin)}, `
          + `${growthPct.toFixed(1)} % above the first third's peak of ${mib(firstMax)}`;
      }
    }
    return {
      samples, firstBytes: Math.max(0, this.first), minBytes: Number.isFinite(this.min) ? this.min : 0,
      maxBytes: this.max, lastBytes: this.last, growthPct, growing, warning, judged: isJudged,
    };
  }
}

/** run.json, summary.md, junit.xml, index.html (src/report/write.ts), each atomically; throws on any failure. */
export function writeAllReports(dir: string, r: RunResult): void {
  const { errors } = writeReports(dir, r);
  if (errors.length) throw new Error(`cannot write the reports: ${errors.join('; ')}`);
}

export interface CheckpointInfo {
  /** checkpoints written so far, this one included */
  n: number;
  at: string;
  intervalMs: number;
}

export interface CheckpointerOptions {
  dir: string;
  intervalMs: number;
  /** the run's current partial result (samples so far, stats so far, violations so far) */
  snapshot: () => RunResult;
  /** writes every report file of `r` into `dir`, each atomically (default: writeAllReports) */
  write?: (dir: string, r: RunResult) => void;
  /** when given, each checkpoint carries its summary in extra.rss */
  rss?: RssMonitor;
  /** a failed checkpoint does not stop the run; it is reported here (default: ignored) */
  onError?: (e: Error) => void;
}

/**
 * Periodic checkpoints of a running run. The checkpoint is the snapshot marked as such:
 * endReason 'checkpoint' and extra.checkpoint = { n, at, intervalMs }; its outcome is the
 * outcome so far. The final report replaces it when the run ends normally.
 */
export class Checkpointer {
  private timer: NodeJS.Timeout | null = null;
  private n = 0;
  lastError: Error | null = null;

  constructor(private readonly o: CheckpointerOptions) {
    if (!(o.intervalMs > 0)) throw new RangeError(`checkpoint interval must be > 0 ms (got ${o.intervalMs})`);
  }

  get count(): number {
    return this.n;
  }

  /** Start the timer; it does not keep the process alive (the run's workers do). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.checkpoint(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stop the timer. Call before writing the final report, so no checkpoint lands after it. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Write a checkpoint now; returns what was written, or null if writing failed. */
  checkpoint(): RunResult | null {
    try {
      const snap = this.o.snapshot();
      const info: CheckpointInfo = { n: this.n + 1, at: new Date().toISOString(), intervalMs: this.o.intervalMs };
      const extra: Record<string, unknown> = { ...snap.extra, checkpoint: info };
      if (this.o.rss) extra.rss = this.o.rss.summary();
      const r: RunResult = { ...snap, endReason: 'checkpoint', endState: snap.outcome === 'FAILURE' ? 'FAIL' : 'INCOMPLETE', extra };
      (this.o.write ?? writeAllReports)(this.o.dir, r);
      this.n++;
      this.lastError = null;
      return r;
    } catch (e) {
      this.lastError = e as Error;
      this.o.onError?.(e as Error);
      return null;
    }
  }
}
