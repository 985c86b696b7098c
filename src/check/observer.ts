// The drivers' observer (src/kernel/observer.ts): everything the two drivers need to know about
// pages, in one place. A blocked task's wait words, LOCK-LEAK after every operation, the DEADLOCK
// and HUNG explanations of controlled mode (the wait-for chain of src/check/waitfor.ts, so a wait
// on a writeback is followed to the task that started it), and the one violation message.
import type { ActorsView, DriverObserver, Violation } from '../kernel/observer.ts';
import type { FutexWait } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import type { Shm } from '../shm/shm.ts';
import { WAIT_I_MMAP, WAIT_MMAP_LOCK, violationMessage } from './describe.ts';
import { readViolations } from './violations.ts';
import { actorChainText, actorWaitText, blockedEdge, blockedGraph } from './waitfor.ts';

export class PageObserver implements DriverObserver {
  /** per task: the pages already reported as leaked (each once, until the task holds none) */
  private readonly leaked: Set<number>[] = [];

  constructor(private readonly shm: Shm) {}

  reset(): void {
    for (const s of this.leaked) s?.clear();
  }

  /** A wait on a wait-queue entry's flags is a wait for that entry's page and bit; any other wait
   * is about the page the task's code is at (t.page), with no bit. */
  onBlock(t: Task, e: FutexWait): void {
    const shm = this.shm, id = t.id;
    const onEntry = e.arr === shm.wqFlags;
    // a sleeper on an mmap_lock or an i_mmap_rwsem: which one (the wait-for graph follows it to
    // its holders). Regions compared by place and size: a task's Shm may be another view of the buffer
    const on = (r: Int32Array) => e.arr.byteOffset === r.byteOffset && e.arr.length === r.length;
    const rwsem = on(shm.mmapLock) ? WAIT_MMAP_LOCK : on(shm.iMmap) ? WAIT_I_MMAP : 0;
    Atomics.store(shm.taskWaitPage, id, onEntry ? shm.wqPage[e.index] : rwsem ? e.index : t.page);
    Atomics.store(shm.taskWaitBit, id, onEntry ? shm.wqBit[e.index] : rwsem || -1);
  }

  /** LOCK-LEAK: an operation must not end holding a page lock (reported once per page). */
  onOpEnd(t: Task): void {
    if (Atomics.load(this.shm.heldCount, t.id) === 0) {
      this.leaked[t.id]?.clear();
      return;
    }
    const seen = (this.leaked[t.id] ??= new Set<number>());
    for (const pfn of t.heldPages()) {
      if (seen.has(pfn)) continue;
      seen.add(pfn);
      t.violation('LOCK-LEAK', pfn);
    }
  }

  explainStuck(view: ActorsView, kind: 'DEADLOCK' | 'HUNG', steps: number): Violation {
    return kind === 'DEADLOCK' ? this.deadlock(view) : this.hung(view, steps);
  }

  describe(roleOf: (task: number) => string): Violation | null {
    const r = readViolations(this.shm)[0];
    if (!r) return null;
    return { id: r.id, task: r.task, op: r.op, page: r.page, values: r.values, message: violationMessage(this.shm, r, roleOf) };
  }

  /** Nothing can run: every blocked actor with its wait-for chain (the page it waits on, the
   * task that holds it or started its writeback, what that one waits on, ...). */
  private deadlock(view: ActorsView): Violation {
    const g = blockedGraph(this.shm, view);
    const lines: string[] = [];
    for (const a of g.keys()) lines.push(actorChainText(this.shm, g, a, view));
    const first = g.values().next().value;
    const task = first ? first.task : -1;
    return {
      id: 'DEADLOCK', task, op: task >= 0 ? view.actorOp(task) : -1, page: first ? first.page : -1, values: [],
      message: `no actor can run, ${lines.length} blocked: ${lines.join('; ')}`,
    };
  }

  /** The step bound passed: where every actor is, the one that repeats its point most named. */
  private hung(view: ActorsView, steps: number): Violation {
    const parts: string[] = [];
    let spinner = -1;
    for (let a = 0; a < view.actors; a++) {
      const s = view.actorState(a);
      if (s === 'done') continue;
      const reps = view.pointRepeats(a);
      if (spinner < 0 || reps > view.pointRepeats(spinner)) spinner = a;
      const at = s === 'blocked' ? actorWaitText(this.shm, blockedEdge(this.shm, a), view)
        : s === 'between' ? 'between operations'
          : `at '${view.pointLabel(a)}' page ${view.pointPage(a)}${reps ? ` (same point ${reps} times running)` : ''}`;
      parts.push(`${view.actorName(a)} ${at}`);
    }
    return {
      id: 'HUNG', task: spinner, op: spinner >= 0 ? view.actorOp(spinner) : -1, page: spinner >= 0 ? view.pointPage(spinner) : -1, values: [steps],
      message: `no end after ${steps} steps (livelock, or a spin nobody ends): ${parts.join('; ')}`,
    };
  }
}

/** The observer both drivers use by default. */
export const pageObserver = (shm: Shm): DriverObserver => new PageObserver(shm);
