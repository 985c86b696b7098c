// `shrink <file>`: make a repro file as small as it gets while the same invariant still fails
// (fewer actors, operations and context switches), write it next to the original as *.min.json,
// and print its interleaving. Exit 1 when shrunk (the violation is there) or another violation
// happened instead, 0 when the run is clean (nothing to shrink), 2 for a bad file, bad usage or a
// directory the shrunk file cannot be written to (checked before shrinking), 3 when a signal
// stopped it (the smallest version found so far is written, and said to be partial). The shrink
// runs in a worker (replay-worker.ts), so a signal is seen at once and a protocol step that never
// returns is reported as HUNG instead of hanging the command.
import { dirname } from 'node:path';
import { HELP_FLAG, UsageError, flagHelp, formatDuration, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { fileSignature, readRepro, writeRepro } from '../../src/sched/repro.ts';
import { signatureText } from '../../src/sched/signature.ts';
import { minPathFor, shrunkRepro } from '../../src/sched/shrink.ts';
import { END_STATE_EXIT } from '../../src/report/result.ts';
import { hungStepLines, runReproJobWithSignals } from './replay-worker.ts';
import { ensureWritableDir } from '../../src/report/atomic.ts';
import { replayLine } from '../../src/run/finding.ts';
import {
  absPath, asUsage, diagramLines, loadedTraced, resolverFor, shownPath, violationHeadline, writeMarkdown,
} from './controlled-io.ts';
import type { Command, Context } from './types.ts';

export const SHRINK_FLAGS: FlagSpec[] = [
  { name: 'budget', kind: 'duration', default: 30_000, min: 100, max: 3_600_000, help: 'time limit' },
  { name: 'runs', kind: 'int', default: 20_000, min: 1, max: 10_000_000, help: 'at most this many trial runs' },
  HELP_FLAG,
];

function shrinkHelp(): string[] {
  return [
    'usage: pagelock-stress shrink <repro.json> [--budget DUR] [--runs N]',
    '',
    'Removes actors, operations and context switches from a repro file while the same invariant id',
    'still fails, and writes the smallest version as <file>.min.json (deterministic: the same file',
    'always shrinks to the same result).',
    '',
    'Exit codes: 1 shrunk (the violation reproduces), or DIFFERENT: another violation happened (nothing shrunk);',
    '            0 NOT REPRODUCED: the run was clean (nothing to shrink);',
    '            2 bad usage, a bad repro file, or a directory the shrunk file cannot be written to;',
    '            3 INTERRUPTED: SIGINT/SIGTERM stopped it; the smallest version found so far is written',
    '              (said to be partial); 130 a second signal (exits at once).',
    'A protocol step that does not return for 5 s (a plug-in loop with no schedule point) is reported',
    'as HUNG with its task and last label (exit 1; nothing written).',
    '',
    'Flags:',
    ...flagHelp(SHRINK_FLAGS),
  ];
}

export async function shrinkMain(argv: string[], ctx: Context): Promise<number> {
  const { io } = ctx;
  const p = parseFlags(argv, SHRINK_FLAGS, 'shrink');
  if (p.help) {
    for (const l of shrinkHelp()) io.out(l);
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError(`shrink wants one repro file (got ${p.positionals.length ? p.positionals.join(' ') : 'none'})`);
  const path = absPath(ctx, p.positionals[0]);
  const l = asUsage(() => readRepro(path, resolverFor(ctx)));
  const min = minPathFor(path);
  /** a file-system error writing the result: one line, exit 2 */
  const writing = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw new UsageError(`cannot write ${what} (${shownPath(ctx, dirname(min))}: ${code})`);
    }
  };
  // before the (long) shrink: the result must have somewhere to go
  writing(`the shrunk file ${shownPath(ctx, min)}`, () => ensureWritableDir(dirname(min)));
  const limits = { budgetMs: (p.values.get('budget') as number | undefined) ?? 30_000, maxRuns: (p.values.get('runs') as number | undefined) ?? 20_000 };
  io.out(`--- shrink: ${shownPath(ctx, path)}: scenario=${l.file.scenario} lock=${l.cfg.lock} steps=${l.file.steps} `
    + `operations=${l.ops.reduce((n, o) => n + o.length, 0)} expect=${l.file.violation.id} budget=${formatDuration(limits.budgetMs)} runs=${limits.maxRuns}`);
  const end = await runReproJobWithSignals(ctx, { kind: 'shrink', file: l.file, shrink: limits },
    { message: 'stopping the shrink; the smallest version so far will be written', now: false },
    () => io.out(`shrinking: the file reproduces ${l.file.violation.id}; SIGINT/SIGTERM stops it with the smallest version so far`));
  if (end.hung) {
    for (const line of hungStepLines(end.hung)) io.out(line);
    io.out(`shrink: stopped; nothing written (${shownPath(ctx, path)} is as it was)`);
    return END_STATE_EXIT.FAIL;
  }
  const o = end.outcome;
  if (!o || o.kind !== 'shrink') {
    // the worker did not end with its best within SHRINK_STOP_GRACE_MS (starved, or still starting)
    io.out(`shrink: INTERRUPTED by ${end.stoppedBy || 'a signal'}: the shrink did not stop in time to write its smallest version; nothing written (${shownPath(ctx, path)} is as it was)`);
    return END_STATE_EXIT.INTERRUPTED;
  }
  const first = o.first;
  if (!first.reproduced) {
    const v = first.result.violation;
    if (v) {
      io.out(`DIFFERENT ${v.id === l.file.violation.id ? 'find, same invariant' : 'violation'}: ${violationHeadline(v)}`);
      io.out(`  (the file expects ${fileSignature(l.file) ? signatureText(fileSignature(l.file)!) : l.file.violation.id}: nothing to shrink)`);
      return 1;
    }
    io.out(`NOT REPRODUCED (the run was clean; the file expects ${l.file.violation.id}): nothing to shrink`);
    return 0;
  }
  const s = o.shrunk!;
  const partial = o.interrupted ? `partial: interrupted by ${end.stoppedBy || 'a signal'}, the smallest version found so far` : '';
  writing(`the shrunk file ${shownPath(ctx, min)}`, () => writeRepro(min, shrunkRepro(l, s, shownPath(ctx, path))));
  io.out(`shrunk ${l.file.violation.id}: ${s.before.steps} -> ${s.after.steps} steps, ${s.before.decisions} -> ${s.after.decisions} decisions, `
    + `${s.before.switches} -> ${s.after.switches} context switches, ${s.before.ops} -> ${s.after.ops} operations `
    + `(${s.runs} trial runs${partial ? `; ${partial}` : s.stoppedBy === 'fixpoint' ? '' : `, stopped by the ${s.stoppedBy} limit`})`);
  const t = loadedTraced(l, s.result, s.ops);
  io.out('');
  for (const line of diagramLines(t)) io.out(line);
  io.out('');
  const line = replayLine(min);
  writing('the diagram', () => writeMarkdown(min, t, `${l.file.violation.id} in ${l.file.scenario} (shrunk${partial ? `, ${partial}` : ''})`, line));
  io.out(`REPRODUCED ${violationHeadline(s.result.violation!)}`);
  io.out(`${partial ? 'smallest repro so far' : 'minimal repro'}: ${shownPath(ctx, min)}`);
  io.out(line);
  if (partial) {
    io.out(`End of shrink: INTERRUPTED (${partial}: ${shownPath(ctx, min)})`);
    return END_STATE_EXIT.INTERRUPTED;
  }
  return 1;
}

export const shrinkCommand: Command = {
  name: 'shrink',
  summary: 'shrink a repro file to the fewest operations and context switches that still fail',
  help: shrinkHelp,
  run: shrinkMain,
};
