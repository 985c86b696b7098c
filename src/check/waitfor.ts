// The wait-for graph of page locks, built from the task state words: task T waits on page P
// (its state is TASK_WAITING on P's PG_locked, or its wait entry is queued on P and not yet
// woken) and P's shadow owner is task O: an edge T → O. Each task waits on at most one page, so
// the graph is a set of chains; a chain that comes back to a task is a deadlock. A task waiting on
// a page lock it holds itself deadlocks alone.
//
// The words are read without a lock, so one scan can see a chain that is already gone (an owner
// word from before a release). The DeadlockDetector therefore reports only a cycle seen with the
// same edges in consecutive scans over a bound of time while none of its tasks made progress (a
// task in a real deadlock never finishes its operation): a legal race is never reported.
import { MAX_HELD } from '../shm/layout.ts';
import { BIT_LOCKED, BIT_WRITEBACK, TASK_WAITING, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import { flagsText, pageOwner, taskStateText } from './describe.ts';

export interface WaitEdge {
  task: number;
  page: number;
  bit: number;
  /** the page's shadow owner (task id), -1 none */
  owner: number;
}

/** What page lock (or bit) `task` waits on, or null. */
export function waitingOn(shm: Shm, task: number): { page: number; bit: number } | null {
  if (Atomics.load(shm.taskState, task) === TASK_WAITING) {
    const bit = Atomics.load(shm.taskWaitBit, task);
    const page = Atomics.load(shm.taskWaitPage, task);
    if (bit >= 0 && page >= 0) return { page, bit };
  }
  if (Atomics.load(shm.wqLinked, task) !== 0 && (Atomics.load(shm.wqFlags, task) & WQ_FLAG_WOKEN) === 0) {
    const page = Atomics.load(shm.wqPage, task);
    if (page >= 0) return { page, bit: Atomics.load(shm.wqBit, task) };
  }
  return null;
}

/** The task that started the page's writeback and will end it, or -1. */
export function writebackOwner(shm: Shm, pfn: number): number {
  return pfn >= 0 && pfn < shm.sizes.pages ? Atomics.load(shm.wbOwner, pfn) - 1 : -1;
}

export function holds(shm: Shm, task: number, pfn: number): boolean {
  const n = Math.min(Atomics.load(shm.heldCount, task), MAX_HELD);
  for (let i = 0; i < n; i++) if (shm.held[task * MAX_HELD + i] === pfn) return true;
  return false;
}

/** Edges of the tasks 0..tasks-1 that wait on a page. */
export function waitForGraph(shm: Shm, tasks: number): Map<number, WaitEdge> {
  const g = new Map<number, WaitEdge>();
  for (let task = 0; task < tasks; task++) {
    const w = waitingOn(shm, task);
    if (!w) continue;
    // PG_locked has an owner; PG_writeback has one when a task started the I/O and will end it
    // itself (Task.writebackStarted()); another bit wait has no edge to follow
    const owner = w.bit === BIT_LOCKED ? pageOwner(shm, w.page) : w.bit === BIT_WRITEBACK ? writebackOwner(shm, w.page) : -1;
    g.set(task, { task, page: w.page, bit: w.bit, owner });
  }
  return g;
}

export interface Deadlock {
  /** the tasks of the cycle, starting from the smallest id */
  tasks: number[];
  edges: WaitEdge[];
  /** a task waiting on a page lock it holds */
  self: boolean;
  /** 'task 2 waits on page 5 (PG_locked|PG_waiters) held by task 3; task 3 waits on page 7 ... held by task 2' */
  chain: string;
}

/** The chain of waits starting at `task`: 'task 2 waits on page 5 (...) held by task 3 (running op 7, ...)'. */
export function describeChain(shm: Shm, g: Map<number, WaitEdge>, task: number): string {
  const parts: string[] = [];
  const seen = new Set<number>();
  let cur = task;
  for (;;) {
    if (seen.has(cur)) {
      if (cur !== task) parts.push(`task ${cur} is already in the chain`); // a cycle not through `task`
      break;
    }
    seen.add(cur);
    const e = g.get(cur);
    if (!e) {
      if (cur !== task) parts.push(`task ${cur} is ${taskStateText(shm, cur)}`);
      break;
    }
    const flags = e.page < shm.sizes.pages ? flagsText(Atomics.load(shm.flags, e.page)) : '?';
    const what = e.bit === BIT_LOCKED ? 'the lock of page' : e.bit === BIT_WRITEBACK && e.owner >= 0 ? 'the writeback of page' : `bit ${e.bit} of page`;
    const held = e.bit === BIT_WRITEBACK ? 'started by' : 'held by';
    const by = e.owner >= 0 ? (e.owner === cur ? `${held} itself` : `${held} task ${e.owner}`)
      : e.bit === BIT_LOCKED ? 'with no owner' : '(a bit wait: no owner to follow)';
    parts.push(`task ${cur} waits on ${what} ${e.page} (${flags}) ${by}`);
    if (e.owner < 0 || e.owner === cur) break;
    cur = e.owner;
  }
  return parts.join('; ');
}

/** Cycles (and self-waits) in one scan of the graph. */
export function findDeadlocks(shm: Shm, tasks: number): Deadlock[] {
  const g = waitForGraph(shm, tasks);
  const out: Deadlock[] = [];
  const done = new Set<number>();
  for (const start of g.keys()) {
    if (done.has(start)) continue;
    const path: number[] = [];
    const onPath = new Map<number, number>();
    let cur = start;
    for (;;) {
      if (done.has(cur)) break;
      const e = g.get(cur);
      if (!e) break;
      if (e.bit === BIT_LOCKED && (e.owner === cur || holds(shm, cur, e.page))) {
        out.push({ tasks: [cur], edges: [e], self: true, chain: describeChain(shm, g, cur) });
        break;
      }
      onPath.set(cur, path.length);
      path.push(cur);
      if (e.owner < 0) break;
      if (onPath.has(e.owner)) {
        const cycle = path.slice(onPath.get(e.owner)!);
        const first = cycle.indexOf(Math.min(...cycle));
        const tasksInOrder = [...cycle.slice(first), ...cycle.slice(0, first)];
        out.push({
          tasks: tasksInOrder, edges: tasksInOrder.map((t) => g.get(t)!), self: false,
          chain: describeChain(shm, g, tasksInOrder[0]),
        });
        break;
      }
      cur = e.owner;
    }
    for (const t of path) done.add(t);
  }
  return out;
}

const keyOf = (d: Deadlock) => d.edges.map((e) => `${e.task}>${e.page}:${e.bit}>${e.owner}`).join(',');

/** Confirms deadlocks across scans (see the file comment). */
export class DeadlockDetector {
  private readonly pending = new Map<string, { since: number; scans: number; beats: number[] }>();
  private readonly reported = new Set<string>();

  constructor(private readonly shm: Shm, private readonly tasks: number, private readonly confirmMs = 250, private readonly confirmScans = 3) {}

  /** Call periodically; returns deadlocks confirmed by this scan (each reported once). */
  scan(nowMs: number): Deadlock[] {
    const found = findDeadlocks(this.shm, this.tasks);
    const live = new Set<string>();
    const confirmed: Deadlock[] = [];
    for (const d of found) {
      const k = keyOf(d);
      live.add(k);
      if (this.reported.has(k)) continue;
      const beats = d.tasks.map((t) => Atomics.load(this.shm.heartbeat, t));
      const p = this.pending.get(k);
      if (!p || p.beats.some((b, i) => b !== beats[i])) {
        this.pending.set(k, { since: nowMs, scans: 1, beats });
        continue;
      }
      p.scans++;
      if (p.scans >= this.confirmScans && nowMs - p.since >= this.confirmMs) {
        this.reported.add(k);
        this.pending.delete(k);
        confirmed.push(d);
      }
    }
    for (const k of this.pending.keys()) if (!live.has(k)) this.pending.delete(k);
    return confirmed;
  }
}
