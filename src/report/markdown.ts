// summary.md: what a person reads first. Outcome, every parameter, stats per task and role,
// then each violation with the interleaving of the involved tasks' kernel steps.
import type { RunResult, TaskSummary } from './result.ts';
import type { RssSummary } from './result.ts';
import { endStateOf } from './result.ts';
import { STAT_NAMES, type StatName } from '../shm/layout.ts';
import { INVARIANTS, type InvariantId } from '../kernel/invariants.ts';
import {
  interleaving, involvedTasks, isWorkerExits, pageFlagNames, taskName, violationLine, workerEnd, wrappedRingsText,
} from './interleaving.ts';
import { reproductionOf, reproductionOutcome } from './diagram.ts';
import type { Reproduction } from './result.ts';

/** Violations shown in full; the rest are counted. */
const MAX_SHOWN = 10;

/** Markdown table cells: pipes and newlines would break the row. */
const cell = (s: unknown) => String(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const table = (head: string[], rows: unknown[][]) => [
  `| ${head.map(cell).join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
];

function paramValue(key: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (/Ms$/.test(key) && typeof v === 'number') return `${v} ms`;
  return String(v);
}

/** The stat columns worth showing: those some task counted. */
function usedStats(tasks: TaskSummary[]): StatName[] {
  return STAT_NAMES.filter((n) => n !== 'ops' && tasks.some((t) => (t.stats[n] ?? 0) !== 0));
}

/** The end state, honestly (src/report/result.ts endStateOf): an unfinished run is not a PASS. */
function endStateLine(r: RunResult): string {
  const st = endStateOf(r);
  const why = st === 'INTERRUPTED' ? ': stopped by a signal before its end (nothing found in the part that ran)'
    : st === 'INCOMPLETE' ? ': a checkpoint of a run that had not ended (still running, or killed)' : '';
  return `End state: **${st}**${why}.`;
}

/** run --reproduce under its violation: the outcome, the replay command, the shrunk diagram. */
function reproductionMarkdown(rep: Reproduction): string[] {
  const out = ['#### Reproduction (run --reproduce)', ''];
  out.push(reproductionOutcome(rep), '');
  if (rep.replay) out.push('```', rep.replay, '```', '');
  if (rep.diagram?.length) out.push('The race, shrunk and replayed under the controlled driver:', '', '```', ...rep.diagram, '```', '');
  return out;
}

export function summaryMarkdown(r: RunResult): string {
  const roleOf = (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
  const c = r.config;
  const out: string[] = [];
  out.push(`# pagelock-stress: ${r.outcome}`, '');
  out.push(`**${r.outcome}** — scenario \`${c.scenario}\`, lock \`${c.lock}\`, seed \`${c.seed}\`, ended by ${r.endReason} after ${(r.elapsedMs / 1000).toFixed(1)} s; ${r.violationCount} violation(s), ${r.hung.length} hung task(s).`, '');
  out.push(endStateLine(r), '');
  out.push(`Run \`${r.runId}\` started ${r.startedAt}, ${r.mode} mode, ${c.workers} workers on ${r.cores} cores${r.oversubscribed ? ' (oversubscribed)' : ''}, shared model ${r.memoryBytes} bytes. Tool ${r.tool.name} ${r.tool.version}, commit \`${r.tool.commit}\`, Node ${r.tool.node}.`, '');

  out.push('## Parameters', '');
  const params: [string, unknown][] = Object.entries(c).filter(([k]) => k !== 'extra');
  for (const [k, v] of Object.entries(c.extra)) params.push([`${k} (scenario)`, v]);
  out.push(...table(['parameter', 'value'], params.map(([k, v]) => [k, paramValue(k, v)])), '');

  if (r.tasks.length) {
    const cols = usedStats(r.tasks);
    out.push('## Stats per role', '');
    const roles = [...new Set(r.tasks.map((t) => t.role))];
    out.push(...table(['role', 'tasks', 'ops', 'min ops', 'max ops', ...cols], roles.map((role) => {
      const ts = r.tasks.filter((t) => t.role === role);
      const ops = ts.map((t) => t.ops);
      return [role, ts.length, ops.reduce((a, b) => a + b, 0), Math.min(...ops), Math.max(...ops),
        ...cols.map((n) => n === 'maxWaitUs' ? Math.max(...ts.map((t) => t.stats[n] ?? 0)) : ts.reduce((a, t) => a + (t.stats[n] ?? 0), 0))];
    })), '');
    out.push('## Stats per task', '');
    out.push(...table(['task', 'role', 'ops', ...cols], r.tasks.map((t) => [t.task, t.role, t.ops, ...cols.map((n) => t.stats[n] ?? 0)])), '');
  }

  out.push('## Invariants checked', '');
  const ids = [...new Set<string>([...r.invariantsChecked, 'HUNG', ...r.violations.map((v) => v.id)])];
  out.push(...table(['invariant', 'result', 'what it means'], ids.map((id) => {
    const n = id === 'HUNG' ? r.hung.length : r.violations.filter((v) => v.id === id).length;
    return [id, n ? `FAILED (${n})` : 'ok', INVARIANTS[id as InvariantId] ?? ''];
  })), '');

  if (r.hung.length) {
    out.push('## Hung tasks', '');
    for (const h of r.hung)
      out.push(`- task ${h.task} (${h.role}) op ${h.op}: ${h.state} — page ${h.waitPage} flags ${pageFlagNames(h.pageFlags)}, owner ${h.owner < 0 ? 'none' : `task ${h.owner}`}${h.ownerState && !h.state.includes(h.ownerState) ? `: ${h.ownerState}` : ''}`);
    out.push('');
  }

  if (r.violations.length) {
    out.push('## Violations', '');
    if (r.violationCount > r.violations.length) out.push(`${r.violationCount} reported, ${r.violations.length} recorded with flight records.`, '');
    // run --reproduce's result goes under the first violation of its invariant
    const rep = reproductionOf(r);
    const repAt = rep ? r.violations.findIndex((v) => v.id === rep.violation) : -1;
    r.violations.slice(0, MAX_SHOWN).forEach((v, i) => {
      out.push(`### ${i + 1}. ${v.id}`, '', violationLine(v, roleOf), '');
      if (v.page_state) {
        const p = v.page_state;
        out.push(`Page ${v.page} when reported: flags ${pageFlagNames(p.flags)}, refcount ${p.refcount}, mapcount ${p.mapcount}, mapping ${p.mapping}, index ${p.index}, owner ${p.owner ? `task ${p.owner - 1}` : 'none'}.`, '');
      }
      out.push(`Involved tasks: ${involvedTasks(v).map((t) => taskName(t, roleOf)).join(', ') || 'none'}. Steps on page ${v.page} and the last steps of each involved task, merged from every task's flight ring in step order:`, '');
      const rows = interleaving(v);
      if (rows.length) out.push(...table(['seq', 'task', 'op', 'kernel step', 'page', 'aux'], rows.map((f) => [f.seq, taskName(f.task, roleOf), f.op, `\`${f.label}\``, f.page, f.aux])), '');
      else out.push('(no flight records)', '');
      const wrapped = wrappedRingsText(v, roleOf);
      if (wrapped) out.push(wrapped, '');
      if (i === repAt && rep) out.push(...reproductionMarkdown(rep));
    });
    if (r.violations.length > MAX_SHOWN) out.push(`… and ${r.violations.length - MAX_SHOWN} more in run.json.`, '');
  }

  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  const rss = r.extra?.rss as RssSummary | undefined;
  if (rss && Array.isArray(rss.samples)) {
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    out.push('## Memory', '', `Process RSS: first ${mib(rss.firstBytes)}, min ${mib(rss.minBytes)}, max ${mib(rss.maxBytes)}, last ${mib(rss.lastBytes)}; `
      + (rss.samples.length < 9 ? `growth not judged (${rss.samples.length} samples).`
        : `growth ${rss.growthPct.toFixed(1)} % (the last third's lowest vs the first third's highest, ${rss.samples.length} samples).`)
      + (rss.warning ? ` **${rss.warning}**` : ''), '');
  }
  const extra = Object.entries(r.extra ?? {}).filter(([k]) => k !== 'rss' && !(k === 'reproduction' && reproductionOf(r)));
  if (extra.length) {
    out.push('## Extra', '');
    for (const [k, v] of extra) {
      if (k === 'workers' && isWorkerExits(v)) out.push(`### ${k}`, '', ...table(['task', 'thread', 'how it ended'], v.map((w) => [w.task, w.threadId, workerEnd(w)])), '');
      else out.push(`### ${k}`, '', '```json', JSON.stringify(v, null, 2), '```', '');
    }
  }
  return out.join('\n');
}
