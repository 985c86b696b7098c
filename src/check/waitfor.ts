// The wait-for graph of page locks, built from the task state words: task T waits on page P
// (its state is TASK_WAITING on P's PG_locked, or its wait entry is queued on P and not yet
// woken) and P's shadow owner is task O: an edge T → O. Each task waits on at most one page, so
// the graph is a set of chains; a chain that comes back to a task is a deadlock. A task waiting on
// a page lock it holds itself deadlocks alone.
//
// A task sleeping on a reader/writer semaphore (an mm's mmap_lock, a file's i_mmap_rwsem: its
// wait words say which, PageObserver.onBlock) waits for the tasks holding it (the per-task words
// shm.mmapHeld and shm.iMmapHeld): the writer, or one of the readers, one that waits itself if any
// does (a cycle goes on through it). A reader queued behind a waiting writer thus waits for the
// holders the writer waits for.
//
// The words are read without a lock, so one scan can see a chain that is already gone (an owner
// word from before a release). The DeadlockDetector therefore reports only a cycle seen with the
// same edges in consecutive scans over a bound of time while none of its tasks made progress (a
// task in a real deadlock never finishes its operation): a legal race is never reported.
import { MAX_HELD } from '../shm/layout.ts';
import { BIT_LOCKED, BIT_WRITEBACK, PG_locked, PG_writeback, TASK_WAITING, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import type { ActorsView } from '../kernel/observer.ts';
import { WAIT_I_MMAP, WAIT_MMAP_LOCK, flagsText, isRwsemWait, pageOwner, rwsemText, taskStateText } from './describe.ts';

export { WAIT_I_MMAP, WAIT_MMAP_LOCK, isRwsemWait };

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
    if ((bit >= 0 || isRwsemWait(bit)) && page >= 0) return { page, bit }; // page: the rwsem's number for an rwsem wait
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

/** The per-task words saying which rw semaphore of that kind each task holds: index + 1 for
 * reading, -(index + 1) for writing, 0 none (src/mm/mmap.ts). */
const rwsemHeldWords = (shm: Shm, bit: number): Int32Array => (bit === WAIT_MMAP_LOCK ? shm.mmapHeld : shm.iMmapHeld);

/** Who `task`, sleeping on rw semaphore `bit` number `index`, waits for: itself if it holds it,
 * else the writer holding it, else a reader holding it (one that waits itself, if any does); -1
 * when nobody holds it. */
export function rwsemHolder(shm: Shm, task: number, bit: number, index: number): number {
  const words = rwsemHeldWords(shm, bit), me = index + 1;
  if (Math.abs(Atomics.load(words, task)) === me) return task;
  let reader = -1;
  for (let h = 0; h < shm.sizes.tasks; h++) {
    const w = Atomics.load(words, h);
    if (w === -me) return h;
    if (w === me && (reader < 0 || (Atomics.load(shm.taskState, reader) !== TASK_WAITING && Atomics.load(shm.taskState, h) === TASK_WAITING))) reader = h;
  }
  return reader;
}

/** 'for reading' / 'for writing': how `holder` holds rw semaphore `bit` (as its word says now). */
function rwsemHow(shm: Shm, bit: number, holder: number): string {
  return Atomics.load(rwsemHeldWords(shm, bit), holder) < 0 ? 'for writing' : 'for reading';
}

/** The owner to follow for `task`'s wait on `bit` of page `pfn`: PG_locked has its shadow owner;
 * PG_writeback has one when a task started the I/O and will end it itself (Task.writebackStarted());
 * an rw semaphore (pfn: its number) its holders (rwsemHolder()); another bit wait has no edge to follow. */
function ownerFor(shm: Shm, task: number, pfn: number, bit: number): number {
  if (isRwsemWait(bit)) return rwsemHolder(shm, task, bit, pfn);
  return bit === BIT_LOCKED ? pageOwner(shm, pfn) : bit === BIT_WRITEBACK ? writebackOwner(shm, pfn) : -1;
}

/** Edges of the tasks 0..tasks-1 that wait on a page. */
export function waitForGraph(shm: Shm, tasks: number): Map<number, WaitEdge> {
  const g = new Map<number, WaitEdge>();
  for (let task = 0; task < tasks; task++) {
    const w = waitingOn(shm, task);
    if (!w) continue;
    g.set(task, { task, page: w.page, bit: w.bit, owner: ownerFor(shm, task, w.page, w.bit) });
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

/** A chain of waits: from a task, the edge it waits on, then the edge its owner waits on, ... */
export interface Chain {
  edges: WaitEdge[];
  /** why it stops: the last wait has no owner to follow ('no-owner'), its owner is the waiter
   * itself ('self') or a task already in the chain ('cycle'), or the owner waits on nothing
   * ('not-waiting'; also when the start task waits on nothing: no edges) */
  end: 'no-owner' | 'self' | 'cycle' | 'not-waiting';
}

/** The one walk of a wait-for chain (free mode's graph scans, controlled mode's stuck actors). */
export function chainFrom(g: ReadonlyMap<number, WaitEdge>, task: number): Chain {
  const edges: WaitEdge[] = [];
  const seen = new Set<number>();
  for (let cur = task; ;) {
    seen.add(cur);
    const e = g.get(cur);
    if (!e) return { edges, end: 'not-waiting' };
    edges.push(e);
    if (e.owner < 0) return { edges, end: 'no-owner' };
    if (e.owner === cur) return { edges, end: 'self' };
    if (seen.has(e.owner)) return { edges, end: 'cycle' };
    cur = e.owner;
  }
}

/** The chain of waits starting at `task`: 'task 2 waits on page 5 (...) held by task 3 (running op 7, ...)'. */
export function describeChain(shm: Shm, g: Map<number, WaitEdge>, task: number): string {
  const { edges, end } = chainFrom(g, task);
  const parts: string[] = [];
  for (const e of edges) {
    if (isRwsemWait(e.bit)) {
      const by = e.owner < 0 ? 'held by nobody' : e.owner === e.task ? 'held by itself' : `held ${rwsemHow(shm, e.bit, e.owner)} by task ${e.owner}`;
      parts.push(`task ${e.task} waits on ${rwsemText(e.bit, e.page)} ${by}`);
      continue;
    }
    const flags = e.page < shm.sizes.pages ? flagsText(Atomics.load(shm.flags, e.page)) : '?';
    const what = e.bit === BIT_LOCKED ? 'the lock of page' : e.bit === BIT_WRITEBACK && e.owner >= 0 ? 'the writeback of page' : `bit ${e.bit} of page`;
    const held = e.bit === BIT_WRITEBACK ? 'started by' : 'held by';
    const by = e.owner >= 0 ? (e.owner === e.task ? `${held} itself` : `${held} task ${e.owner}`)
      : e.bit === BIT_LOCKED ? 'with no owner' : '(a bit wait: no owner to follow)';
    parts.push(`task ${e.task} waits on ${what} ${e.page} (${flags}) ${by}`);
  }
  const last = edges[edges.length - 1];
  if (last && end === 'cycle' && last.owner !== task) parts.push(`task ${last.owner} is already in the chain`); // a cycle not through `task`
  if (last && end === 'not-waiting') parts.push(`task ${last.owner} is ${taskStateText(shm, last.owner)}`);
  return parts.join('; ');
}

// ---- controlled mode: actors the driver knows are blocked -----------------------------------

/** What a task the driver knows is blocked waits on: its wait words, else its queued wait entry.
 * A wait that is not on a queue entry (a futex on the page's own word) is taken as a wait for the
 * lock of the page its code was at. page -1: a wait about no page. */
export function blockedEdge(shm: Shm, task: number): WaitEdge {
  const pages = shm.sizes.pages;
  let page = shm.taskWaitPage[task];
  let bit = shm.taskWaitBit[task];
  if (isRwsemWait(bit) && page >= 0) return { task, page, bit, owner: rwsemHolder(shm, task, bit, page) };
  if (page < 0 || page >= pages) {
    const linked = shm.wqLinked[task] !== 0 ? shm.wqPage[task] : -1;
    page = linked >= 0 && linked < pages ? linked : -1;
    bit = page >= 0 ? shm.wqBit[task] : -1;
  }
  if (page < 0) return { task, page: -1, bit: -1, owner: -1 };
  if (bit < 0) bit = BIT_LOCKED;
  return { task, page, bit, owner: ownerFor(shm, task, page, bit) };
}

/** The wait-for graph of a controlled driver's blocked actors. */
export function blockedGraph(shm: Shm, view: ActorsView): Map<number, WaitEdge> {
  const g = new Map<number, WaitEdge>();
  for (let a = 0; a < view.actors; a++) if (view.actorState(a) === 'blocked') g.set(a, blockedEdge(shm, a));
  return g;
}

/** 'waits on page 3 [PG_locked|PG_waiters] (sleeping on wqFlags[1])': one blocked actor's wait. */
export function actorWaitText(shm: Shm, e: WaitEdge, view: ActorsView): string {
  const futex = view.sleepsOn(e.task);
  if (isRwsemWait(e.bit)) return `waits on ${rwsemText(e.bit, e.page)} (sleeping on ${futex})`;
  if (e.page < 0) return `sleeps on ${futex}`;
  const what = e.bit === BIT_LOCKED ? `page ${e.page}` : e.bit === BIT_WRITEBACK ? `page ${e.page}'s writeback` : `page ${e.page}'s bit ${e.bit}`;
  return `waits on ${what} [${flagsText(shm.flags[e.page])}] (sleeping on ${futex})`;
}

/** The chain from blocked actor `start`, worded with the driver's names for its actors:
 * 'T0 (...) waits on page 1 [...] (sleeping on ...), owned by T1 (...), which waits on ...'. */
export function actorChainText(shm: Shm, g: ReadonlyMap<number, WaitEdge>, start: number, view: ActorsView): string {
  const { edges, end } = chainFrom(g, start);
  let text = view.actorName(start);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    text += `${i ? ', which' : ''} ${actorWaitText(shm, e, view)}`;
    if (e.page < 0) break;
    const wb = e.bit === BIT_WRITEBACK, rw = isRwsemWait(e.bit);
    if (e.owner < 0) {
      const flags = shm.flags[e.page];
      if (rw) text += ', which nobody holds';
      else if (e.bit === BIT_LOCKED) text += (flags & PG_locked) !== 0 ? ', locked with no recorded owner' : ', which is unlocked: no wake came (lost wakeup)';
      else if (wb) text += (flags & PG_writeback) !== 0 ? ', under writeback with no recorded owner' : ', which is not under writeback: no wake came (lost wakeup)';
      else text += ' (a bit wait: no owner to follow)';
      break;
    }
    const by = wb ? 'under writeback by' : rw ? `held ${rwsemHow(shm, e.bit, e.owner)} by` : 'owned by';
    if (e.owner >= view.actors) {
      text += `, ${by} task ${e.owner}`;
      break;
    }
    text += `, ${by} ${view.actorName(e.owner)}`;
    if (i === edges.length - 1) {
      if (end === 'self') text += wb ? ': it waits on its own writeback' : ': it waits on a lock it holds';
      else if (end === 'cycle') text += ': a cycle';
      else if (view.actorState(e.owner) === 'done') text += `, which has finished all its operations (${wb ? 'the writeback never ended' : 'the lock leaked'})`;
      else text += ', which is not blocked';
    }
  }
  return text;
}

/** The lead-in of a self-wait DEADLOCK report: what the task waits on that it holds itself. */
export function selfWaitText(e: WaitEdge): string {
  if (isRwsemWait(e.bit)) return `a task waits on ${rwsemText(e.bit, e.page)}, which it holds itself`;
  return e.bit === BIT_WRITEBACK ? 'a task waits on its own writeback' : 'a task waits on a page lock it holds';
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
      if ((e.bit === BIT_LOCKED && (e.owner === cur || holds(shm, cur, e.page))) || (isRwsemWait(e.bit) && e.owner === cur)) {
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
