// The run configuration: every parameter a run takes, with its default. Parsing and validation
// of user input live in stress/ and src/run/validate.ts; this file is only the shape.
export type PerturbLevel = 'off' | 'low' | 'high';

export interface RunConfig {
  scenario: string;
  lock: string; // 'v5.9-rc6' | 'v5.10' | 'v5.9' | 'v4.14' | 'v4.10' | plug-in names
  unfairness: number;
  /** stop after this many milliseconds (0 = only --ops bounds the run) */
  durationMs: number;
  /** operations per actor task (0 = unbounded, duration decides) */
  ops: number;
  seed: string;
  /** actor worker threads */
  workers: number;
  /** pages (lock scenario: the lockable pages; mm scenarios: the allocator's pages) */
  pages: number;
  buckets: number;
  perturb: PerturbLevel;
  stutter: boolean;
  reportDir: string | null;
  /** hung-task bound in ms */
  hungMs: number;
  statIntervalMs: number;
  /** lockdep for page locks (src/check/lockdep.ts): LOCK-ORDER at the first inversion seen */
  lockdep?: boolean;
  /** LOCK-WAKE bound in ms: a waiter queued on an unlocked page, not woken, this long (0 = only
   * when the hung-task bound fires) */
  lostWakeMs?: number;
  /** rewrite the report files every this many ms while running (0 = only at the end) */
  checkpointMs?: number;
  /** after a free-mode violation, rebuild the involved tasks' operations from the seed and search
   * controlled schedules for the same invariant, for at most reproduceBudgetMs */
  reproduce?: boolean;
  reproduceBudgetMs?: number;
  /** --variant NAME (repeatable): registered variants (src/variants/registry.ts) composed over
   * mainline, after the scenario's --map-pages / --fault-path, in this order (configVariants).
   * Absent means none (validateRun sets it only when --variant is given, so configurations and
   * repro files without variants keep their shape). */
  variants?: string[];
  /** scenario-specific knobs (role counts, sizes, variant choices) */
  extra: Record<string, number | string | boolean>;
}

export const DEFAULTS: RunConfig = {
  scenario: 'map-truncate',
  lock: 'v5.9-rc6',
  unfairness: 5,
  durationMs: 5_000,
  ops: 0,
  seed: '1',
  workers: 4,
  pages: 64,
  buckets: 256,
  perturb: 'low',
  stutter: true,
  reportDir: null,
  hungMs: 5_000,
  statIntervalMs: 1_000,
  lockdep: false,
  lostWakeMs: 1_000,
  checkpointMs: 0,
  reproduce: true,
  reproduceBudgetMs: 30_000,
  extra: {},
};
