// `merge <dir>... [--out DIR]`: shard report directories → one summary.md, index.html, junit.xml.
import { resolve } from 'node:path';
import { HELP_FLAG, UsageError, flagHelp, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { ensureWritableDir } from '../../src/report/atomic.ts';
import { mergeReports } from '../../src/report/merge.ts';
import type { Command } from './types.ts';

const OUT_FLAG: FlagSpec = { name: 'out', kind: 'string', default: 'reports/merged', value: 'DIR', help: 'where the merged summary.md, index.html and junit.xml go' };
const FLAGS = [OUT_FLAG, HELP_FLAG];

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge shard report directories into one summary.md, index.html and junit.xml',
  help: () => [
    'usage: pagelock-stress merge <dir>... [--out DIR]',
    '',
    'Each <dir> is a run directory or a directory holding run directories (a shard\'s reports);',
    'every run.json found below it is merged. junit.xml holds every run\'s test cases; the outcome',
    'is FAILURE when any run failed, did not finish, or a directory held no readable run.json.',
    'Exit 0 SUCCESS, 1 FAILURE, 2 bad usage or an output directory that cannot be written.',
    '',
    'Flags:',
    ...flagHelp(FLAGS),
  ],
  async run(argv, ctx) {
    const p = parseFlags(argv, FLAGS, 'merge');
    if (p.help) {
      for (const l of mergeCommand.help(ctx)) ctx.io.out(l);
      return 0;
    }
    if (p.positionals.length === 0) throw new UsageError("'merge' needs at least one report directory");
    const outArg = String(p.values.get('out') ?? OUT_FLAG.default);
    const out = resolve(ctx.cwd, outArg);
    try {
      ensureWritableDir(out);
    } catch (e) {
      throw new UsageError(`--out ${outArg}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const m = mergeReports(p.positionals.map((d) => resolve(ctx.cwd, d)), out);
    for (const x of m.problems) ctx.io.err(`!!! ${x}`);
    const failed = m.runs.filter((x) => x.run.outcome === 'FAILURE').length;
    ctx.io.out(`merged ${m.runs.length} run${m.runs.length === 1 ? '' : 's'} (${failed} failed) from ${p.positionals.length} director${p.positionals.length === 1 ? 'y' : 'ies'} -> ${outArg}/ (${m.files.join(', ')})`);
    ctx.io.out(`End of merge: ${m.outcome}`);
    return m.outcome === 'SUCCESS' ? 0 : 1;
  },
};
