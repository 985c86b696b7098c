// `shrink <file>`: make a repro file as small as it gets while the same invariant still fails
// (fewer actors, operations and context switches), write it next to the original as *.min.json,
// and print its interleaving. Exit 1 when shrunk (the violation is there) or another violation
// happened instead, 0 when the run is clean (nothing to shrink), 2 for a bad file, bad usage or a
// directory the shrunk file cannot be written to (checked before shrinking).
import { signatureText } from '../../src/sched/signature.ts';
import { dirname } from 'node:path';
import { HELP_FLAG, UsageError, flagHelp, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { fileSignature, readRepro, runRepro, writeRepro } from '../../src/sched/repro.ts';
import { minPathFor, shrink, shrunkRepro } from '../../src/sched/shrink.ts';
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
    '            2 bad usage, a bad repro file, or a directory the shrunk file cannot be written to.',
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
  const first = runRepro(l);
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
  const s = shrink(l, { budgetMs: (p.values.get('budget') as number | undefined) ?? 30_000, maxRuns: (p.values.get('runs') as number | undefined) ?? 20_000 });
  writing(`the shrunk file ${shownPath(ctx, min)}`, () => writeRepro(min, shrunkRepro(l, s, shownPath(ctx, path))));
  io.out(`shrunk ${l.file.violation.id}: ${s.before.steps} -> ${s.after.steps} steps, ${s.before.decisions} -> ${s.after.decisions} decisions, `
    + `${s.before.switches} -> ${s.after.switches} context switches, ${s.before.ops} -> ${s.after.ops} operations `
    + `(${s.runs} trial runs${s.stoppedBy === 'fixpoint' ? '' : `, stopped by the ${s.stoppedBy} limit`})`);
  const t = loadedTraced(l, s.result, s.ops);
  io.out('');
  for (const line of diagramLines(t)) io.out(line);
  io.out('');
  const line = replayLine(min);
  writing('the diagram', () => writeMarkdown(min, t, `${l.file.violation.id} in ${l.file.scenario} (shrunk)`, line));
  io.out(`REPRODUCED ${violationHeadline(s.result.violation!)}`);
  io.out(`minimal repro: ${shownPath(ctx, min)}`);
  io.out(line);
  return 1;
}

export const shrinkCommand: Command = {
  name: 'shrink',
  summary: 'shrink a repro file to the fewest operations and context switches that still fail',
  help: shrinkHelp,
  run: shrinkMain,
};
