// `shrink <file>`: make a repro file as small as it gets while the same invariant still fails
// (fewer actors, operations and context switches), write it next to the original as *.min.json,
// and print its interleaving. Exit 1 when shrunk (the violation is there), 0 when the file does
// not reproduce (nothing to shrink), 2 for a bad file or bad usage.
import { HELP_FLAG, UsageError, flagHelp, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { readRepro, runRepro, writeRepro } from '../../src/sched/repro.ts';
import { minPathFor, shrink, shrunkRepro } from '../../src/sched/shrink.ts';
import {
  absPath, asUsage, diagramLines, loadedTraced, replayLine, resolverFor, shownPath, violationHeadline, writeMarkdown,
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
    'Exit codes: 1 shrunk (the violation reproduces), 0 the file does not reproduce, 2 bad usage or file.',
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
  const first = runRepro(l);
  if (!first.reproduced) {
    const v = first.result.violation;
    io.out(`NOT REPRODUCED (${v ? `got ${v.id} instead` : 'the run was clean'}; the file expects ${l.file.violation.id}): nothing to shrink`);
    return v ? 1 : 0;
  }
  const s = shrink(l, { budgetMs: (p.values.get('budget') as number | undefined) ?? 30_000, maxRuns: (p.values.get('runs') as number | undefined) ?? 20_000 });
  const min = minPathFor(path);
  writeRepro(min, shrunkRepro(l, s, shownPath(ctx, path)));
  io.out(`shrunk ${l.file.violation.id}: ${s.before.steps} -> ${s.after.steps} steps, ${s.before.decisions} -> ${s.after.decisions} decisions, `
    + `${s.before.switches} -> ${s.after.switches} context switches, ${s.before.ops} -> ${s.after.ops} operations `
    + `(${s.runs} trial runs${s.stoppedBy === 'fixpoint' ? '' : `, stopped by the ${s.stoppedBy} limit`})`);
  const t = loadedTraced(l, s.result, s.ops);
  io.out('');
  for (const line of diagramLines(t)) io.out(line);
  io.out('');
  writeMarkdown(min, t, `${l.file.violation.id} in ${l.file.scenario} (shrunk)`, replayLine(ctx, min));
  io.out(`REPRODUCED ${violationHeadline(s.result.violation!)}`);
  io.out(`minimal repro: ${shownPath(ctx, min)}`);
  io.out(replayLine(ctx, min));
  return 1;
}

export const shrinkCommand: Command = {
  name: 'shrink',
  summary: 'shrink a repro file to the fewest operations and context switches that still fail',
  help: shrinkHelp,
  run: shrinkMain,
};
