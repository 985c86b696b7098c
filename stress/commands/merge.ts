// `merge <dir>... [--out DIR]`: shard report directories → one summary.md, index.html, junit.xml.
import { resolve } from 'node:path';
import { HELP_FLAG, UsageError, flagHelp, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { claimReportDir, ReportDirError } from '../../src/report/dirs.ts';
import { mergeReports } from '../../src/report/merge.ts';
import type { Command } from './types.ts';

const OUT_FLAG: FlagSpec = { name: 'out', kind: 'string', default: 'reports/merged', value: 'DIR', help: 'where the merged summary.md, index.html and junit.xml go' };
const FORCE_FLAG: FlagSpec = { name: 'force', kind: 'bool', default: false, help: 'write --out even when it holds a run\'s own reports (they are removed first)' };
const FLAGS = [OUT_FLAG, FORCE_FLAG, HELP_FLAG];
/** What a merge writes: an earlier merge's files are replaced without --force. */
const MERGE_FILES = ['summary.md', 'junit.xml', 'index.html'];

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge shard report directories into one summary.md, index.html and junit.xml',
  help: () => [
    'usage: pagelock-stress merge <dir>... [--out DIR]',
    '',
    'Each <dir> is a run directory or a directory holding run directories (a shard\'s reports);',
    'every run.json found below it is merged. junit.xml holds every run\'s test cases; the outcome',
    'is FAILURE when any run failed, did not finish, or a directory held no readable run.json.',
    '--out is never one of the inputs, and a directory holding a run\'s own reports (run.json) is',
    'refused unless --force; an earlier merge there is replaced.',
    'Exit 0 SUCCESS, 1 FAILURE (a run failed, was interrupted or left only a checkpoint: not',
    'finished is not a pass), 2 bad usage or an output directory that cannot be written.',
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
    const inputs = p.positionals.map((d) => resolve(ctx.cwd, d));
    const same = p.positionals.find((_, i) => inputs[i] === out);
    if (same !== undefined) throw new UsageError(`--out ${outArg} is also an input directory (${same}): the merge would replace its reports; choose another --out`);
    let claim;
    try {
      claim = claimReportDir(out, { force: p.values.get('force') === true, shown: outArg, flag: '--out', replaceable: MERGE_FILES });
    } catch (e) {
      if (e instanceof ReportDirError) throw new UsageError(`--out ${e.message}`);
      throw new UsageError(`--out ${outArg}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let m;
    try {
      m = mergeReports(inputs, out);
    } finally {
      claim.release();
    }
    for (const x of m.problems) ctx.io.err(`!!! ${x}`);
    const failed = m.runs.filter((x) => x.run.outcome === 'FAILURE').length;
    ctx.io.out(`merged ${m.runs.length} run${m.runs.length === 1 ? '' : 's'} (${failed} failed) from ${p.positionals.length} director${p.positionals.length === 1 ? 'y' : 'ies'} -> ${outArg}/ (${m.files.join(', ')})`);
    ctx.io.out(`End of merge: ${m.outcome}`);
    return m.outcome === 'SUCCESS' ? 0 : 1;
  },
};
