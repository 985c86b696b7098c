// `report <run-dir>...`: re-render a run directory's report files from its run.json — after an
// upgrade of the report code, or from the last checkpoint of a run that was killed.
import { dirname, resolve } from 'node:path';
import { HELP_FLAG, UsageError, flagHelp, parseFlags } from '../../src/run/validate.ts';
import { REPORT_WRITERS, writeReports } from '../../src/report/write.ts';
import { RunJsonError, readRunResult } from '../../src/report/read.ts';
import { isMatrixRecord } from '../../src/report/html-matrix.ts';
import type { Command } from './types.ts';

export const reportCommand: Command = {
  name: 'report',
  summary: "re-render a run directory's summary.md, junit.xml and index.html from its run.json",
  help: () => [
    'usage: pagelock-stress report <run-dir>...',
    '',
    "Re-renders every report file of each run directory (summary.md, junit.xml, index.html) from",
    'its run.json, which is left as it is. Works on the last checkpoint of a run that was killed.',
    "For a matrix report directory it renders index.html (summary.md and junit.xml are the matrix's).",
    'Exit 0 when rendered; 2 when a run.json is missing or is not a run record.',
    '',
    'Flags:',
    ...flagHelp([HELP_FLAG]),
  ],
  async run(argv, ctx) {
    const p = parseFlags(argv, [HELP_FLAG], 'report');
    if (p.help) {
      for (const l of reportCommand.help(ctx)) ctx.io.out(l);
      return 0;
    }
    if (p.positionals.length === 0) throw new UsageError("'report' needs a run directory (e.g. reports/<run-id>)");
    // read every run.json first: a bad one stops everything before any file is rewritten
    const runs = p.positionals.map((d) => {
      try {
        const full = resolve(ctx.cwd, d);
        return { arg: d, dir: full.endsWith('.json') ? dirname(full) : full, run: readRunResult(full) };
      } catch (e) {
        if (e instanceof RunJsonError) throw new UsageError(e.message);
        throw e;
      }
    });
    const writers = REPORT_WRITERS.filter((w) => w.file !== 'run.json');
    for (const { arg, dir, run } of runs) {
      // a matrix directory: its summary.md and junit.xml are the matrix's own (written by `matrix`)
      const matrix = isMatrixRecord(run);
      const { written, errors } = writeReports(dir, run, matrix ? writers.filter((w) => w.file === 'index.html') : writers);
      if (errors.length) throw new UsageError(`${arg}: cannot write the reports (${errors[0]})`);
      ctx.io.out(`${arg}: ${matrix ? 'matrix ' : ''}${run.outcome}${run.endReason === 'checkpoint' ? ' so far (last checkpoint)' : ''} -> ${written.join(', ')}`);
    }
    return 0;
  },
};
