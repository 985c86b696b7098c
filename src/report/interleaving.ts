// What a violation report shows of the flight records: the steps every task took on the
// involved page, plus the last few steps of each involved task (what it was doing around it),
// merged from all the tasks' flight rings into one interleaving in global (seq) order. The ring
// snapshot holds every task's recent steps; most are noise.
import type { FlightRecord, ViolationRecord } from '../check/violations.ts';
import { valuesText } from '../check/describe.ts';
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

/** The race window: from the first recorded step on the violation's page to the report. The
 * same window src/sched/reproduce.ts rebuilds operations from; -1 when no step is on the page. */
export function raceWindowStart(v: ViolationRecord): number {
  if (v.page < 0) return -1;
  let from = -1;
  for (const f of v.flight) if (f.page === v.page && (from < 0 || f.seq < from)) from = f.seq;
  return from;
}

/** Tasks involved in a violation: the reporter, the page's shadow owner, every task with a
 * recorded step on the page, and every task that took steps inside the race window (the partner
 * whose own step on the page its ring no longer holds: a truncator that deleted the page, then
 * went on). */
export function involvedTasks(v: ViolationRecord): number[] {
  const s = new Set<number>();
  if (v.task >= 0) s.add(v.task);
  if (v.page_state && v.page_state.owner > 0) s.add(v.page_state.owner - 1);
  const from = raceWindowStart(v);
  if (from >= 0) for (const f of v.flight) if (f.page === v.page || (f.seq >= from && f.seq <= v.seq)) s.add(f.task);
  return [...s].filter((t) => t >= 0).sort((a, b) => a - b);
}

/** Tasks whose flight ring is full and starts after the race window opened: their steps on the
 * page before that were overwritten (a ring holds a task's last steps only; the fullest ring
 * tells its size). [task, oldest seq held]. */
export function wrappedRings(v: ViolationRecord): [number, number][] {
  const from = raceWindowStart(v);
  if (from < 0) return [];
  const count = new Map<number, number>();
  for (const f of v.flight) count.set(f.task, (count.get(f.task) ?? 0) + 1);
  const full = Math.max(0, ...count.values());
  const out: [number, number][] = [];
  for (const t of involvedTasks(v)) {
    const mine = v.flight.filter((f) => f.task === t);
    if (mine.length === full && mine[0].seq > from) out.push([t, mine[0].seq]);
  }
  return out;
}

/** One sentence on rings that no longer reach back to the window's start ('' when none). */
export function wrappedRingsText(v: ViolationRecord, roleOf: (task: number) => string = () => ''): string {
  const w = wrappedRings(v);
  if (w.length === 0) return '';
  const from = raceWindowStart(v);
  return `The race window opens at step #${from} (the first recorded step on page ${v.page}); `
    + w.map(([t, seq]) => `task ${taskName(t, roleOf)}'s ring holds its steps from #${seq} only`).join(', ')
    + `: ${w.length === 1 ? 'its' : 'their'} earlier steps on the page may have been overwritten (the shrunk diagram below shows the whole race when it reproduced).`;
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

/** Does the message already say who reported it ('task 0 (mapper) op 12', as violationMessage words it)? */
function namesReporter(v: ViolationRecord, roleOf: (task: number) => string): boolean {
  return v.task >= 0 && (v.message.includes(`task ${taskName(v.task, roleOf)} op ${v.op}`) || v.message.includes(`task ${v.task} op ${v.op}`));
}

/** One line about a violation: the id, who reported it, then the message (which, worded by
 * src/check/describe.ts violationMessage, already names the task: it is not said twice), or what
 * the record says when there is no message, its values named (file 1, index 4, vma 3). */
export function violationLine(v: ViolationRecord, roleOf: (task: number) => string = () => ''): string {
  const who = v.task >= 0 ? ` by task ${taskName(v.task, roleOf)} op ${v.op}` : ' (whole-state check)';
  if (v.message) return namesReporter(v, roleOf) ? `${v.id}: ${v.message}` : `${v.id}${who}: ${v.message}`;
  const where = v.page >= 0 ? `page ${v.page}` : '';
  const state = v.page_state ? ` flags ${pageFlagNames(v.page_state.flags)}, owner ${v.page_state.owner ? `task ${v.page_state.owner - 1}` : 'none'}` : '';
  const vals = valuesText(v.id, v.values);
  return `${v.id}${who}: ${[`${where}${state}`.trim(), vals].filter(Boolean).join('; ') || 'no details recorded'}`;
}

/** A worker thread as run.json's extra.workers records it (src/run/orchestrate.ts). */
export interface WorkerExit {
  task: number;
  threadId: number;
  exitCode: number | null;
  terminated: boolean;
}

export function isWorkerExits(v: unknown): v is WorkerExit[] {
  return Array.isArray(v) && v.every((w) => w && typeof w === 'object' && typeof (w as WorkerExit).task === 'number' && 'exitCode' in w);
}

/** How a worker ended, in words: the harness stops every worker with terminate() at the end of
 * a run, and Node then reports exit code 1; that is not a failure. */
export function workerEnd(w: WorkerExit): string {
  if (w.terminated) return w.exitCode === null ? 'stopped by the harness, had not exited when the run returned' : 'stopped by the harness at the end of the run';
  if (w.exitCode === null) return 'had not exited when the run returned';
  return w.exitCode === 0 ? 'exited 0' : `exited with code ${w.exitCode} on its own`;
}
