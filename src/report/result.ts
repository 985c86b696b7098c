// What a run produces: everything the reports need, as plain JSON-able data (run.json is this).
import type { RunConfig } from '../kernel/config.ts';
import type { HungReport } from '../check/watchdog.ts';
import type { ViolationRecord } from '../check/violations.ts';
import type { StatName } from '../shm/layout.ts';

export interface TaskSummary {
  task: number;
  role: string;
  ops: number;
  stats: Record<StatName, number>;
  /** log-linear wait-time histogram counts (see src/shm/histogram.ts for bucket bounds) */
  waitHist: number[];
}

export interface StatsSample {
  /** ms since the start */
  t: number;
  /** operations completed per role since the start */
  opsByRole: Record<string, number>;
  acquisitions: number;
  contended: number;
  maxWaitUs: number;
  overtaken: number;
  violations: number;
  /** every per-task counter (STAT_NAMES) summed over the actors */
  counters?: Partial<Record<StatName, number>>;
  /** why this sample's stats line carries ??? (unfairness, a stalled task) */
  suspicions?: string[];
}


export interface RunResult {
  tool: { name: string; version: string; commit: string; node: string };
  runId: string;
  config: RunConfig;
  /** 'free' (real threads) or 'controlled' */
  mode: 'free' | 'controlled';
  cores: number;
  oversubscribed: boolean;
  memoryBytes: number;
  startedAt: string;
  elapsedMs: number;
  /** why the run ended: 'duration' | 'ops' | 'violation' | 'hung' | 'signal' | 'crash' */
  endReason: string;
  outcome: 'SUCCESS' | 'FAILURE';
  /** the honest end state (endStateOf): PASS, FAIL, INTERRUPTED (stopped by a signal before its
   * end, nothing found), INCOMPLETE (a checkpoint of a run that had not ended). Older run.json
   * files lack it. */
  endState?: EndState;
  invariantsChecked: string[];
  violations: ViolationRecord[];
  violationCount: number;
  hung: HungReport[];
  tasks: TaskSummary[];
  samples: StatsSample[];
  /** free-form notes (warnings, reproduction results) */
  notes: string[];
  /** scenario- or feature-specific extra data (reproduction, lockdep, fairness) */
  extra: Record<string, unknown>;
  /** what `run --reproduce` made of the first violation: the replay command and the shrunk
   * controlled diagram the reports show (older run.json files keep it in extra.reproduction) */
  reproduction?: Reproduction;
}

/** `run --reproduce`'s outcome, as run.json carries it into summary.md and index.html. */
export interface Reproduction {
  /** the invariant id it tried to reproduce */
  violation: string;
  reproduced: boolean;
  /** 'running' in the report written before the search starts; then 'done', 'interrupted' or 'failed' */
  status?: 'running' | 'done' | 'interrupted' | 'failed';
  budgetMs?: number;
  /** the repro file to replay (the shrunk one when shrinking worked), as the user types it */
  repro?: string | null;
  /** the command that replays it */
  replay?: string;
  /** the replayed interleaving, one column per task, as text lines (src/report/diagram.ts diagramText) */
  diagram?: string[];
  /** what was printed (outcome lines, then the replay line) */
  lines?: string[];
  elapsedMs?: number;
  /** why it failed, when it did */
  error?: string;
}

export interface RssSummary {
  samples: RssSample[];
  firstBytes: number;
  minBytes: number;
  maxBytes: number;
  lastBytes: number;
  /** (min of the last third) / (max of the first third) - 1, in %; 0 with too few samples */
  growthPct: number;
  growing: boolean;
  warning: string | null;
  /** whether growth was judged (enough samples after the warm-up); absent in older files */
  judged?: boolean;
}

export type { HungReport };

export interface RssSample {
  /** ms since the monitor started (of the newest raw sample merged in) */
  t: number;
  min: number;
  max: number;
  last: number;
}

/** How a run ended, honestly: an interrupted clean run is not a PASS. */
export type EndState = 'PASS' | 'FAIL' | 'INTERRUPTED' | 'INCOMPLETE';

/** Exit codes of each end state (README "Exit codes"); 2 is bad usage, 130 a second signal. */
export const END_STATE_EXIT: Record<EndState, number> = { PASS: 0, FAIL: 1, INTERRUPTED: 3, INCOMPLETE: 4 };

/** The end state of a result: FAIL whenever it failed; else INCOMPLETE for a checkpoint,
 * INTERRUPTED when a signal ended it, PASS otherwise. */
export function endStateOf(r: Pick<RunResult, 'outcome' | 'endReason'> & { endState?: EndState }): EndState {
  if (r.outcome === 'FAILURE') return 'FAIL';
  if (r.endReason === 'checkpoint') return 'INCOMPLETE';
  if (r.endState === 'INTERRUPTED' || r.endReason === 'signal') return 'INTERRUPTED';
  return 'PASS';
}
