// index.html of a run directory: one self-contained page (uPlot and the data inlined, nothing
// fetched) rendered from the RunResult alone, so `report <run-dir>` can re-render it from run.json.
import type { HungReport, RunResult, TaskSummary } from './result.ts';
import type { FlightRecord, ViolationRecord } from '../check/violations.ts';
import { INVARIANTS } from '../kernel/invariants.ts';
import {
  interleaving, involvedTasks, isWorkerExits, pageFlagNames, taskName, violationLine, workerEnd, wrappedRingsText,
} from './interleaving.ts';
import { diagramText, reproductionOf } from './diagram.ts';
import { reproductionBlock } from './html-race.ts';
import type { Reproduction } from './result.ts';
import { STAT_NAMES } from '../shm/layout.ts';
import type { RssSummary } from './result.ts';
import { endStateOf } from './result.ts';
import {
  fairness, fairnessChart, histChart, timeCharts, waitPercentiles, type ChartSpec,
} from './html-data.ts';
import { chartBlock, esc, page } from './html-page.ts';
import { HIST_SUB, formatUs } from './html-hist.ts';
import { isMatrixRecord, renderMatrixHtml } from './html-matrix.ts';

/** "PG_locked|PG_waiters" (plus any unnamed bits in hex); "0" when no bit is set. */
export const pageFlagsText = pageFlagNames;

const num = (v: number): string => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : '∞');

function ms(v: number): string {
  if (v < 1000) return `${num(v)} ms`;
  if (v < 120_000) return `${num(Math.round(v / 100) / 10)} s`;
  if (v < 7_200_000) return `${num(Math.round(v / 6000) / 10)} min`;
  return `${num(Math.round(v / 360_000) / 10)} h`;
}

function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = head.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

function isCheckpoint(r: RunResult): boolean {
  return r.endReason === 'checkpoint';
}

function banner(r: RunResult): string {
  const cp = r.extra.checkpoint as { at?: string; n?: number } | undefined;
  const why = isCheckpoint(r)
    ? `checkpoint${cp?.n ? ` #${cp.n}` : ''} written ${esc(cp?.at ?? '')}: the run had not ended (still running, or killed)`
    : `ended by ${esc(r.endReason)} after ${esc(ms(r.elapsedMs))}`;
  const counts = `${num(r.violationCount)} violation${r.violationCount === 1 ? '' : 's'}, ${r.hung.length} hung task${r.hung.length === 1 ? '' : 's'}`;
  const state = endStateOf(r);
  const outcome = isCheckpoint(r) ? `${r.outcome} so far · ${state}` : state === 'INTERRUPTED' ? `${r.outcome} so far · INTERRUPTED` : r.outcome;
  // an unfinished run is not green: amber (inline, so it needs nothing of the page's stylesheet)
  const unfinished = state === 'INTERRUPTED' || state === 'INCOMPLETE' ? ` ${state}" style="background:#b7791f` : '';
  return `<div class="banner ${r.outcome}${unfinished}" id="banner"><div class="outcome">${esc(outcome)}</div>
<div class="why">${why} — ${counts}</div>
<div class="why mono">${esc(r.config.scenario)} · lock ${esc(r.config.lock)} · seed ${esc(r.config.seed)} · ${esc(r.mode)} mode · run ${esc(r.runId)}</div></div>`;
}

function facts(r: RunResult): string {
  const total = (name: 'ops' | 'acquisitions' | 'contended') => r.tasks.reduce((a, t) => a + (t.stats[name] ?? 0), 0);
  const secs = r.elapsedMs / 1000;
  const items: [string, string][] = [
    ['elapsed', ms(r.elapsedMs)],
    ['operations', num(total('ops'))],
    ['ops/s', secs > 0 ? num(Math.round(total('ops') / secs)) : '-'],
    ['acquisitions', num(total('acquisitions'))],
    ['contended', num(total('contended'))],
    ['max wait', formatUs(Math.max(0, ...r.tasks.map((t) => t.stats.maxWaitUs ?? 0)))],
    ['workers / cores', `${r.config.workers} / ${r.cores}${r.oversubscribed ? ' (oversubscribed)' : ''}`],
    ['shared memory', `${num(Math.round(r.memoryBytes / 1024))} KiB`],
  ];
  return `<div class="facts">${items.map(([k, v]) => `<div class="fact"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join('')}</div>`;
}

function pageStateTable(v: ViolationRecord): string {
  const s = v.page_state;
  if (!s) return `<p class="legend-note">No page state (the report is not about one page).</p>`;
  return table(
    ['page', 'flags', '_refcount', '_mapcount', 'mapping', 'index', 'shadow owner'],
    [[
      esc(v.page), `<code>${esc(pageFlagsText(s.flags))}</code>`, esc(s.refcount), esc(s.mapcount),
      s.mapping === 0 ? 'NULL' : `file ${esc(s.mapping - 1)}`, esc(s.index), s.owner === 0 ? 'none' : `task ${esc(s.owner - 1)}`,
    ]],
  );
}

/** The reporting task's own step at the time of the report (the row to mark), if it was recorded. */
function reportingStep(v: ViolationRecord, rows: readonly FlightRecord[]): number {
  if (v.task < 0) return -1; // the checker: no step of its own
  let at = -1;
  for (const f of rows) if (f.task === v.task && f.seq <= v.seq) at = f.seq;
  return at;
}

function flightRows(v: ViolationRecord, rows: FlightRecord[], roleOf: (t: number) => string): string {
  const at = reportingStep(v, v.flight);
  return rows.map((f) => {
    const cls = [f.page === v.page && v.page >= 0 ? 'onpage' : '', f.task === v.task ? 'me' : '', f.seq === at ? 'at' : '']
      .filter(Boolean).join(' ');
    return `<tr${cls ? ` class="${cls}"` : ''}><td class="num">${esc(f.seq)}</td><td>${esc(taskName(f.task, roleOf))}</td>`
      + `<td class="num">${esc(f.op)}</td><td><code>${esc(f.label)}</code></td><td class="num">${esc(f.page)}</td><td class="num">${esc(f.aux)}</td></tr>`;
  }).join('\n');
}

const FLIGHT_HEAD = '<thead><tr><th class="num">seq</th><th>task</th><th class="num">op</th><th>kernel step</th>'
  + '<th class="num">page</th><th class="num">aux</th></tr></thead>';

/** The interleaving as a kernel engineer draws it: one column per task, one row per step (src/report/diagram.ts). */
function diagramBlock(v: ViolationRecord, rows: FlightRecord[], roleOf: (t: number) => string): string {
  const tasks = Math.max(-1, ...rows.map((f) => f.task)) + 1;
  const roles = Array.from({ length: tasks }, (_, t) => roleOf(t) || 'task');
  const at = reportingStep(v, rows);
  const lines = diagramText({
    trace: rows.map((f) => ({ step: f.seq, task: f.task, label: f.label, page: f.page, aux: f.aux, op: f.op, note: '' })),
    roles,
    ops: [],
    violation: { id: v.id, task: v.task, op: v.op, page: v.page, values: v.values, message: v.message || violationLine(v, roleOf) },
    // a step nobody recorded (the checker's report) goes after the last row
    violationStep: at >= 0 ? at : Math.max(0, ...rows.map((f) => f.seq)) + 1,
  });
  return `<pre class="diagram">${esc(lines.join('\n'))}</pre>`;
}

/**
 * The interleaving: the steps every task took on the involved page plus the last steps of each
 * involved task, in global order (src/report/interleaving.ts chooses them, as in summary.md), as a
 * diagram and as a table; every recorded step of every task below it, folded.
 */
function flightTable(v: ViolationRecord, roleOf: (t: number) => string): string {
  if (v.flight.length === 0) return `<p class="nodata">No flight records were captured for this report.</p>`;
  const rows = interleaving(v);
  const involved = involvedTasks(v).map((t) => taskName(t, roleOf)).join(', ');
  return `${diagramBlock(v, rows, roleOf)}
<div class="flight"><table class="flight-records">${FLIGHT_HEAD}<tbody>\n${flightRows(v, rows, roleOf)}\n</tbody></table></div>
<p class="legend-note">Tasks involved (merged from every task's flight ring, in step order): ${esc(involved || 'none')}. Highlighted: steps on page ${esc(v.page)}; red: the reporting task's step when it reported;
bold: the reporting task${v.task < 0 ? ' (the checker)' : ''}.</p>
${wrappedRingsText(v, roleOf) ? `<p class="legend-note wrapped">${esc(wrappedRingsText(v, roleOf))}</p>` : ''}
<details><summary>All ${v.flight.length} recorded steps of every task</summary>
<div class="flight"><table class="flight-all">${FLIGHT_HEAD}<tbody>\n${flightRows(v, v.flight, roleOf)}\n</tbody></table></div></details>`;
}

function violationBlock(v: ViolationRecord, i: number, roleOf: (t: number) => string, rep: Reproduction | null): string {
  const desc = (INVARIANTS as Record<string, string>)[v.id] ?? '';
  // the line names who reported it, the page and the values (src/check/describe.ts); the heading
  // already says the id and what the invariant means: neither is said twice
  const line = violationLine(v, roleOf).slice(v.id.length).replace(/^: /, '').replace(/^ /, '');
  const msg = desc && line.startsWith(`${desc}: `) ? line.slice(desc.length + 2) : line;
  return `<section class="violation" id="violation-${i}">
<h3>${esc(v.id)} — ${esc(desc)}</h3>
<p class="message">${esc(msg)} <span class="legend-note">(reported at step #${esc(v.seq)}${v.task < 0 ? ' by the whole-state check' : ''})</span></p>
<h4>Page state when reported</h4>
${pageStateTable(v)}
<h4>Interleaving (flight records of the free run)</h4>
${flightTable(v, roleOf)}
${rep ? reproductionBlock(rep) : ''}
</section>`;
}

function violationsSection(r: RunResult): string {
  const roleOf = (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
  if (r.violationCount === 0 && r.violations.length === 0) return `<h2 id="violations">Violations</h2>\n<p class="pass">None.</p>`;
  const more = r.violationCount > r.violations.length
    ? `<p class="legend-note">${num(r.violationCount)} reported; the first ${r.violations.length} are kept with full snapshots.</p>` : '';
  const byId = new Map<string, number>();
  for (const v of r.violations) byId.set(v.id, (byId.get(v.id) ?? 0) + 1);
  const sum = table(['invariant', 'kept reports'], [...byId].map(([id, n]) => [`<code>${esc(id)}</code>`, esc(n)]), [false, true]);
  // the reproduction belongs to the first violation of its invariant (the one run --reproduce took)
  const rep = reproductionOf(r);
  const repAt = rep ? r.violations.findIndex((v) => v.id === rep.violation) : -1;
  return `<h2 id="violations">Violations (${num(r.violationCount)})</h2>\n${more}${sum}\n${r.violations.map((v, i) => violationBlock(v, i, roleOf, i === repAt ? rep : null)).join('\n')}`;
}

function hungSection(r: RunResult): string {
  if (r.hung.length === 0) return '';
  const rows = r.hung.map((h: HungReport) => [
    esc(h.task), esc(h.role), esc(h.op), esc(h.state), esc(h.waitPage), `<code>${esc(pageFlagsText(h.pageFlags))}</code>`,
    h.owner < 0 ? 'none' : `task ${esc(h.owner)}`, esc(h.ownerState),
  ]);
  return `<h2 id="hung">Hung tasks (${r.hung.length})</h2>
<section class="violation hung"><h3>HUNG — ${esc(INVARIANTS.HUNG)}</h3>
${table(['task', 'role', 'op', 'state', 'waits on page', 'page flags', 'owner', 'owner state'], rows, [true, false, true])}</section>`;
}

function latencySection(r: RunResult, charts: ChartSpec[]): string {
  const h = histChart(r);
  if (h) charts.push(h);
  const pct = waitPercentiles(r);
  const rows = pct.map((p) => [esc(p.label), num(p.count), esc(formatUs(p.p50)), esc(formatUs(p.p99)), esc(formatUs(p.p999)), esc(formatUs(p.max))]);
  return `<h2 id="latency">Lock wait latency</h2>
${chartBlock(h, 'No lock waits were recorded (no task had to sleep for a page lock).')}
${pct.length ? table(['role', 'waits', 'p50', 'p99', 'p99.9', 'max'], rows, [false, true, true, true, true, true]) : ''}
<p class="legend-note">Log-linear buckets (${HIST_SUB} per power of two, src/shm/histogram.ts); a percentile is the upper bound of its bucket, capped by the exact maximum.</p>`;
}

function fairnessSection(r: RunResult, charts: ChartSpec[]): string {
  const c = fairnessChart(r);
  if (c) charts.push(c);
  const f = fairness(r);
  const summary = f.length
    ? table(['role', 'tasks', 'min acq.', 'max acq.', 'max/min', "Jain's index"],
      f.map((x) => [esc(x.role), num(x.tasks), num(x.min), num(x.max), num(Math.round(x.ratio * 100) / 100), x.jain.toFixed(3)]),
      [false, true, true, true, true, true])
    : '';
  const used = STAT_NAMES.filter((n) => n !== 'ops' && r.tasks.some((t) => (t.stats[n] ?? 0) !== 0));
  const rows = r.tasks.map((t: TaskSummary) => [esc(t.task), esc(t.role), num(t.ops), ...used.map((n) => num(t.stats[n] ?? 0))]);
  // one column per counter: camelCase names may break before a capital, so the table fits the page
  const perTask = r.tasks.length
    ? `<div class="wide">${table(['task', 'role', 'ops', ...used], rows, [true, false, true, ...used.map(() => true)])
      .replace(/<th( class="num")?>([^<]*)<\/th>/g, (_, c: string | undefined, h: string) => `<th${c ?? ''}>${h.replace(/([a-z])([A-Z])/g, '$1<wbr>$2')}</th>`)
      .replace('<table>', '<table class="pertask">')}</div>`
    : `<p class="nodata">No task statistics.</p>`;
  return `<h2 id="fairness">Fairness per task</h2>
${chartBlock(c, 'No task took a page lock.')}
${summary}
<p class="legend-note">Jain's fairness index (Σx)²/(n·Σx²) over a role's acquisitions: 1 = even; 1/n = one task got them all.</p>
${perTask}`;
}

function rssSection(r: RunResult, charts: ChartSpec[]): string {
  const rss = r.extra.rss as RssSummary | undefined;
  if (!rss || !Array.isArray(rss.samples)) return '';
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const spec: ChartSpec | null = rss.samples.length
    ? {
      id: 'rss', title: 'Process RSS', kind: 'line', xLabel: 'time (s)', yLabel: 'MiB', x: rss.samples.map((s) => Math.round(s.t) / 1000),
      series: [{ label: 'RSS max (MiB)', values: rss.samples.map((s) => mib(s.max)) }, { label: 'RSS min (MiB)', values: rss.samples.map((s) => mib(s.min)) }],
    }
    : null;
  if (spec) charts.push(spec);
  return `<h2 id="memory">Memory</h2>
${rss.warning ? `<p class="fail">${esc(rss.warning)}</p>` : ''}
${chartBlock(spec, 'No RSS samples.')}
<p>RSS first ${num(mib(rss.firstBytes))} MiB, min ${num(mib(rss.minBytes))} MiB, max ${num(mib(rss.maxBytes))} MiB, last ${num(mib(rss.lastBytes))} MiB.</p>`;
}

/** Every parameter: the run config (with its scenario extras) and the run's metadata. */
function parametersSection(r: RunResult): string {
  const rows: [string, unknown][] = [];
  for (const [k, v] of Object.entries(r.config)) {
    if (k === 'extra' && v && typeof v === 'object') for (const [ek, ev] of Object.entries(v)) rows.push([`extra.${ek}`, ev]);
    else rows.push([k, v]);
  }
  const meta: [string, unknown][] = [
    ['run id', r.runId], ['mode', r.mode], ['started', r.startedAt], ['elapsed ms', r.elapsedMs], ['end reason', r.endReason],
    ['tool', `${r.tool.name} ${r.tool.version}`], ['commit', r.tool.commit], ['node', r.tool.node], ['cores', r.cores],
    ['oversubscribed', r.oversubscribed], ['shared memory bytes', r.memoryBytes],
    ['invariants checked', r.invariantsChecked.join(', ')],
  ];
  const show = (v: unknown) => `<code>${esc(v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v))}</code>`;
  return `<h2 id="parameters">Parameters</h2>
<div class="side">${table(['parameter', 'value'], rows.map(([k, v]) => [esc(k), show(v)]))}
${table(['run', 'value'], meta.map(([k, v]) => [esc(k), show(v)]))}</div>`;
}

function notesSection(r: RunResult): string {
  if (r.notes.length === 0) return '';
  return `<h2 id="notes">Notes</h2>\n<ul class="notes">${r.notes.map((n) => `<li${/warn|!!!|\?\?\?/i.test(n) ? ' class="warn"' : ''}>${esc(n)}</li>`).join('')}</ul>`;
}

/** Scenario- and feature-specific data not drawn above, shown as JSON. */
function extraSection(r: RunResult): string {
  const keys = Object.keys(r.extra).filter((k) => k !== 'rss' && k !== 'checkpoint' && !(k === 'reproduction' && reproductionOf(r)));
  if (keys.length === 0) return '';
  const shown = (k: string) => {
    const v = r.extra[k];
    if (k === 'workers' && isWorkerExits(v)) return table(['task', 'thread', 'how it ended'], v.map((w) => [esc(w.task), esc(w.threadId), esc(workerEnd(w))]), [true, true, false]);
    return `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
  };
  return `<h2 id="extra">More data</h2>\n${keys.map((k) => `<details><summary>${esc(k)}</summary>${shown(k)}</details>`).join('\n')}`;
}

export function renderHtml(r: RunResult): string {
  // a matrix report directory's run.json is the graded matrix, shaped like a run record
  if (isMatrixRecord(r)) return renderMatrixHtml(r);
  const charts: ChartSpec[] = [];
  const time = timeCharts(r);
  charts.push(...time);
  const timeBlocks = time.length
    ? `<div class="grid2">${time.map((c) => chartBlock(c, '')).join('\n')}</div>`
    : `<p class="nodata">No stats samples were taken (the run ended before the first stats interval).</p>`;
  const body = `<h1>pagelock-stress — ${esc(r.config.scenario)} / ${esc(r.config.lock)}</h1>
${banner(r)}
${facts(r)}
${violationsSection(r)}
${hungSection(r)}
<h2 id="over-time">Over time</h2>
${timeBlocks}
${latencySection(r, charts)}
${fairnessSection(r, charts)}
${rssSection(r, charts)}
${parametersSection(r)}
${notesSection(r)}
${extraSection(r)}`;
  return page(`${r.outcome} · ${r.config.scenario} · ${r.config.lock} · ${r.runId}`, body, charts);
}
