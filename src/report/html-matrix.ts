// index.html of a matrix report directory: the graded rows (cell × mode, expected outcome,
// verdict, what was found and how fast), linking to each row's own run report under cells/.
// Reads the matrix's run.json (format 'pagelock-stress-matrix'); only the fields used here are typed.
import type { ChartSpec } from './html-data.ts';
import { formatUs } from './html-hist.ts';
import { chartBlock, esc, page } from './html-page.ts';

export interface MatrixRow {
  cell: string;
  mode: string;
  expected: string;
  verdict: string; // PASS | FAIL | OPEN | SKIPPED
  reason: string;
  found?: string[];
  detectMs?: number | null;
  detectIterations?: number | null;
  budgetMs?: number;
  wallMs?: number;
  work?: number;
  firstViolation?: string | null;
  command?: string;
  report?: string | null;
  /** a known-bad cell's rows: the modes that caught the cell */
  caughtBy?: string[] | null;
}

export interface MatrixRecord {
  format: 'pagelock-stress-matrix';
  runId: string;
  startedAt?: string;
  elapsedMs?: number;
  outcome: 'SUCCESS' | 'FAILURE';
  endReason?: string;
  tool?: { name: string; version: string; commit: string; node: string };
  config: { seed?: string; shard?: string; budgetMs?: number; modes?: string[]; cells?: string | null; plugins?: string[] } & Record<string, unknown>;
  cellsTotal?: number;
  cellsSelected?: number;
  counts?: Record<string, number>;
  /** time to detect over the known-bad rows, per mode */
  detect?: { mode: string; rows: number; caught: number; medianMs: number | null; medianIterations: number | null }[];
  /** the known-bad cells and which modes caught them */
  detectCells?: { cells: number; caught: number; freeOnly: number; controlledOnly: number; both: number };
  rows: MatrixRow[];
  notes?: string[];
}

export function isMatrixRecord(r: unknown): r is MatrixRecord {
  return !!r && typeof r === 'object' && (r as { format?: unknown }).format === 'pagelock-stress-matrix';
}

/** "PASS 10, FAIL 1, OPEN 2" (verdicts that occur). */
export function countsText(m: MatrixRecord): string {
  const counts: Record<string, number> = { ...(m.counts ?? {}) };
  if (!m.counts) for (const r of m.rows) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([v, n]) => `${v} ${n}`);
  return parts.length ? parts.join(', ') : 'no rows';
}

const secs = (ms: number | null | undefined) => (ms == null ? '-' : formatUs(ms * 1000));

export function renderMatrixHtml(m: MatrixRecord): string {
  const c = m.config;
  const rows = m.rows.map((r, i) => {
    const cls = r.verdict === 'FAIL' ? 'fail' : r.verdict === 'PASS' ? 'pass' : '';
    const detect = r.detectMs == null ? '-' : `${secs(r.detectMs)}${r.detectIterations ? ` (iteration ${r.detectIterations})` : ''}`;
    const link = r.report ? `<a href="${esc(r.report)}/index.html">${esc(r.report)}</a>` : '';
    return `<tr id="row-${i}"><td class="${cls}">${esc(r.verdict)}</td><td><code>${esc(r.cell)}</code></td><td>${esc(r.mode)}</td>`
      + `<td>${esc(r.expected)}</td><td>${esc((r.found ?? []).join(', ') || '-')}</td><td>${esc(r.caughtBy ? r.caughtBy.join(' + ') || 'neither mode' : '-')}</td><td class="num">${esc(detect)}</td>`
      + `<td class="num">${esc(secs(r.budgetMs))}</td><td>${esc(r.reason)}${r.firstViolation ? `<br><code>${esc(r.firstViolation)}</code>` : ''}</td><td>${link}</td></tr>`;
  }).join('\n');
  const table = m.rows.length
    ? `<table id="rows"><thead><tr><th>verdict</th><th>cell</th><th>mode</th><th>expected</th><th>found</th><th>caught by</th><th class="num">detect</th>`
      + `<th class="num">budget</th><th>why</th><th>report</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
    : `<p class="nodata">No rows: nothing was selected in this shard.</p>`;
  const failed = m.rows.filter((r) => r.verdict === 'FAIL');
  const failures = failed.length
    ? `<h2 id="failures">Failures (${failed.length})</h2>\n${failed.map((r) => `<section class="violation"><h3>${esc(r.cell)} (${esc(r.mode)})</h3>
<p>${esc(r.reason)}</p>${r.firstViolation ? `<p>First: <code>${esc(r.firstViolation)}</code></p>` : ''}
${r.command ? `<p>Run it again:</p><pre>${esc(r.command)}</pre>` : ''}</section>`).join('\n')}`
    : '';
  // how fast each caught cell was caught: the detector's health at a glance
  const caught = m.rows.filter((r) => r.detectMs != null);
  const charts: ChartSpec[] = caught.length
    ? [{
      id: 'detect', title: 'Time to the first find per row', kind: 'bars', xLabel: 'row', yLabel: 's',
      x: caught.map((_, i) => i),
      xTicks: { first: 0, labels: caught.map((r) => `${r.cell.split("/").pop()} (${r.mode})`), hover: caught.map((r) => `${r.cell} (${r.mode})`) },
      series: [{ label: 'detect (s)', values: caught.map((r) => Math.round((r.detectMs ?? 0)) / 1000) }],
    }]
    : [];
  const params: [string, unknown][] = [
    ['run id', m.runId], ['started', m.startedAt ?? ''], ['elapsed', secs(m.elapsedMs)], ['end reason', m.endReason ?? ''],
    ['seed', c.seed ?? ''], ['shard', c.shard ?? '1/1'], ['budget', secs(c.budgetMs)], ['modes', (c.modes ?? []).join('+')],
    ['cells filter', c.cells ?? '(all)'], ['cells selected', `${m.cellsSelected ?? '?'} of ${m.cellsTotal ?? '?'}`],
    ['plug-ins', (c.plugins ?? []).join(', ') || '-'],
    ['tool', m.tool ? `${m.tool.name} ${m.tool.version}` : '-'], ['commit', m.tool?.commit ?? '-'], ['node', m.tool?.node ?? '-'],
  ];
  const body = `<h1>pagelock-stress — matrix${c.shard && c.shard !== '1/1' ? ` shard ${esc(c.shard)}` : ''}</h1>
<div class="banner ${m.outcome}" id="banner"><div class="outcome">${esc(m.outcome)}</div>
<div class="why">${esc(countsText(m))} — ${m.rows.length} rows in ${esc(secs(m.elapsedMs))}</div>
<div class="why mono">seed ${esc(c.seed ?? '')} · shard ${esc(c.shard ?? '1/1')} · run ${esc(m.runId)}</div></div>
<p class="legend-note">A clean cell with any violation FAILS; a known-bad cell not caught within its share of the budget FAILS
(the detector regressed); an open cell reports what it showed. A known-bad cell run in both modes is caught when either mode
catches it: both rows run (both times to detect are recorded), and "caught by" says which mode did.</p>
${failures}
<h2 id="all-rows">Rows</h2>
${table}
<h2 id="detection">Detection</h2>
${(m.detect ?? []).length ? `<table id="detect-summary"><thead><tr><th>mode</th><th class="num">known-bad rows caught</th><th class="num">median time to detect</th><th class="num">median iterations</th></tr></thead><tbody>${(m.detect ?? []).map((d) => `<tr><td>${esc(d.mode)}</td><td class="num">${d.caught}/${d.rows}</td><td class="num">${d.medianMs === null ? '-' : esc(secs(d.medianMs))}</td><td class="num">${d.medianIterations === null ? '-' : d.medianIterations}</td></tr>`).join('')}</tbody></table>` : ''}
${m.detectCells?.cells ? `<p id="detect-cells">Known-bad cells caught: ${m.detectCells.caught}/${m.detectCells.cells} (by free mode only ${m.detectCells.freeOnly}, by controlled mode only ${m.detectCells.controlledOnly}, by both ${m.detectCells.both}).</p>` : ''}
${chartBlock(charts[0] ?? null, 'No row found anything.')}
<h2 id="parameters">Parameters</h2>
<table>${params.map(([k, v]) => `<tr><td>${esc(k)}</td><td><code>${esc(v)}</code></td></tr>`).join('')}</table>
${m.notes?.length ? `<h2 id="notes">Notes</h2><ul class="notes">${m.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}`;
  return page(`${m.outcome} · pagelock-stress matrix · ${m.runId}`, body, charts);
}
