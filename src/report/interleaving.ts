// What a violation report shows of the flight records: the steps every task took on the
// involved page, plus the last few steps of each involved task (what it was doing around it),
// merged from all the tasks' flight rings into one interleaving in global (seq) order. The ring
// snapshot holds every task's recent steps; most are noise.
import type { FlightRecord, ViolationRecord } from '../check/violations.ts';
import { valuesText } from '../check/describe.ts';
import { PG_dirty, PG_free, PG_locked, PG_readahead, PG_uptodate, PG_waiters, PG_writeback } from '../shm/shm.ts';

/** Steps of each involved task kept even when they are not on the involved page. */
export const TAIL_STEPS = 4;
/** At most this many rows per violation (the reporter's operation and each partner's last
 * operation on the page first, then the rest, the most recent first). */
export const MAX_ROWS = 80;
/** A partner's last operation on the page is looked for this many steps (global seq) before the
 * report: a task preempted in the middle of its operation can report thousands of steps after
 * its partner changed the page. */
export const PARTNER_SPAN = 16_384;
/** A whole-state check (no reporting task): its window is this many steps before the report. */
export const CHECKER_SPAN = 2_048;
/** Each task's last steps kept in the record whatever the window (keptFlight): what it was doing. */
export const KEPT_TAIL = 64;

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

/** The race window opens where the reporting task's current operation starts (its oldest
 * recorded step of that operation, or of its last recorded one), and closes at the report; a
 * whole-state check's window is the last CHECKER_SPAN steps. Not the first recorded step on the
 * page anywhere: with rings of thousands of steps that is long before the race, and every task
 * ran inside it. -1 when there is nothing to open it. */
export function raceWindowStart(v: ViolationRecord): number {
  const mine = v.task >= 0 ? v.flight.filter((f) => f.task === v.task && f.seq <= v.seq) : [];
  if (mine.length === 0) return v.flight.length ? Math.max(0, v.seq - CHECKER_SPAN) : -1;
  const op = mine.some((f) => f.op === v.op) ? v.op : mine[mine.length - 1].op;
  return mine.find((f) => f.op === op)!.seq;
}

/** Records by task, each in seq order. */
function byTask(flight: FlightRecord[]): Map<number, FlightRecord[]> {
  const m = new Map<number, FlightRecord[]>();
  for (const f of flight) {
    const list = m.get(f.task);
    if (list) list.push(f);
    else m.set(f.task, [f]);
  }
  return m;
}

/** The steps on the violation's page of one task in one operation. */
interface PageGroup {
  task: number;
  op: number;
  rows: FlightRecord[];
  /** this task's last operation on the page before the report */
  last: boolean;
}

/** Steps on the page outside the reporter's current operation, by task and operation: every
 * operation that touched the page inside the window, and each task's last one before the report
 * even when it began earlier (within PARTNER_SPAN): the partner's key step (the truncator's
 * page_cache_delete of the page) is in it. Newest first. */
function partnerGroups(v: ViolationRecord, from: number): PageGroup[] {
  if (v.page < 0 || from < 0) return [];
  const lo = Math.min(from, v.seq - PARTNER_SPAN);
  const groups = new Map<string, PageGroup>();
  for (const f of v.flight) {
    // the reporter's current operation is shown anyway; its earlier ones on the page are groups
    // like a partner's (a truncator that deleted the page in its last operation, then found the
    // PTE a mapper installed meanwhile)
    if (f.page !== v.page || (f.task === v.task && f.seq >= from) || f.seq < lo) continue;
    const key = `${f.task}:${f.op}`;
    const g = groups.get(key) ?? { task: f.task, op: f.op, rows: [], last: false };
    g.rows.push(f);
    groups.set(key, g);
  }
  const all = [...groups.values()].sort((a, b) => b.rows[b.rows.length - 1].seq - a.rows[a.rows.length - 1].seq);
  const seen = new Set<number>();
  for (const g of all) if (!seen.has(g.task)) { g.last = true; seen.add(g.task); }
  return all.filter((g) => g.last || g.rows[g.rows.length - 1].seq >= from);
}

/** Tasks involved in a violation: the reporter, the page's shadow owner, and every task whose
 * steps touched the page in the race window (or whose last operation on the page came shortly
 * before it: partnerGroups). */
export function involvedTasks(v: ViolationRecord): number[] {
  const s = new Set<number>();
  if (v.task >= 0) s.add(v.task);
  if (v.page_state && v.page_state.owner > 0) s.add(v.page_state.owner - 1);
  for (const g of partnerGroups(v, raceWindowStart(v))) s.add(g.task);
  return [...s].filter((t) => t >= 0).sort((a, b) => a - b);
}

/** Tasks whose ring does not reach back to the race window's start, so steps they took on the
 * page early in the window may have been overwritten: a full ring (as many records as the fullest,
 * or KEPT_TAIL once trimmed by keptFlight) whose oldest record is inside the window. Any task,
 * not only the involved ones: a partner whose step on the page is gone is not involved any more.
 * [task, oldest seq held]. */
export function wrappedRings(v: ViolationRecord): [number, number][] {
  const from = raceWindowStart(v);
  if (from < 0) return [];
  const mine = byTask(v.flight);
  mine.delete(-1);
  const full = Math.min(KEPT_TAIL, Math.max(0, ...[...mine.values()].map((m) => m.length)));
  const out: [number, number][] = [];
  for (const [t, m] of [...mine].sort((a, b) => a[0] - b[0])) if (m.length >= full && m[0].seq > from) out.push([t, m[0].seq]);
  return out;
}

/** One sentence on rings that no longer reach back to the window's start ('' when none). */
export function wrappedRingsText(v: ViolationRecord, roleOf: (task: number) => string = () => ''): string {
  const w = wrappedRings(v);
  if (w.length === 0) return '';
  const from = raceWindowStart(v);
  return `The race window opens at step #${from} (where the reporting task's operation starts); `
    + w.map(([t, seq]) => `task ${taskName(t, roleOf)}'s ring holds its steps from #${seq} only`).join(', ')
    + `: ${w.length === 1 ? 'its' : 'their'} earlier steps on the page may have been overwritten (the shrunk diagram below shows the whole race when it reproduced).`;
}

/**
 * The rows a report shows, in seq order: the reporting task's steps on the page in its current
 * operation and its last `tail` steps; each partner's operations on the page (partnerGroups: the
 * last one of each task first, then the others in the window, newest first) and its last `tail`
 * steps. At most `maxRows`: a group that does not fit is left out whole, the reporter's own rows
 * are cut from the oldest.
 */
export function interleaving(v: ViolationRecord, tail = TAIL_STEPS, maxRows = MAX_ROWS): FlightRecord[] {
  const from = raceWindowStart(v);
  const keep = new Set<FlightRecord>();
  const mine = v.flight.filter((f) => f.task === v.task && v.task >= 0);
  const own = new Set([...mine.filter((f) => f.seq >= from && f.page === v.page && v.page >= 0), ...mine.slice(-tail)]);
  for (const f of [...own].sort((a, b) => a.seq - b.seq).slice(-Math.max(tail, Math.floor(maxRows / 2)))) keep.add(f);
  const groups = partnerGroups(v, from);
  const ordered = [...groups.filter((g) => g.last), ...groups.filter((g) => !g.last)];
  const add = (rows: FlightRecord[]) => {
    const fresh = rows.filter((f) => !keep.has(f));
    if (keep.size + fresh.length <= maxRows) for (const f of fresh) keep.add(f);
  };
  for (const g of ordered) add(g.rows);
  for (const t of involvedTasks(v)) if (t !== v.task) add(v.flight.filter((f) => f.task === t).slice(-tail));
  return v.flight.filter((f) => keep.has(f));
}

/**
 * The flight records a violation keeps (run.json, the reports, run --reproduce): what the
 * interleaving can show, each task's last KEPT_TAIL steps, the first step of the reporter's
 * operation (the window's start) and each task's newest step before it (its ring reached back
 * that far: wrappedRings). Rings of thousands of entries keep the partner's step; their whole
 * content per violation would make run.json tens of megabytes.
 */
export function keptFlight(v: ViolationRecord): FlightRecord[] {
  const from = raceWindowStart(v);
  const keep = new Set<FlightRecord>(interleaving(v, KEPT_TAIL, Infinity));
  for (const [t, m] of byTask(v.flight)) {
    for (const f of m.slice(-KEPT_TAIL)) keep.add(f);
    const before = m.filter((f) => f.seq < from);
    if (before.length) keep.add(before[before.length - 1]);
    if (t === v.task) {
      const first = m.find((f) => f.seq === from);
      if (first) keep.add(first);
    }
  }
  return v.flight.filter((f) => keep.has(f));
}

/** The violation as run --reproduce rebuilds operations from it (src/sched/reproduce.ts opens
 * its window at the first step on the page it is given): the steps since the reporting task's
 * operation began, and each task's last KEPT_TAIL steps (what rings of 64 held). Not the steps
 * before the window that the report keeps (each task's last operation on the page): for some
 * tasks that is hundreds of operations earlier, and a search over all of them did not reproduce
 * within its budget (task 3 ops 5911-6777 on patch4 seed 2). */
export function reproduceView(v: ViolationRecord): ViolationRecord {
  const from = raceWindowStart(v);
  const keep = new Set<FlightRecord>(v.flight.filter((f) => from >= 0 && f.seq >= from));
  for (const m of byTask(v.flight).values()) for (const f of m.slice(-KEPT_TAIL)) keep.add(f);
  return { ...v, flight: v.flight.filter((f) => keep.has(f)) };
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
