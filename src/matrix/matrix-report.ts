// A matrix's reports: the console table, summary.md, junit.xml (one test case per graded row),
// run.json (the MatrixResult). Each row's own run keeps its full report under cells/ (written
// by the run's report writers, src/report/write.ts).
import { renderHtml } from '../report/html.ts';
import type { RunResult } from '../report/result.ts';
import { join } from 'node:path';
import { writeFileAtomic } from '../report/atomic.ts';
import { xmlAttr, xmlText } from '../report/junit.ts';
import type { Verdict } from './grade.ts';
import type { MatrixResult, RowResult } from './matrix-run.ts';
import { cellsCaught, cellsCaughtLine, detectSummary, type CellsCaught, type DetectSummary } from './detect.ts';

export { cellsCaught, cellsCaughtLine, detectSummary, type CellsCaught, type DetectSummary };

export function secs(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Time to detect: seconds, and for controlled rows the iteration that found it. */
export function detectText(r: RowResult): string {
  if (r.detectMs === null) return '-';
  return r.detectIterations !== null ? `${secs(r.detectMs)} (it ${r.detectIterations})` : secs(r.detectMs);
}

/** The greppable line printed as each row finishes: `[PASS] cell (mode): reason`. */
export function rowLine(r: RowResult): string {
  const tail = r.mode === 'replay' ? '' : `; budget ${secs(r.budgetMs)}, wall ${secs(r.wallMs)}${r.detectMs !== null ? `, detect ${detectText(r)}` : ''}`;
  return `[${r.verdict}] ${r.cell} (${r.mode}): ${r.reason}${tail}`;
}

/** The final table. */
export function matrixTable(m: MatrixResult): string[] {
  const head = ['verdict', 'cell', 'mode', 'expected', 'detect', 'budget', 'found'];
  const cells = m.rows.map((r) => [r.verdict, r.cell, r.mode, r.expected, detectText(r), r.mode === 'replay' ? '-' : secs(r.budgetMs), r.found.join(',') || '-']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...cells.map(line)];
}

export function countsText(c: Record<Verdict, number>): string {
  return `${c.PASS} PASS, ${c.OPEN} OPEN, ${c.FAIL} FAIL${c.SKIPPED ? `, ${c.SKIPPED} SKIPPED` : ''}`;
}

// ---- summary.md -----------------------------------------------------------------------------

const md = (s: unknown) => String(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function matrixMarkdown(m: MatrixResult): string {
  const c = m.config;
  const out: string[] = [
    `# pagelock-stress matrix: ${m.outcome}`, '',
    `**${m.outcome}** — ${countsText(m.counts)}; ${m.rows.length} rows from ${m.cellsSelected} of ${m.cellsTotal} cells `
      + `(shard ${c.shard}${c.cells ? `, --cells ${c.cells}` : ''}), modes ${c.modes.join('+')}, budget ${secs(c.budgetMs)}, `
      + `seed \`${c.seed}\`, ${secs(m.elapsedMs)} in all.`, '',
    ...detectSummary(m).map((d) => `- ${detectSummaryLine(d)}`), ...(m.detectCells?.cells ? [`- ${cellsCaughtLine(m.detectCells)}`] : []),
    ...(detectSummary(m).length ? [''] : []),
    `Run \`${m.runId}\` started ${m.startedAt}. Tool ${m.tool.name} ${m.tool.version}, commit \`${m.tool.commit}\`, Node ${m.tool.node}.`
      + `${c.plugins.length ? ` Plug-ins: ${c.plugins.map((p) => `\`${p}\``).join(', ')}.` : ''}`, '',
    'Verdicts: a `clean` cell with any violation FAILS; a known-bad cell (`breaks ...`) not caught within its share of the '
      + 'budget FAILS (the detector regressed), and so does one caught only as an invariant it does not list; an `open` cell '
      + 'reports what it showed. A known-bad cell run in both modes is caught when either mode catches it (both rows run, '
      + 'so both times are recorded). Detect = time to the first find (controlled: exploration time and iteration).', '',
    '| verdict | cell | mode | expected | detect | budget | found | caught by | why | report |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...m.rows.map((r) => `| ${[
      r.verdict === 'FAIL' ? '**FAIL**' : r.verdict, `\`${r.cell}\``, r.mode, r.expected, detectText(r),
      r.mode === 'replay' ? '-' : secs(r.budgetMs), r.found.join(', ') || '-', caughtByText(r), r.reason,
    ].map(md).join(' | ')} | ${r.report ? `[${md(r.report)}](${r.report}/)` : r.corpus ? md(r.corpus) : ''} |`),
    '',
  ];
  const failed = m.rows.filter((r) => r.verdict === 'FAIL');
  if (failed.length) {
    out.push('## Failures', '');
    for (const r of failed) {
      out.push(`### ${md(r.cell)} (${r.mode})`, '', `${r.reason}`, '');
      if (r.firstViolation) out.push(`First: \`${md(r.firstViolation)}\``, '');
      out.push(`Expected ${r.expected}: ${r.reasoning}${r.source ? ` (${r.source})` : ''}`, '');
      if (r.command) out.push('Run it again:', '', '```', r.command, '```', '');
      for (const n of r.notes) out.push(`- ${n}`);
      if (r.notes.length) out.push('');
    }
  }
  const open = m.rows.filter((r) => r.verdict === 'OPEN');
  if (open.length) {
    out.push('## Open cells: what they showed', '');
    for (const r of open) {
      out.push(`- **${md(r.cell)}** (${r.mode}): ${r.reason}${r.firstViolation ? ` — first: \`${md(r.firstViolation)}\`` : ''}`
        + ` (${r.mode === 'controlled' ? `${r.work} iterations` : `${r.work} operations`} in ${secs(r.budgetMs)})${r.report ? `; [report](${r.report}/)` : ''}`);
    }
    out.push('');
  }
  const candidates = m.rows.filter((r) => r.mode === 'controlled' && r.corpus);
  if (candidates.length) {
    out.push('## Regression corpus candidates', '',
      'Each controlled find was written as a corpus entry. To keep one, copy it into `stress/regressions/` and commit it '
        + '(see docs/writing-a-variant.md, "The regression corpus").', '');
    for (const r of candidates) out.push(`- \`${r.corpus}\` (${r.cell}, ${r.found.join(', ')})`);
    out.push('');
  }
  const noted = m.rows.filter((r) => r.notes.length && r.verdict !== 'FAIL');
  if (noted.length) {
    out.push('## Notes', '');
    for (const r of noted) for (const n of r.notes) out.push(`- ${md(r.cell)} (${r.mode}): ${md(n)}`);
    out.push('');
  }
  for (const n of m.notes) out.push(`- ${n}`);
  out.push('', `End of matrix: ${m.outcome} (${countsText(m.counts)})`, '');
  return out.join('\n');
}

// ---- time to detect ----------------------------------------------------------------------------

/** 'free', 'controlled', 'free + controlled', 'neither mode'; '-' for rows not of a known-bad cell. */
export function caughtByText(r: { caughtBy?: readonly string[] | null }): string {
  if (!r.caughtBy) return '-';
  return r.caughtBy.length ? r.caughtBy.join(' + ') : 'neither mode';
}

export function detectSummaryLine(d: DetectSummary): string {
  return `time to detect, ${d.mode}: ${d.caught}/${d.rows} known-bad rows caught`
    + (d.medianMs === null ? '' : `, median ${secs(d.medianMs)}${d.medianIterations !== null ? ` (${d.medianIterations} iterations)` : ''}`);
}

// ---- junit.xml ------------------------------------------------------------------------------

const attrs = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`).join('');

/** One test case per row: classname pagelock-stress.matrix.<scenario>, name `<cell> [mode]`.
 * FAIL is a <failure>, SKIPPED <skipped/>, OPEN passes with its findings in <system-out>. */
export function matrixJunit(m: MatrixResult): string {
  const cases = m.rows.map((r) => {
    const head = `    <testcase${attrs({ classname: `pagelock-stress.matrix.${r.scenario}`, name: `${r.cell} [${r.mode}]`, time: (r.wallMs / 1000).toFixed(3) })}>`;
    const detail = [
      `expected: ${r.expected} — ${r.reasoning}${r.source ? ` (${r.source})` : ''}`,
      `verdict: ${r.verdict}: ${r.reason}`,
      `found: ${r.found.join(', ') || 'nothing'}; detect ${detectText(r)}; budget ${secs(r.budgetMs)}; wall ${secs(r.wallMs)}${r.caughtBy ? `; cell caught by: ${caughtByText(r)}` : ''}`,
      ...(r.firstViolation ? [`first: ${r.firstViolation}`] : []),
      ...r.notes.map((n) => `note: ${n}`),
      ...(r.command ? [`again: ${r.command}`] : []),
      ...(r.report ? [`report: ${r.report}/`] : []),
      ...(r.corpus ? [`corpus: ${r.corpus}`] : []),
    ].join('\n');
    // time to detect as properties (CI trend plugins read them): every row that found something
    // or was expected to
    const rowProps: [string, string][] = r.detectMs !== null || r.expected.startsWith('breaks')
      ? [['detectMs', r.detectMs === null ? 'none' : String(r.detectMs)], ...(r.mode === 'controlled' ? [['detectIterations', r.detectIterations === null ? 'none' : String(r.detectIterations)] as [string, string]] : []),
        ['budgetMs', String(r.budgetMs)], ['work', String(r.work)], ...(r.caughtBy ? [['caughtBy', caughtByText(r)] as [string, string]] : [])]
      : [];
    let body = rowProps.length ? `      <properties>\n${rowProps.map(([k, v]) => `        <property${attrs({ name: k, value: v })}/>`).join('\n')}\n      </properties>\n` : '';
    if (r.verdict === 'FAIL') body += `      <failure${attrs({ type: r.found[0] ?? 'NOT-CAUGHT', message: r.reason })}>${xmlText(detail)}</failure>\n`;
    else if (r.verdict === 'SKIPPED') body = `      <skipped${attrs({ message: r.reason })}/>\n`;
    body += `      <system-out>${xmlText(detail)}</system-out>\n`;
    return `${head}\n${body}    </testcase>`;
  });
  const counts = {
    tests: m.rows.length, failures: m.counts.FAIL, errors: 0, skipped: m.counts.SKIPPED, time: (m.elapsedMs / 1000).toFixed(3),
  };
  const props = [
    ['seed', m.config.seed], ['budgetMs', String(m.config.budgetMs)], ['modes', m.config.modes.join(',')], ['shard', m.config.shard],
    ['cells', m.config.cells ?? '*'], ['commit', m.tool.commit], ['version', m.tool.version], ['node', m.tool.node],
    ['plugins', m.config.plugins.join(',')], ['outcome', m.outcome],
    ...detectSummary(m).flatMap((d) => [
      [`detect.${d.mode}.caught`, `${d.caught}/${d.rows}`],
      [`detect.${d.mode}.medianMs`, d.medianMs === null ? 'none' : String(d.medianMs)],
      ...(d.medianIterations !== null ? [[`detect.${d.mode}.medianIterations`, String(d.medianIterations)]] : []),
    ]),
    ...(m.detectCells?.cells ? [
      ['detect.cells.caught', `${m.detectCells.caught}/${m.detectCells.cells}`], ['detect.cells.freeOnly', String(m.detectCells.freeOnly)],
      ['detect.cells.controlledOnly', String(m.detectCells.controlledOnly)], ['detect.cells.both', String(m.detectCells.both)],
    ] : []),
  ].map(([k, v]) => `      <property${attrs({ name: k, value: v })}/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'pagelock-stress matrix', ...counts })}>`,
    `  <testsuite${attrs({ name: `pagelock-stress.matrix (shard ${m.config.shard})`, ...counts, timestamp: m.startedAt.replace(/Z$/, ''), hostname: 'localhost' })}>`,
    '    <properties>', ...props, '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** run.json first (the raw record), then the rendered ones. */
export function writeMatrixReports(dir: string, m: MatrixResult): { written: string[]; errors: string[] } {
  const files: [string, () => string][] = [
    ['run.json', () => JSON.stringify(m, null, 2) + '\n'],
    ['summary.md', () => matrixMarkdown(m)],
    ['junit.xml', () => matrixJunit(m)],
    // the HTML renderer reads a matrix's run.json as it is (src/report/html-matrix.ts)
    ['index.html', () => renderHtml(m as unknown as RunResult)],
  ];
  const written: string[] = [], errors: string[] = [];
  for (const [f, render] of files) {
    try {
      writeFileAtomic(join(dir, f), render());
      written.push(f);
    } catch (e) {
      errors.push(`${f}: ${(e as Error).message}`);
    }
  }
  return { written, errors };
}
