// `soak`: a long `run` with the defaults a day-long run wants — 24 h, a checkpoint every minute
// (a run killed by a CI timeout or a lost machine leaves its last checkpoint, which `report`
// renders), a stats line every 10 s, and the process RSS summed up at the end (with a warning when
// it kept growing). Any run flag can be given and overrides these; SIGINT / SIGTERM end the run
// with a final report, as for `run`.
import { allRunFlags, flagHelp, type FlagSpec } from '../../src/run/validate.ts';
import { runMain } from './run.ts';
import type { Command, Context } from './types.ts';

/** What `soak` puts before the user's flags (a flag given again later wins). */
export const SOAK_DEFAULTS: readonly string[] = ['--duration', '24h', '--checkpoint', '1m', '--stat-interval', '10s'];

/** SOAK_DEFAULTS as help shows them (ms): soak's own defaults, not run's. */
const SOAK_DEFAULT_VALUES: Record<string, number> = { duration: 86_400_000, checkpoint: 60_000, 'stat-interval': 10_000 };

export function soakHelp(ctx: Context): string[] {
  const all = allRunFlags(ctx.registry);
  const byScenario = all.byScenario;
  const common: FlagSpec[] = all.common.map((f) => (f.name in SOAK_DEFAULT_VALUES ? { ...f, default: SOAK_DEFAULT_VALUES[f.name] } : f));
  const out = [
    'usage: pagelock-stress soak [--duration 24h] [--checkpoint 1m] [run flags]',
    '',
    'A long run: `run` with --duration 24h --checkpoint 1m --stat-interval 10s unless given. Every',
    'checkpoint rewrites run.json, summary.md, junit.xml and index.html atomically from the run so far,',
    "so a killed soak leaves a complete last checkpoint (`report <dir>` re-renders it; its end reason",
    "says 'checkpoint'). Stats over time are down-sampled (at most 1024 samples) and the process RSS",
    'is sampled every second: the end line and the reports say how it grew, with a warning when the',
    "lowest RSS of the last third is more than 5 % above the first third's peak. SIGINT or SIGTERM",
    'stops the run and writes the final report.',
    '',
    'Flags (as for run; the defaults shown are soak\'s):',
    ...flagHelp(common),
  ];
  for (const [name, flags] of byScenario) {
    if (!flags.length) continue;
    out.push('', `Flags of scenario ${name} (with --scenario ${name}):`, ...flagHelp(flags));
  }
  out.push('', 'Exit codes: 0 PASS, 1 FAIL (violation, hang or crash), 2 bad usage or a report directory that cannot be written,',
    '3 INTERRUPTED (stopped by a signal before its end, nothing found), 130 a second signal (exit at once).');
  return out;
}

export const soakCommand: Command = {
  name: 'soak',
  summary: 'a long run (default 24 h) with checkpoints every minute and RSS tracking',
  help: soakHelp,
  run: (argv, ctx) => runMain([...SOAK_DEFAULTS, ...argv], ctx, { command: 'soak', help: soakHelp, showRss: true }),
};
