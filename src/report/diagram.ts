// The interleaving diagram a kernel engineer writes in a mail (Kirill's, Msg-ID
// 20201015094344.pmvg2jxrb2bsoanr@box): one column per actor, one row per step, the kernel step
// name and the values that matter, the violating step marked. Plain text for the terminal,
// Markdown for reports. Built from a controlled run's trace (src/sched/controlled.ts).
import type { Op } from '../kernel/scenario.ts';
import { describeOp, type TraceEvent, type Violation } from '../sched/controlled.ts';
import { readRepro, runRepro, type Resolver } from '../sched/repro.ts';
import type { Reproduction, RunResult } from './result.ts';

export interface DiagramInput {
  trace: readonly TraceEvent[];
  roles: readonly string[];
  ops: readonly (readonly Op[])[];
  violation: Violation | null;
  /** the step in which the violation was detected; past the last step = after the end */
  violationStep: number;
}

const MAX_COL = 56;

/** What one step shows: `xas_load  pfn 3 aux 1  (wakes T1)`, or the op it starts. */
export function cellText(e: TraceEvent, ops: readonly (readonly Op[])[]): string {
  if (e.label === '(op start)') {
    const op = ops[e.task]?.[e.op];
    return `== op ${e.op}: ${op ? describeOp(op) : e.note}`;
  }
  const vals: string[] = [];
  if (e.page >= 0) vals.push(`pfn ${e.page}`);
  if (e.aux !== 0) vals.push(`aux ${e.aux}`);
  const v = vals.length ? `  ${vals.join(' ')}` : '';
  return `${e.label}${v}${e.note ? `  (${e.note})` : ''}`;
}

function shownActors(d: DiagramInput): number[] {
  const used = new Set(d.trace.map((e) => e.task));
  return d.roles.map((_, i) => i).filter((i) => used.has(i) || (d.ops[i]?.length ?? 0) > 0);
}

function markerFor(d: DiagramInput, e: TraceEvent): string {
  if (!d.violation || e.step !== d.violationStep) return '';
  return d.violation.task < 0 ? `<== ${d.violation.id} (whole-state check)` : `<== ${d.violation.id}`;
}

function afterEnd(d: DiagramInput): boolean {
  const last = d.trace.length ? d.trace[d.trace.length - 1].step : 0;
  return d.violation !== null && d.violationStep > last;
}

function endNote(d: DiagramInput): string {
  const v = d.violation!;
  if (v.id === 'DEADLOCK') return `<== DEADLOCK: nothing can run`;
  if (v.id === 'HUNG') return `<== HUNG: step bound reached`;
  return `<== ${v.id} (whole-state check at the end)`;
}

/** Plain text, one line per row. */
export function diagramText(d: DiagramInput): string[] {
  const actors = shownActors(d);
  const cols = new Map<number, number>(); // actor → column index
  actors.forEach((a, i) => cols.set(a, i));
  const cells = d.trace.map((e) => cellText(e, d.ops));
  const heads = actors.map((a) => `T${a} ${d.roles[a]}`);
  const width = heads.map((h) => h.length);
  d.trace.forEach((e, i) => {
    const c = cols.get(e.task);
    if (c !== undefined) width[c] = Math.min(MAX_COL, Math.max(width[c], cells[i].length));
  });
  const offset: number[] = [];
  let x = 0;
  for (const w of width) {
    offset.push(x);
    x += w + 3;
  }
  const stepW = Math.max(4, String(d.trace.length ? d.trace[d.trace.length - 1].step : 0).length);
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  const lines: string[] = [];
  let head = `${'step'.padStart(stepW)}  `;
  let rule = `${'-'.repeat(stepW)}  `;
  actors.forEach((_, c) => {
    head = pad(head, stepW + 2 + offset[c]) + heads[c];
    rule = pad(rule, stepW + 2 + offset[c]) + '-'.repeat(width[c]);
  });
  lines.push(head.trimEnd(), rule);
  d.trace.forEach((e, i) => {
    const c = cols.get(e.task) ?? 0;
    let line = pad(`${String(e.step).padStart(stepW)}  `, stepW + 2 + offset[c]) + cells[i];
    const m = markerFor(d, e);
    if (m) line = pad(line, stepW + 2 + x) + m;
    lines.push(line);
  });
  if (afterEnd(d)) lines.push(pad('', stepW + 2 + x) + endNote(d));
  if (d.violation) lines.push('', `${d.violation.id}: ${d.violation.message}`);
  return lines;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

/** A Markdown table, one row per step. */
export function diagramMarkdown(d: DiagramInput): string[] {
  const actors = shownActors(d);
  const lines: string[] = [];
  lines.push(`| step | ${actors.map((a) => `T${a} ${mdEscape(d.roles[a])}`).join(' | ')} |`);
  lines.push(`|---:|${actors.map(() => '---').join('|')}|`);
  for (const e of d.trace) {
    const m = markerFor(d, e);
    const cell = mdEscape(cellText(e, d.ops));
    const shown = e.label === '(op start)' ? `*${cell}*` : `\`${e.label}\`${mdEscape(cell.slice(e.label.length))}`;
    const row = actors.map((a) => (a === e.task ? (m ? `**${shown}** ${mdEscape(m)}` : shown) : ''));
    lines.push(`| ${e.step} | ${row.join(' | ')} |`);
  }
  if (afterEnd(d)) lines.push(`| | ${actors.map((_, i) => (i === 0 ? `**${mdEscape(endNote(d))}**` : '')).join(' | ')} |`);
  if (d.violation) lines.push('', `**${d.violation.id}**: ${mdEscape(d.violation.message)}`);
  return lines;
}

/** The diagram of a repro file: it is replayed once, traced, and drawn as text (the shrunk
 * two-task race a report shows under the free run's flight records). */
export function reproDiagram(path: string, resolver: Resolver): string[] {
  const l = readRepro(path, resolver);
  const r = runRepro(l, { trace: true }).result;
  return diagramText({ trace: r.trace ?? [], roles: l.scenario.roles(l.cfg), ops: l.ops, violation: r.violation, violationStep: r.violationStep });
}

/**
 * `run --reproduce`'s outcome as the reports record it (RunResult.reproduction): the outcome
 * lines, the replay command (the printed 'replay: ...' line) and the diagram of the repro file.
 * `rep` is what stress/commands/controlled-io.ts reproduceFreeFailure returns; a repro that
 * cannot be drawn keeps everything else (the diagram says why).
 */
export function reproductionRecord(
  violation: string, rep: { path: string | null; lines: string[]; elapsedMs: number }, resolver: Resolver, shown: (p: string) => string = (p) => p,
): Reproduction {
  const replay = rep.lines.find((l) => l.startsWith('replay: '))?.slice('replay: '.length);
  let diagram: string[] = [];
  if (rep.path) {
    try {
      diagram = reproDiagram(rep.path, resolver);
    } catch (e) {
      diagram = [`(the diagram could not be drawn: ${((e as Error)?.message ?? String(e)).split('\n')[0]})`];
    }
  }
  return {
    violation, reproduced: rep.path !== null, repro: rep.path && shown(rep.path), ...(replay ? { replay } : {}),
    diagram, lines: rep.lines, elapsedMs: Math.round(rep.elapsedMs),
  };
}

/** A result's reproduction: RunResult.reproduction, or the extra.reproduction older files carry. */
export function reproductionOf(r: Pick<RunResult, 'extra'> & { reproduction?: Reproduction }): Reproduction | null {
  const x = r.reproduction ?? (r.extra?.reproduction as Reproduction | undefined);
  if (!x || typeof x !== 'object' || typeof x.violation !== 'string') return null;
  const lines = Array.isArray(x.lines) ? x.lines.filter((l): l is string => typeof l === 'string') : [];
  // the command itself, without the 'replay: ' the terminal line starts with
  const replay = (typeof x.replay === 'string' ? x.replay : lines.find((l) => l.startsWith('replay: ')))?.replace(/^replay: /, '');
  return { ...x, lines, ...(replay ? { replay } : {}), diagram: Array.isArray(x.diagram) ? x.diagram.filter((l): l is string => typeof l === 'string') : [] };
}

/** One sentence on how a reproduction went (summary.md and index.html say the same). */
export function reproductionOutcome(rep: Reproduction): string {
  if (rep.error) return rep.error;
  if (rep.status === 'running')
    return `Reproducing ${rep.violation} under the controlled driver was still running when this report was written`
      + `${rep.budgetMs ? ` (at most ${Math.round(rep.budgetMs / 1000)} s)` : ''}; the report is rewritten when it ends.`;
  if (rep.status === 'interrupted') return rep.lines?.[0] ?? `Reproducing ${rep.violation} was interrupted.`;
  if (!rep.reproduced) return rep.lines?.[0] ?? `${rep.violation} was not reproduced under the controlled driver.`;
  return `${rep.violation} reproduced under the controlled driver${rep.elapsedMs !== undefined ? ` in ${(rep.elapsedMs / 1000).toFixed(1)} s` : ''}; the command replays this exact schedule.`;
}
