// What `replay` and `shrink` share: the repro file runs in a worker (src/run/explore-parallel.ts
// runReproInWorker), so this thread stays free for signals and sees a step that never returns.
// The first SIGINT/SIGTERM asks the job to stop (a shrink ends with its smallest variation so
// far); a second one exits at once (130, ctx.onSignal).
import { runReproInWorker, type ReproJob, type ReproOutcome } from '../../src/run/explore-parallel.ts';
import type { HungStep } from '../../src/sched/explore.ts';
import type { Context } from './types.ts';

export interface ReproJobEnd {
  /** null: stopped by a signal or a HUNG step before a result */
  outcome: ReproOutcome | null;
  /** the signal that stopped it ('' when none) */
  stoppedBy: string;
  hung: HungStep | null;
}

/** Run a replay or shrink job in a worker until it ends, a signal stops it, or a step hangs.
 * `onStop` says what the first signal does (printed on stderr). */
export async function runReproJobWithSignals(
  ctx: Context, job: Omit<ReproJob, 'stop' | 'beat'>, onStop: { message: string; now: boolean }, onShrinking?: () => void,
): Promise<ReproJobEnd> {
  const run = runReproInWorker(job, { onShrinking });
  let stoppedBy = '';
  const off = ctx.onSignal((sig) => {
    if (!stoppedBy) ctx.io.err(`${sig}: ${onStop.message}`);
    stoppedBy = sig;
    run.stop(onStop.now);
  });
  try {
    const outcome = await run.result;
    return { outcome, stoppedBy, hung: run.hung };
  } finally {
    off();
  }
}

/** The line for a step that never returned (as explore words it). */
export function hungStepLines(h: HungStep): string[] {
  return [
    `!!! HUNG (task ${h.task}, op ${h.op}): task ${h.task} (${h.role}) did not return from its step at '${h.label}'`
      + `${h.page >= 0 ? ` (page ${h.page})` : ''} for ${(h.stepMs / 1000).toFixed(1)} s: a protocol step that never yields (a loop with no schedule point)`,
    '    the worker thread running it was terminated',
  ];
}
