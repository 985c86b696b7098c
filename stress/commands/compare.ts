// `compare --locks v4.14,v5.9,v5.9-rc6 [run flags]`: the same run (scenario, seed, duration,
// workers, every other flag) once per lock algorithm, one after another, then the figures side by
// side: throughput, how contended, how the lock changed hands (hand-offs vs steals, overtaken
// waiters), the wait-time distribution (p50 / p99 / p99.9 / max of slow-path waits) and fairness
// (acquisitions per task, max/min and Jain's index). The 5.9 fair hand-off "famously cut
// hackbench by 69 %" and fixed worst-case latency; bounded unfairness was the compromise
// (kernel-protocols §5.6-5.8): this is where that shape shows, or does not, on this machine.
//
// Writes a compare directory: one run directory per algorithm (run.json, summary.md, junit.xml,
// index.html, as `run` writes them), and summary.md, compare.json and index.html with the table.
// Exit 0 when every run was clean, 1 when one was not (the table is printed anyway), 2 bad usage.
import { basename, isAbsolute, join, relative } from 'node:path';
import type { RunConfig } from '../../src/kernel/config.ts';
import { END_STATE_EXIT, type RunResult } from '../../src/report/result.ts';
import { UsageError, allRunFlags, describeConfig, flagHelp, validateRun, type Validated } from '../../src/run/validate.ts';
import { summarizeHist, type HistSummary } from '../../src/shm/histogram.ts';
import { ensureWritableDir, writeFileAtomic } from '../../src/report/atomic.ts';
import { writeReports } from '../../src/report/write.ts';
import { fairness, jainIndex, sumHist, type ChartSpec } from '../../src/report/html-data.ts';
import { bucketBounds, formatUs } from '../../src/report/html-hist.ts';
import { chartBlock, esc, page } from '../../src/report/html-page.ts';
import { failureReason } from './run.ts';
import type { Command, Context } from './types.ts';

export const DEFAULT_COMPARE_LOCKS = ['v4.14', 'v5.9', 'v5.9-rc6'];

/** The figures of one run that the comparison shows. */
export interface CompareFigures {
  lock: string;
  outcome: RunResult['outcome'];
  endReason: string;
  violations: number;
  elapsedS: number;
  opsPerS: number;
  acquisitions: number;
  acqPerS: number;
  /** % of acquisitions that had to sleep */
  contendedPct: number;
  handoffs: number;
  steals: number;
  overtaken: number;
  eintr: number;
  /** slow-path waits: count and percentiles (ns), from the merged per-task histograms */
  wait: HistSummary;
  /** exact longest wait (µs), from the maxWaitUs counters */
  maxWaitUs: number;
  /** acquisitions per task of the role that took the most locks */
  role: string;
  acqMax: number;
  acqMin: number;
  jain: number;
  /** the merged wait histogram (for the chart) */
  waitHist: number[];
  dir: string;
}

const sumStat = (r: RunResult, name: keyof RunResult['tasks'][number]['stats']) => r.tasks.reduce((a, t) => a + (t.stats[name] ?? 0), 0);

export function compareFigures(r: RunResult, dir = ''): CompareFigures {
  const s = Math.max(1e-3, r.elapsedMs / 1000);
  const acquisitions = sumStat(r, 'acquisitions');
  const waitHist = sumHist(r.tasks.map((t) => t.waitHist));
  // fairness: the role that took the most locks (every task, when they all play one role)
  const f = fairness(r).sort((a, b) => b.max * b.tasks - a.max * a.tasks)[0];
  const xs = f ? r.tasks.filter((t) => t.role === f.role).map((t) => t.stats.acquisitions ?? 0) : [];
  return {
    lock: r.config.lock, outcome: r.outcome, endReason: r.endReason, violations: r.violationCount,
    elapsedS: +s.toFixed(2),
    opsPerS: Math.round(r.tasks.reduce((a, t) => a + t.ops, 0) / s),
    acquisitions, acqPerS: Math.round(acquisitions / s),
    contendedPct: acquisitions ? +(100 * sumStat(r, 'contended') / acquisitions).toFixed(2) : 0,
    handoffs: sumStat(r, 'handoffs'), steals: sumStat(r, 'steals'), overtaken: sumStat(r, 'overtaken'), eintr: sumStat(r, 'eintr'),
    wait: summarizeHist(waitHist), maxWaitUs: Math.max(0, ...r.tasks.map((t) => t.stats.maxWaitUs ?? 0)),
    role: f?.role ?? '-', acqMax: xs.length ? Math.max(...xs) : 0, acqMin: xs.length ? Math.min(...xs) : 0,
    jain: xs.length ? +jainIndex(xs).toFixed(4) : 1, waitHist, dir,
  };
}

const us = (ns: number) => formatUs(ns / 1000).replace('µs', 'us');
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** The side-by-side table: one row per figure, one column per algorithm. */
export function compareRows(fs: CompareFigures[]): string[][] {
  const row = (name: string, f: (x: CompareFigures) => string) => [name, ...fs.map(f)];
  return [
    row('outcome', (x) => `${x.outcome}${x.outcome === 'SUCCESS' ? '' : ` (${x.endReason})`}`),
    row('elapsed', (x) => `${x.elapsedS} s`),
    row('ops/s', (x) => int(x.opsPerS)),
    row('acquisitions/s', (x) => int(x.acqPerS)),
    row('contended', (x) => `${x.contendedPct.toFixed(1)} %`),
    row('hand-offs', (x) => int(x.handoffs)),
    row('steals', (x) => int(x.steals)),
    row('overtaken', (x) => int(x.overtaken)),
    row('killable -EINTR', (x) => int(x.eintr)),
    row('waits (slow path)', (x) => int(x.wait.count)),
    row('wait p50', (x) => us(x.wait.p50Ns)),
    row('wait p99', (x) => us(x.wait.p99Ns)),
    row('wait p99.9', (x) => us(x.wait.p999Ns)),
    row('wait max', (x) => us(x.maxWaitUs * 1000)),
    row('acq/task max', (x) => int(x.acqMax)),
    row('acq/task min', (x) => int(x.acqMin)),
    row("Jain's index", (x) => x.jain.toFixed(3)),
    row('violations', (x) => String(x.violations)),
  ];
}

export function textTable(head: string[], rows: string[][]): string[] {
  const w = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|');

export function compareMarkdown(cfg: RunConfig, flags: string, fs: CompareFigures[], notes: string[]): string {
  const head = ['', ...fs.map((f) => f.lock)];
  const rows = compareRows(fs);
  const failed = fs.some((f) => f.outcome !== 'SUCCESS');
  return [
    `# pagelock-stress compare: ${failed ? 'FAILURE' : 'SUCCESS'}`, '',
    `Scenario \`${cfg.scenario}\`, seed \`${cfg.seed}\`, ${cfg.workers} workers, the same flags for every lock algorithm, run one after another:`, '',
    `\`${flags}\``, '',
    `| ${head.map(mdCell).join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), '',
    'Waits are slow-path lock waits (a task that had to sleep), from log-linear histograms (each percentile is its bucket\'s upper bound, at most 25 % high); the max is exact. '
      + "Fairness is over the acquisitions of each task of the busiest role: max/min and Jain's index (Σx)²/(n·Σx²), 1 = even.", '',
    '## Runs', '',
    ...fs.map((f) => `- \`${f.lock}\`: [summary](${basename(f.dir)}/summary.md), [report](${basename(f.dir)}/index.html)`), '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

export function compareHtml(cfg: RunConfig, flags: string, fs: CompareFigures[], notes: string[]): string {
  const head = ['', ...fs.map((f) => f.lock)];
  const rows = compareRows(fs);
  const failed = fs.some((f) => f.outcome !== 'SUCCESS');
  const charts: ChartSpec[] = [];
  // wait distributions, one step line per algorithm over the used buckets
  const n = Math.max(0, ...fs.map((f) => f.waitHist.length));
  let first = n, last = -1;
  for (const f of fs) f.waitHist.forEach((c, i) => { if (c > 0) { first = Math.min(first, i); last = Math.max(last, i); } });
  if (last >= 0) {
    const idx: number[] = [];
    for (let i = first; i <= last; i++) idx.push(i);
    charts.push({
      id: 'cmp-hist', title: 'Lock wait latency (slow path), per algorithm', kind: 'step', xLabel: 'lock wait (bucket lower bound)', yLabel: 'waits',
      x: [...idx.map((i) => i - 0.5), last + 0.5],
      xTicks: { first, labels: idx.map((i) => formatUs(bucketBounds(i, n)[0])) },
      series: fs.map((f) => ({ label: f.lock, values: [...idx.map((i) => f.waitHist[i] ?? 0), f.waitHist[last] ?? 0] })),
    });
  }
  charts.push({
    id: 'cmp-rate', title: 'Acquisitions per second', kind: 'bars', xLabel: 'lock algorithm', yLabel: 'acquisitions/s',
    x: fs.map((_, i) => i), xTicks: { first: 0, labels: fs.map((f) => f.lock) },
    series: [{ label: 'acquisitions/s', values: fs.map((f) => f.acqPerS) }],
  });
  const table = `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`
    + rows.map((r) => `<tr>${r.map((c, i) => (i ? `<td class="num">${esc(c)}</td>` : `<th>${esc(c)}</th>`)).join('')}</tr>`).join('')
    + '</tbody></table>';
  const body = `<h1>compare: <span class="${failed ? 'fail' : 'ok'}">${failed ? 'FAILURE' : 'SUCCESS'}</span></h1>
<p>Scenario <code>${esc(cfg.scenario)}</code>, seed <code>${esc(cfg.seed)}</code>, ${cfg.workers} workers; the same flags for every algorithm:</p>
<p><code>${esc(flags)}</code></p>
${table}
<p class="legend-note">Waits are slow-path lock waits; percentiles are histogram bucket upper bounds (at most 25 % high), the max is exact. Jain's index (Σx)²/(n·Σx²) over acquisitions per task: 1 = even.</p>
<h2>Wait latency</h2>
${chartBlock(charts.find((c) => c.id === 'cmp-hist') ?? null, 'no task had to wait')}
<h2>Throughput</h2>
${chartBlock(charts.find((c) => c.id === 'cmp-rate') ?? null, 'no acquisitions')}
<h2>Runs</h2>
<ul>${fs.map((f) => `<li><a href="${esc(encodeURIComponent(basename(f.dir)))}/index.html">${esc(f.lock)}</a>: ${esc(f.outcome)}</li>`).join('')}</ul>
${notes.length ? `<h2>Notes</h2><ul>${notes.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}`;
  return page(`pagelock-stress compare: ${cfg.scenario}`, body, charts);
}

/** Take `--locks A,B` (or `--locks=A,B`) out of argv; refuse `--lock`. */
export function extractLocks(argv: readonly string[]): { locks: string[] | null; rest: string[] } {
  const rest: string[] = [];
  let locks: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--lock' || a.startsWith('--lock=')) throw new UsageError("compare takes --locks A,B[,C] (a comma-separated list), not --lock");
    let v: string | undefined;
    if (a === '--locks') {
      v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError('--locks needs a value (A,B[,C])');
    } else if (a.startsWith('--locks=')) v = a.slice('--locks='.length);
    else {
      rest.push(a);
      continue;
    }
    locks = v.split(',').map((x) => x.trim()).filter(Boolean);
  }
  return { locks, rest };
}

function shown(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

export function compareHelp(ctx: Context): string[] {
  const { common } = allRunFlags(ctx.registry);
  return [
    'usage: pagelock-stress compare [--locks v4.14,v5.9,v5.9-rc6] [run flags]',
    '',
    'Runs the same scenario (same seed, duration, workers and every other flag) with each lock algorithm,',
    'one after another, and prints the figures side by side: acquisitions/s, contended %, hand-offs vs',
    "steals, overtaken waiters, slow-path wait p50/p99/p99.9/max, acquisitions per task max/min and Jain's",
    'index. Writes a compare directory (--report-dir, default reports/compare-<time>-<scenario>-s<seed>/)',
    'with summary.md, compare.json, index.html and one run directory per algorithm.',
    'For contention: --scenario locks --pages 1 (every worker on one page), more workers than cores.',
    '',
    'Flags:',
    `  --locks A,B[,C]  lock algorithms to compare (default ${DEFAULT_COMPARE_LOCKS.join(',')})`,
    ...flagHelp(common.filter((f) => f.name !== 'lock')),
    '',
    'Scenario flags as for run (pagelock-stress help run). Exit codes: 0 every run clean, 1 a run failed, 2 bad usage.',
  ];
}

export async function compareMain(argv: string[], ctx: Context): Promise<number> {
  const { io } = ctx;
  if (argv.includes('--help') || argv.includes('-h')) {
    for (const l of compareHelp(ctx)) io.out(l);
    return 0;
  }
  const { locks: given, rest } = extractLocks(argv);
  const locks = given ?? DEFAULT_COMPARE_LOCKS;
  if (locks.length < 2) throw new UsageError(`--locks wants at least two algorithms (got '${locks.join(',')}')`);
  if (new Set(locks).size !== locks.length) throw new UsageError(`--locks names an algorithm twice ('${locks.join(',')}')`);
  // validate every configuration before any work starts
  const runs: Validated[] = locks.map((lock) => validateRun([...rest, '--lock', lock], ctx.registry, undefined, 'compare'));
  const base = runs[0].cfg;
  const startedAt = ctx.now();
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
  const dir = base.reportDir
    ? (isAbsolute(base.reportDir) ? base.reportDir : join(ctx.cwd, base.reportDir))
    : join(ctx.cwd, 'reports', `compare-${stamp}-${safe(base.scenario)}-s${safe(base.seed)}`);
  try {
    ensureWritableDir(dir);
    for (const lock of locks) ensureWritableDir(join(dir, safe(lock)));
  } catch (e) {
    throw new UsageError(`cannot write reports to ${base.reportDir ?? 'reports/compare-<time>'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const flags = describeConfig({ ...base, lock: locks.join(','), reportDir: shown(ctx.cwd, dir) }, runs[0].flags).replace(/\block=\S+/, `locks=${locks.join(',')}`);
  const git = ctx.git();
  io.out(`--- Start of compare: ${flags} commit=${git.label} version=${ctx.version} node=${process.version}`);
  for (const w of runs[0].warnings.filter((x) => !x.includes('--unfairness'))) io.out(`WARNING: ${w}`);
  if (base.workers > ctx.cores) io.out(`--- ${base.workers} workers on ${ctx.cores} cores (oversubscribed: waiters get preempted, as on a loaded machine)`);

  const ac = new AbortController();
  let stoppedBy = '';
  const uninstall = ctx.onSignal((sig) => {
    if (!stoppedBy) io.err(`${sig}: stopping the current run; the runs done so far are compared`);
    stoppedBy = sig;
    ac.abort(new Error(sig));
  });
  const figures: CompareFigures[] = [];
  const notes: string[] = [];
  try {
    for (const [i, v] of runs.entries()) {
      if (ac.signal.aborted) break;
      const cfg = v.cfg;
      const sub = join(dir, safe(cfg.lock));
      cfg.reportDir = shown(ctx.cwd, sub);
      io.out(`--- [${i + 1}/${runs.length}] lock ${cfg.lock}`);
      let r: RunResult;
      try {
        r = await ctx.runStress(cfg, { onStats: (_s, line) => io.out(`  ${line}`) }, ac.signal);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        io.err(`pagelock-stress: the ${cfg.lock} run crashed: ${(e as Error)?.stack ?? String(e)}`);
        notes.push(`${cfg.lock}: the run crashed: ${(e as Error)?.message ?? String(e)}`);
        continue;
      }
      r.runId = `compare-${stamp}-${safe(cfg.lock)}`;
      if (!r.tool.commit || r.tool.commit === 'unknown') r.tool.commit = git.dirty ? `${git.commit}-dirty` : git.commit;
      const { errors } = writeReports(sub, r);
      for (const e of errors) io.err(`pagelock-stress: could not write a report: ${e}`);
      const f = compareFigures(r, shown(ctx.cwd, sub));
      figures.push(f);
      if (r.outcome !== 'SUCCESS') notes.push(`${cfg.lock}: ${failureReason(r)}`);
      io.out(`--- ${cfg.lock}: ${r.outcome}${r.outcome === 'SUCCESS' ? '' : ` (${failureReason(r)})`}, ${int(f.acqPerS)} acquisitions/s, wait p99 ${us(f.wait.p99Ns)} max ${us(f.maxWaitUs * 1000)}`);
    }
  } finally {
    uninstall();
  }
  if (stoppedBy) notes.push(`stopped by ${stoppedBy}`);

  io.out('');
  for (const l of textTable(['', ...figures.map((f) => f.lock)], compareRows(figures))) io.out(l);
  io.out('');
  const cfgOut: RunConfig = { ...base, lock: locks.join(','), reportDir: shown(ctx.cwd, dir) };
  const record = {
    kind: 'compare', tool: { name: 'pagelock-stress', version: ctx.version, commit: git.dirty ? `${git.commit}-dirty` : git.commit, node: process.version },
    startedAt: startedAt.toISOString(), config: cfgOut, locks, figures, notes,
  };
  const errors: string[] = [];
  for (const [file, text] of [
    ['compare.json', JSON.stringify(record, null, 2) + '\n'],
    ['summary.md', compareMarkdown(cfgOut, flags, figures, notes)],
    ['index.html', compareHtml(cfgOut, flags, figures, notes)],
  ] as const) {
    try {
      writeFileAtomic(join(dir, file), text);
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
  }
  for (const e of errors) io.err(`pagelock-stress: could not write a report: ${e}`);
  const ok = figures.length === runs.length && figures.every((f) => f.outcome === 'SUCCESS') && !stoppedBy;
  // a signal before every run ended, with nothing failed: INTERRUPTED (exit 3), not SUCCESS nor FAILURE
  const interrupted = !ok && !!stoppedBy && figures.every((f) => f.outcome === 'SUCCESS') && !notes.some((n) => n.includes('crashed'));
  io.out(`End of compare: ${ok ? 'SUCCESS' : interrupted ? 'INTERRUPTED' : 'FAILURE'}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  io.out(`--- reports: ${shown(ctx.cwd, dir)}/ (summary.md, compare.json, index.html, ${locks.map(safe).join('/, ')}/)`);
  if (interrupted) return END_STATE_EXIT.INTERRUPTED;
  return ok && errors.length === 0 ? 0 : 1;
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'the same run with two or three lock algorithms, figures side by side (throughput, waits, fairness)',
  help: compareHelp,
  run: compareMain,
};
