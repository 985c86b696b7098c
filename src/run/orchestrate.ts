// Run orchestration (free mode): build the shared model, start one worker per actor, watch them
// from the main thread (stats, stutter, quiescent epochs, live checks, watchdog), stop, collect.
import type { RunConfig } from './config.ts';
import type { RunResult, StatsSample } from './result.ts';

/** What runStress tells its caller before the first operation. */
export interface StartInfo {
  runId: string;
  config: RunConfig;
  mode: 'free';
  /** actor tasks and their roles, in task-id order (the checker task is `actors`) */
  roles: string[];
  tasks: number;
  cores: number;
  oversubscribed: boolean;
  memoryBytes: number;
  /** bytes per shared-memory region, largest first */
  memory: { name: string; bytes: number }[];
  startedAt: string;
}

export interface RunHooks {
  onStart?(info: StartInfo): void;
  /** every statIntervalMs: the sample and its greppable line (see src/run/stats.ts) */
  onStats?(sample: StatsSample, line: string): void;
  /** fraction of the run done (duration or ops), for a progress bar */
  onProgress?(fraction: number, sample: StatsSample): void;
}

export async function runStress(cfg: RunConfig, hooks: RunHooks = {}, signal?: AbortSignal): Promise<RunResult> {
  void cfg; void hooks; void signal;
  throw new Error('runStress: not implemented yet');
}
