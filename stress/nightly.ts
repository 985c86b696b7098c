#!/usr/bin/env node
// `npm run nightly [-- flags]`: the nightly job on one machine, in one command.
//
//   1. matrix: every variant cell with its expected outcome, graded, in one time budget
//      (--budget, default 10m) -> <out>/matrix/
//   2. a soak slice: the default scenario for --soak (default 2m) with lockdep on and a checkpoint
//      every 30 s, so a CI job killed by its timeout still leaves a readable report -> <out>/soak/
//   3. merge of both: <out>/summary.md, <out>/junit.xml (every test case of both), <out>/index.html
//      (it links to <out>/matrix/index.html, which is rendered here from the matrix's run.json)
//
// The matrix keeps its budget as best it can (a cell that has started runs its minimum); when it
// overran the budget by more than BUDGET_SLACK, a WARNING says so and the last line repeats it.
//
// Exit 0 when everything passed, 1 when anything failed (a matrix row, the soak, a report that
// could not be written), 2 bad usage. Every flag also reads an environment variable, for CI
// systems where setting the environment is easier than the command line.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { main } from './commands/index.ts';
import { realContext } from './commands/context.ts';
import type { Context } from './commands/types.ts';
import { writeFileAtomic } from '../src/report/atomic.ts';
import { renderHtml } from '../src/report/html.ts';
import type { RunResult } from '../src/report/result.ts';
import { HELP_FLAG, UsageError, flagHelp, formatDuration, parseFlags, type FlagSpec } from '../src/run/validate.ts';
import { PluginError, extractPluginArgs, loadPlugins } from '../src/plugin/plugin.ts';

interface NightlyFlag extends FlagSpec {
  env: string;
}

export function nightlyFlags(now: Date): NightlyFlag[] {
  const night = now.toISOString().slice(0, 10).replace(/-/g, '');
  return [
    { name: 'budget', env: 'NIGHTLY_BUDGET', kind: 'duration', default: 600_000, min: 0, max: 7 * 86_400_000, help: 'time budget of the variants matrix (matrix --budget)' },
    { name: 'soak', env: 'NIGHTLY_SOAK', kind: 'duration', default: 120_000, min: 0, max: 7 * 86_400_000, help: 'length of the soak slice; 0 = no soak slice' },
    { name: 'seed', env: 'NIGHTLY_SEED', kind: 'string', default: night, value: 'S', help: "master seed of the night (default: today's UTC date)" },
    { name: 'shard', env: 'NIGHTLY_SHARD', kind: 'string', default: '1/1', value: 'I/N', help: 'run this shard of the matrix (matrix --shard)' },
    { name: 'out', env: 'NIGHTLY_OUT', kind: 'string', default: `reports/nightly-${night}`, value: 'DIR', help: 'where everything goes' },
    { ...HELP_FLAG, env: '' },
  ];
}

/** Where a nightly usage error points (nightly is not a pagelock-stress command). */
export const NIGHTLY_HELP = 'npm run nightly -- --help';

/** A matrix may overrun its --budget by this much (10 %, at least 5 s) before nightly warns. */
export function budgetSlackMs(budgetMs: number): number {
  return Math.max(5_000, budgetMs * 0.1);
}

/** The warning for a matrix that overran its budget, or null. */
export function budgetWarning(budgetMs: number, tookMs: number): string | null {
  if (budgetMs <= 0 || tookMs <= budgetMs + budgetSlackMs(budgetMs)) return null;
  return `the matrix ran ${Math.round(tookMs / 1000)} s, over its --budget ${formatDuration(budgetMs)} `
    + `(every selected cell runs at least its minimum; a smaller --shard or a larger --budget keeps the job in time)`;
}

/** Render <dir>/index.html from the matrix's run.json (the merged index.html links to it). */
export function writeMatrixIndex(dir: string): string | null {
  const json = join(dir, 'run.json');
  if (!existsSync(json)) return `no ${json} to render index.html from`;
  try {
    writeFileAtomic(join(dir, 'index.html'), renderHtml(JSON.parse(readFileSync(json, 'utf8')) as RunResult));
    return null;
  } catch (e) {
    return `could not write ${join(dir, 'index.html')}: ${(e as Error)?.message ?? String(e)}`;
  }
}

export function nightlyHelp(flags: NightlyFlag[]): string[] {
  return [
    'usage: npm run nightly [-- --budget 10m] [--soak 2m] [--seed S] [--shard I/N] [--out DIR] [--plugin FILE]...',
    '',
    'The nightly job: the variants matrix within a time budget, then a soak slice of the default scenario',
    '(lockdep on, checkpoints every 30 s), then one merged summary.md, junit.xml and index.html in DIR.',
    'Exit 0 when everything passed, 1 when anything failed, 2 bad usage.',
    '',
    'Flags (each also read from the environment variable shown):',
    ...flagHelp(flags).map((l, i) => (flags[i].env ? `${l} [$${flags[i].env}]` : l)),
  ];
}

export interface NightlyDeps {
  ctx?: Context;
  /** runs one pagelock-stress command (default: the CLI's main) */
  main?: (argv: string[], ctx: Context) => Promise<number>;
  /** ms clock (default performance.now) */
  clock?: () => number;
}

export async function nightly(rawArgv: string[], env: NodeJS.ProcessEnv = process.env, now = new Date(), deps: NightlyDeps = {}): Promise<number> {
  const ctx = deps.ctx ?? realContext();
  const run = deps.main ?? main;
  const clock = deps.clock ?? (() => performance.now());
  const { io } = ctx;
  const flags = nightlyFlags(now);
  // --plugin FILE (repeatable): the plug-in's cells join the matrix, as with the CLI
  let argv: string[];
  try {
    const x = extractPluginArgs(rawArgv);
    await loadPlugins(x.plugins);
    argv = x.argv;
  } catch (e) {
    if (!(e instanceof PluginError)) throw e;
    io.err(`nightly: ${e.message.split('\n')[0]}`);
    return 2;
  }
  // the environment gives defaults; the command line wins
  const fromEnv: string[] = [];
  for (const f of flags) if (f.env && env[f.env] !== undefined && env[f.env] !== '') fromEnv.push(`--${f.name}`, String(env[f.env]));
  let p;
  try {
    p = parseFlags([...fromEnv, ...argv], flags, 'nightly');
  } catch (e) {
    if (e instanceof UsageError) {
      // the flag parser points at 'pagelock-stress help nightly': nightly is an npm script
      io.err(`nightly: ${e.message.replace(/\(see: pagelock-stress help nightly\)/, `(see: ${NIGHTLY_HELP})`)}`);
      return 2;
    }
    throw e;
  }
  if (p.help) {
    for (const l of nightlyHelp(flags)) io.out(l);
    return 0;
  }
  if (p.positionals.length) {
    io.err(`nightly: unexpected argument '${p.positionals[0]}' (flags start with --; see: ${NIGHTLY_HELP})`);
    return 2;
  }
  const get = <T>(name: string) => (p.values.get(name) ?? flags.find((f) => f.name === name)!.default) as T;
  const budget = get<number>('budget'), soak = get<number>('soak'), seed = get<string>('seed'), shard = get<string>('shard');
  const outArg = get<string>('out');
  const out = isAbsolute(outArg) ? outArg : join(ctx.cwd, outArg);
  const shown = (d: string) => {
    const r = relative(ctx.cwd, d);
    return r && !r.startsWith('..') && !isAbsolute(r) ? r : d;
  };
  const t0 = clock();
  io.out(`=== nightly: matrix budget ${formatDuration(budget)}, soak ${formatDuration(soak)}, seed ${seed}, shard ${shard} -> ${shown(out)}/`);

  const steps: { name: string; code: number; seconds: number }[] = [];
  const step = async (name: string, args: string[]) => {
    const t = clock();
    io.out(`=== ${name}: pagelock-stress ${args.join(' ')}`);
    const code = await run(args, ctx);
    const seconds = (clock() - t) / 1000;
    steps.push({ name, code, seconds });
    io.out(`=== ${name}: exit ${code} after ${seconds.toFixed(0)} s`);
    return code;
  };

  const matrixCode = await step('matrix', ['matrix', '--budget', formatDuration(budget), '--seed', seed, '--shard', shard, '--report-dir', join(out, 'matrix')]);
  if (matrixCode === 2) return 2; // bad usage: nothing ran
  const warnings: string[] = [];
  const over = budgetWarning(budget, steps[0].seconds * 1000);
  if (over) warnings.push(over);
  const indexError = writeMatrixIndex(join(out, 'matrix'));
  if (indexError) warnings.push(`matrix/index.html: ${indexError}`);
  for (const w of warnings) io.out(`WARNING: ${w}`);
  const dirs = [join(out, 'matrix')];
  if (soak > 0) {
    // the default scenario; checkpoints so a job killed by its timeout still has a report
    await step('soak', ['soak', '--duration', formatDuration(soak), '--checkpoint', soak >= 60_000 ? '30s' : '5s', '--lockdep',
      '--seed', seed, '--report-dir', join(out, 'soak')]);
    dirs.push(join(out, 'soak'));
  }
  await step('merge', ['merge', ...dirs, '--out', out]);
  const failed = steps.filter((s) => s.code !== 0);
  const total = (clock() - t0) / 1000;
  io.out(`=== nightly: ${failed.length ? 'FAILURE' : 'SUCCESS'} in ${total.toFixed(0)} s (${steps.map((s) => `${s.name} ${s.code === 0 ? 'ok' : `exit ${s.code}`} ${s.seconds.toFixed(0)} s`).join(', ')})`
    + (warnings.length ? `; ${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings.map((w) => w.split(' (')[0]).join('; ')}` : ''));
  io.out(`=== reports: ${shown(out)}/ (summary.md, junit.xml, index.html; matrix/, soak/)`);
  return failed.length ? 1 : 0;
}

if (process.argv[1] && /nightly\.(js|ts)$/.test(process.argv[1])) {
  const code = await nightly(process.argv.slice(2));
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5_000).unref();
}
