// `merge <dir>...`: shard report directories (from `run`, or from a matrix shard holding several run
// directories) → one summary.md, index.html and junit.xml. The merged outcome is FAILURE when any
// run failed, did not finish (its last record is a checkpoint), or a directory held no readable run.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { endStateOf, type EndState, type RunResult } from './result.ts';
import { writeFileAtomic } from './atomic.ts';
import { junitXml, xmlAttr, xmlText } from './junit.ts';
import { violationLine } from './interleaving.ts';
import { readRunResult } from './read.ts';
import type { ChartSpec } from './html-data.ts';
import { chartBlock, esc, page } from './html-page.ts';
import { countsText, isMatrixRecord, type MatrixRecord } from './html-matrix.ts';

export interface MergedRun {
  /** the run directory, as found */
  dir: string;
  /** the run directory relative to the merged output (for links), with '/' separators */
  link: string;
  /** which input directory it came from (the shard) */
  shard: string;
  run: RunResult;
  /** set when the directory is a `matrix` report (its run.json is the graded matrix) */
  matrix: MatrixRecord | null;
}

export interface Merged {
  runs: MergedRun[];
  /** inputs that gave no readable run, one line each */
  problems: string[];
  outcome: 'SUCCESS' | 'FAILURE';
  /** FAIL when any run failed or an input was unreadable; else INCOMPLETE / INTERRUPTED when a
   * run did not reach its end; else PASS */
  endState?: EndState;
}

/** How deep below an input directory to look for run directories (shard/matrix-cell/run-id). */
const MAX_DEPTH = 4;

/** run.json files under `dir` (itself first), skipping `exclude` (the merged output). */
function findRunJsons(dir: string, exclude: string, depth = 0): string[] {
  if (resolve(dir) === exclude) return [];
  const here = join(dir, 'run.json');
  if (existsSync(here)) return [here];
  if (depth >= MAX_DEPTH) return [];
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e);
    let isDir = false;
    try { isDir = statSync(p).isDirectory(); } catch { /* vanished or unreadable: not a run */ }
    if (isDir && !e.startsWith('.')) out.push(...findRunJsons(p, exclude, depth + 1));
  }
  return out;
}

const toLink = (p: string) => p.split(sep).join('/') || '.';

export function collectRuns(dirs: string[], outDir: string): Merged {
  const out = resolve(outDir);
  const runs: MergedRun[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    if (!existsSync(d)) { problems.push(`${d}: no such directory`); continue; }
    const found = findRunJsons(d, out);
    if (found.length === 0) { problems.push(`${d}: no run.json found (the shard wrote no report)`); continue; }
    for (const f of found) {
      const runDir = resolve(f, '..');
      if (seen.has(runDir)) continue;
      seen.add(runDir);
      try {
        const run = readRunResult(f);
        runs.push({ dir: runDir, link: toLink(relative(out, runDir)), shard: d, run, matrix: isMatrixRecord(run) ? run : null });
        if (run.endReason === 'checkpoint') problems.push(`${f}: the run did not finish (its last record is a checkpoint)`);
        else if (!isMatrixRecord(run) && endStateOf(run) === 'INTERRUPTED') problems.push(`${f}: the run was interrupted by a signal before its end (INTERRUPTED)`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  const failed = runs.some((r) => r.run.outcome === 'FAILURE') || problems.length > 0;
  const states = runs.map((r) => (r.matrix ? (r.run.outcome === 'FAILURE' ? 'FAIL' : 'PASS') : endStateOf(r.run)));
  const endState: EndState = runs.some((r) => r.run.outcome === 'FAILURE') || problems.some((p) => !/did not finish|interrupted/.test(p)) ? 'FAIL'
    : states.includes('INCOMPLETE') ? 'INCOMPLETE' : states.includes('INTERRUPTED') ? 'INTERRUPTED' : failed ? 'FAIL' : 'PASS';
  return { runs, problems, outcome: failed ? 'FAILURE' : 'SUCCESS', endState };
}

const roleOf = (r: RunResult) => (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
const totalOps = (r: RunResult) => r.tasks.reduce((a, t) => a + (t.stats?.ops ?? t.ops ?? 0), 0);
const opsPerSec = (r: RunResult) => (r.elapsedMs > 0 ? Math.round(totalOps(r) / (r.elapsedMs / 1000)) : 0);
const maxWait = (r: RunResult) => Math.max(0, ...r.tasks.map((t) => t.stats?.maxWaitUs ?? 0));

/** Why one matrix failed: each failing row, in one line. */
function matrixFailures(m: MatrixRecord): string[] {
  const rows = m.rows.filter((r) => r.verdict === 'FAIL').map((r) => `${r.cell} (${r.mode}): ${r.reason}`);
  return rows.length ? rows : [`ended by ${m.endReason ?? 'unknown'}`];
}

/** What failed in a merged entry, one line each. */
function failureLines(x: MergedRun): string[] {
  return x.matrix ? matrixFailures(x.matrix) : [runFailure(x.run)];
}

/** What an entry showed: "clean", "2 violations, 1 hung", or a matrix's verdict counts. */
function resultText(x: MergedRun): string {
  if (x.matrix) return `matrix: ${countsText(x.matrix)}`;
  const r = x.run;
  const bits = [r.violationCount ? `${r.violationCount} violation${r.violationCount === 1 ? '' : 's'}` : '', r.hung.length ? `${r.hung.length} hung` : '']
    .filter(Boolean);
  return bits.length ? bits.join(', ') : 'clean';
}

/** Why one run failed, in one line: its first violation, then its first hung task. */
export function runFailure(r: RunResult): string {
  const parts: string[] = [];
  if (r.violations.length) parts.push(violationLine(r.violations[0], roleOf(r)) + (r.violationCount > 1 ? ` (+${r.violationCount - 1} more)` : ''));
  else if (r.violationCount > 0) parts.push(`${r.violationCount} violations`);
  if (r.hung.length) parts.push(`HUNG: task ${r.hung[0].task} (${r.hung[0].role}) ${r.hung[0].state}`);
  return parts.length ? parts.join('; ') : `ended by ${r.endReason}`;
}

function label(m: MergedRun): string {
  const c = m.run.config;
  if (m.matrix) return `matrix shard ${m.matrix.config.shard ?? '1/1'} / seed ${c.seed}`;
  return `${c.scenario} / ${c.lock} / seed ${c.seed}`;
}

// ---- summary.md --------------------------------------------------------------------------

const cell = (s: unknown) => String(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function mergedMarkdown(m: Merged): string {
  const failed = m.runs.filter((x) => x.run.outcome === 'FAILURE');
  const plain = m.runs.filter((x) => !x.matrix);
  const lines = [
    `# pagelock-stress merged report: ${m.outcome}`,
    '',
    `${m.runs.length} report${m.runs.length === 1 ? '' : 's'}, ${failed.length} failed`
      + `${plain.length ? `; ${plain.reduce((a, x) => a + x.run.violationCount, 0)} violations and ${plain.reduce((a, x) => a + x.run.hung.length, 0)} hung tasks in runs` : ''}`
      + `${m.problems.length ? `; ${m.problems.length} problem${m.problems.length === 1 ? '' : 's'}` : ''}.`,
    '',
    '| outcome | scenario | lock | seed | result | end | elapsed s | ops/s | max wait µs | report |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...m.runs.map((x) => {
      const r = x.run;
      return `| ${[
        r.outcome, r.config.scenario, r.config.lock, r.config.seed, resultText(x), r.endReason, (r.elapsedMs / 1000).toFixed(1),
        x.matrix ? '-' : opsPerSec(r), x.matrix ? '-' : maxWait(r),
      ].map(cell).join(' | ')} | [summary](${x.link}/summary.md) |`;
    }),
  ];
  if (failed.length) {
    lines.push('', '## Failures', '');
    for (const x of failed) for (const f of failureLines(x)) lines.push(`- **${cell(label(x))}** (${x.link}): ${cell(f)}`);
  }
  if (m.problems.length) {
    lines.push('', '## Problems', '');
    for (const p of m.problems) lines.push(`- ${cell(p)}`);
  }
  lines.push('', `End state: **${m.endState ?? m.outcome}**`, '', `End of merge: ${m.outcome}`, '');
  return lines.join('\n');
}

// ---- junit.xml ---------------------------------------------------------------------------

/**
 * A report directory's test cases: its own junit.xml as its run (or matrix) wrote it; when that is
 * missing or unreadable, rendered again from run.json (a matrix without one becomes a single case).
 */
function junitOf(x: MergedRun): string {
  try {
    const xml = readFileSync(join(x.dir, 'junit.xml'), 'utf8');
    if (xml.includes('<testsuite ') && xml.includes('</testsuite>')) return xml;
  } catch { /* render it from run.json below */ }
  if (!x.matrix) return junitXml(x.run);
  const name = 'pagelock-stress.matrix';
  const fail = x.run.outcome === 'FAILURE';
  const body = fail ? `\n      <failure type="MATRIX" message="${xmlAttr(matrixFailures(x.matrix)[0])}">${xmlText(matrixFailures(x.matrix).join('\n'))}</failure>\n    ` : '';
  return `<testsuite name="${name}" tests="1" failures="${fail ? 1 : 0}" errors="0" skipped="0" time="${(x.run.elapsedMs / 1000).toFixed(3)}">\n`
    + `    <testcase classname="${name}" name="matrix" time="${(x.run.elapsedMs / 1000).toFixed(3)}">${body}</testcase>\n  </testsuite>`;
}

/**
 * The union of every run's test cases: each run's <testsuite> as its own junit.xml writer makes it,
 * renamed `<run dir>: <suite>` so suites of the same scenario from different shards stay apart,
 * plus a `merge` suite with one error per problem (a shard that left no readable report).
 */
export function mergedJunit(m: Merged): string {
  const suites: string[] = [];
  let tests = 0, failures = 0, errors = 0, time = 0;
  for (const x of m.runs) {
    const xml = junitOf(x);
    const start = xml.indexOf('<testsuite ');
    const end = xml.lastIndexOf('</testsuite>');
    if (start < 0 || end < 0) continue;
    let suite = '  ' + xml.slice(start, end + '</testsuite>'.length);
    const name = /<testsuite name="([^"]*)"/.exec(suite)?.[1] ?? '';
    const renamed = xmlAttr(`${x.link}: `) + name;
    suite = suite.split(`name="${name}"`).join(`name="${renamed}"`).split(`classname="${name}"`).join(`classname="${renamed}"`);
    const head = /<testsuite [^>]*>/.exec(suite)![0];
    const n = (k: string) => Number(new RegExp(` ${k}="([\\d.]+)"`).exec(head)?.[1] ?? 0);
    tests += n('tests'); failures += n('failures'); errors += n('errors'); time += n('time');
    suites.push(suite);
  }
  if (m.problems.length) {
    const cases = m.problems.map((p, i) => `    <testcase classname="pagelock-stress.merge" name="${xmlAttr(`problem ${i + 1}`)}" time="0">\n`
      + `      <error type="MISSING-REPORT" message="${xmlAttr(p)}">${xmlText(p)}</error>\n    </testcase>`);
    suites.push(`  <testsuite name="pagelock-stress.merge" tests="${m.problems.length}" failures="0" errors="${m.problems.length}" skipped="0" time="0">\n${cases.join('\n')}\n  </testsuite>`);
    tests += m.problems.length;
    errors += m.problems.length;
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pagelock-stress (merged)" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${time.toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

// ---- index.html --------------------------------------------------------------------------

export function mergedHtml(m: Merged): string {
  const failed = m.runs.filter((x) => x.run.outcome === 'FAILURE');
  const num = (v: number) => v.toLocaleString('en-US');
  const rows = m.runs.map((x) => {
    const r = x.run;
    return `<tr><td class="${r.outcome === 'SUCCESS' ? 'pass' : 'fail'}">${esc(r.outcome)}</td><td>${esc(r.config.scenario)}</td>`
      + `<td>${esc(r.config.lock)}</td><td>${esc(r.config.seed)}</td><td>${esc(resultText(x))}</td><td>${esc(r.endReason)}</td>`
      + `<td class="num">${(r.elapsedMs / 1000).toFixed(1)}</td>`
      + `<td class="num">${x.matrix ? '-' : num(opsPerSec(r))}</td><td class="num">${x.matrix ? '-' : num(maxWait(r))}</td>`
      + `<td><a href="${esc(x.link)}/index.html">${esc(x.link)}</a></td></tr>`;
  }).join('\n');
  const runsTable = m.runs.length
    ? `<table id="runs"><thead><tr><th>outcome</th><th>scenario</th><th>lock</th><th>seed</th><th>result</th><th>end</th>`
      + `<th class="num">elapsed s</th><th class="num">ops/s</th><th class="num">max wait µs</th><th>report</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
    : `<p class="nodata">No run was found.</p>`;
  // single runs side by side (a matrix's figures are in its own report)
  const plain = m.runs.filter((x) => !x.matrix);
  const charts: ChartSpec[] = [];
  let chartHtml = `<p class="nodata">No single runs to compare${m.runs.length ? ' (matrix reports compare their rows in their own index.html)' : ''}.</p>`;
  if (plain.length) {
    const x = plain.map((_, i) => i);
    const xTicks = { first: 0, labels: plain.map((r, i) => `#${i + 1} ${r.run.config.lock}`), hover: plain.map((r) => `${r.link} (${label(r)})`) };
    charts.push(
      { id: 'runs-ops', title: 'Operations/s per run', kind: 'bars', xLabel: 'run', yLabel: 'ops/s', x, xTicks, series: [{ label: 'ops/s', values: plain.map((r) => opsPerSec(r.run)) }] },
      { id: 'runs-wait', title: 'Max lock wait per run', kind: 'bars', xLabel: 'run', yLabel: 'µs', x, xTicks, series: [{ label: 'max wait (µs)', values: plain.map((r) => maxWait(r.run)) }] },
    );
    chartHtml = `<div class="grid2">${charts.map((c) => chartBlock(c, '')).join('\n')}</div>`;
  }
  const failures = failed.length
    ? `<h2 id="failures">Failures (${failed.length})</h2><ul>${failed.map((x) => `<li><a href="${esc(x.link)}/index.html">${esc(label(x))}</a>: `
      + `${failureLines(x).map((f) => `<code>${esc(f)}</code>`).join('<br>')}</li>`).join('')}</ul>`
    : '';
  const problems = m.problems.length
    ? `<h2 id="problems">Problems (${m.problems.length})</h2><ul>${m.problems.map((p) => `<li class="fail">${esc(p)}</li>`).join('')}</ul>`
    : '';
  const shards = new Set(m.runs.map((r) => r.shard)).size;
  const body = `<h1>pagelock-stress — merged report</h1>
<div class="banner ${m.outcome}${m.endState === 'INTERRUPTED' || m.endState === 'INCOMPLETE' ? ` ${m.endState}" style="background:#b7791f` : ''}" id="banner"><div class="outcome">${m.outcome}${m.endState === 'INTERRUPTED' || m.endState === 'INCOMPLETE' ? ` · ${m.endState}` : ''}</div>
<div class="why">${m.runs.length} report${m.runs.length === 1 ? '' : 's'} from ${shards} director${shards === 1 ? 'y' : 'ies'}, ${failed.length} failed${m.problems.length ? `, ${m.problems.length} problem${m.problems.length === 1 ? '' : 's'}` : ''}</div></div>
${failures}
${problems}
<h2 id="all-runs">Reports</h2>
${runsTable}
<h2 id="compare">Compared</h2>
${chartHtml}`;
  return page(`${m.outcome} · pagelock-stress merged (${m.runs.length} reports)`, body, charts);
}

/** Merge `dirs` into `outDir` (created if needed); returns what was merged and the files written. */
export function mergeReports(dirs: string[], outDir: string): Merged & { files: string[] } {
  const m = collectRuns(dirs, outDir);
  mkdirSync(outDir, { recursive: true });
  const files: [string, string][] = [
    ['summary.md', mergedMarkdown(m)],
    ['junit.xml', mergedJunit(m)],
    ['index.html', mergedHtml(m)],
  ];
  for (const [f, text] of files) writeFileAtomic(join(outDir, f), text);
  return { ...m, files: files.map(([f]) => f) };
}
