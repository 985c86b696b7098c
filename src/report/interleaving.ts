// What a violation report shows of the flight records: the steps every task took on the
// involved page, plus the last few steps of each involved task (what it was doing around it),
// in global order. The ring snapshot holds every task's recent steps; most are noise.
import type { FlightRecord, ViolationRecord } from '../check/violations.ts';
import { PG_dirty, PG_free, PG_locked, PG_readahead, PG_uptodate, PG_waiters, PG_writeback } from '../shm/shm.ts';

/** Steps of each involved task kept even when they are not on the involved page. */
export const TAIL_STEPS = 4;
/** At most this many rows per violation (the most recent are kept). */
export const MAX_ROWS = 60;

const FLAG_NAMES: [number, string][] = [
  [PG_locked, 'PG_locked'], [PG_uptodate, 'PG_uptodate'], [PG_dirty, 'PG_dirty'],
  [PG_writeback, 'PG_writeback'], [PG_readahead, 'PG_readahead'], [PG_waiters, 'PG_waiters'], [PG_free, 'free'],
];

export function pageFlagNames(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  const rest = FLAG_NAMES.reduce((f, [bit]) => f & ~bit, flags);
  if (rest) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names.length ? names.join('|') : '0';
}

/** Tasks involved in a violation: the reporter, the page's shadow owner, and every task that
 * has a recorded step on the page. */
export function involvedTasks(v: ViolationRecord): number[] {
  const s = new Set<number>();
  if (v.task >= 0) s.add(v.task);
  if (v.page_state && v.page_state.owner > 0) s.add(v.page_state.owner - 1);
  if (v.page >= 0) for (const f of v.flight) if (f.page === v.page) s.add(f.task);
  return [...s].sort((a, b) => a - b);
}

export function interleaving(v: ViolationRecord, tail = TAIL_STEPS, maxRows = MAX_ROWS): FlightRecord[] {
  const tasks = new Set(involvedTasks(v));
  const keep = new Set<FlightRecord>();
  if (v.page >= 0) for (const f of v.flight) if (f.page === v.page) keep.add(f);
  for (const t of tasks) {
    const mine = v.flight.filter((f) => f.task === t);
    for (const f of mine.slice(-tail)) keep.add(f);
  }
  const rows = v.flight.filter((f) => keep.has(f)).sort((a, b) => a.seq - b.seq);
  return rows.slice(-maxRows);
}

/** The interleaving as plain text (JUnit failure bodies, console). */
export function interleavingText(v: ViolationRecord, roleOf: (task: number) => string = () => ''): string {
  const rows = interleaving(v);
  const head = ['seq', 'task', 'op', 'kernel step', 'page', 'aux'];
  const cells = rows.map((f) => [String(f.seq), taskName(f.task, roleOf), String(f.op), f.label, String(f.page), String(f.aux)]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

export function taskName(task: number, roleOf: (task: number) => string): string {
  if (task < 0) return 'checker';
  const r = roleOf(task);
  return r ? `${task} (${r})` : String(task);
}

/** One line about a violation (the message, or what the record says when there is none). */
export function violationLine(v: ViolationRecord, roleOf: (task: number) => string = () => ''): string {
  const where = v.page >= 0 ? ` page ${v.page}` : '';
  const state = v.page_state ? ` flags=${pageFlagNames(v.page_state.flags)} owner=${v.page_state.owner ? `task ${v.page_state.owner - 1}` : 'none'}` : '';
  const vals = v.values.length ? ` values=[${v.values.join(', ')}]` : '';
  const what = v.message || `${where.trim()}${state}${vals}`.trim();
  return `${v.id} by task ${taskName(v.task, roleOf)} op ${v.op}: ${what}`;
}
