// Hung-task watchdog (khungtaskd): a task whose heartbeat (operations completed) has not moved for
// the bound while it is neither parked nor done is reported as HUNG with what it is doing: the page
// it waits on and that page's flags, the page's shadow owner and what the owner is doing, and the
// wait-for chain from it (a cycle there is a DEADLOCK). The caller then stops the run.
//
// The watchdog reads only shared memory, on the main thread, so it works whatever the workers do.
import { decodeFlight, reportViolation } from './violations.ts';
import { flagsText, pageOwner, taskStateText } from './describe.ts';
import { describeChain, isRwsemWait, waitForGraph, waitingOn } from './waitfor.ts';
import { BIT_LOCKED, PG_locked, TASK_DONE, TASK_PARKED, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import { seqDiff } from '../shm/layout.ts';

export interface HungReport {
  task: number;
  role: string;
  op: number;
  state: string; // 'waiting on page 17 (PG_locked|PG_waiters), owner task 3 (running op 812)'
  waitPage: number;
  pageFlags: number;
  owner: number; // task id, -1 none
  ownerState: string;
}

export interface HungFinding {
  report: HungReport;
  /** the wait-for chain from the hung task */
  chain: string;
  /** the task is queued on a page that is unlocked and nobody woke it: a lost wake-up */
  lostWakeup: boolean;
  message: string;
  /** the LOCK-WAKE message when lostWakeup */
  lostWakeupMessage: string;
}

/** Who last did a step on the page, among the tasks not waiting on it: with no owner left, that
 * is usually the task that unlocked it, the one that should have woken the waiters. */
export function lastTouch(shm: Shm, pfn: number, except: number): string {
  let best: { task: number; seq: number; label: string; op: number } | null = null;
  for (let t = 0; t < shm.sizes.tasks; t++) {
    const w = waitingOn(shm, t);
    if (t === except || (w !== null && !isRwsemWait(w.bit) && w.page === pfn)) continue;
    for (const r of decodeFlight(shm, shm.flight, 0, t))
      if (r.page === pfn && (!best || seqDiff(r.seq, best.seq) > 0)) best = r;
  }
  return best
    ? `the last step on page ${pfn} was task ${best.task}'s '${best.label}' in op ${best.op}`
    : `no other task's recent steps touch page ${pfn}`;
}

/** A HungReport for `task` (also used for tasks still stuck when a run is torn down). */
export function hungFinding(shm: Shm, task: number, role: string, blockedMs: number): HungFinding {
  const w = waitingOn(shm, task);
  const waitPage = w && !isRwsemWait(w.bit) ? w.page : -1; // an rw semaphore's wait names its number, no page
  const inRange = waitPage >= 0 && waitPage < shm.sizes.pages;
  const pageFlags = inRange ? Atomics.load(shm.flags, waitPage) : 0;
  const owner = w && w.bit === BIT_LOCKED ? pageOwner(shm, waitPage) : -1;
  const ownerState = owner >= 0 ? taskStateText(shm, owner) : inRange ? `no owner; ${lastTouch(shm, waitPage, task)}` : 'no owner';
  const g = waitForGraph(shm, shm.sizes.tasks);
  const chain = describeChain(shm, g, task);
  // LOCK-WAKE: queued on a page whose bit is clear, not woken, for the whole hung bound
  const lostWakeup = w !== null && inRange && w.bit === BIT_LOCKED && (pageFlags & PG_locked) === 0
    && Atomics.load(shm.wqLinked, task) !== 0 && (Atomics.load(shm.wqFlags, task) & WQ_FLAG_WOKEN) === 0;
  const state = taskStateText(shm, task)
    + (inRange ? `; page ${waitPage} ${owner >= 0 ? `is owned by task ${owner} (${ownerState})` : `has ${ownerState}`}` : '');
  const report: HungReport = {
    task, role, op: Atomics.load(shm.opNo, task), state, waitPage, pageFlags, owner, ownerState,
  };
  const message = `task ${task} (${role}) blocked for more than ${(blockedMs / 1000).toFixed(1)} s: ${state}`
    + (chain ? `. Wait-for chain: ${chain}` : '');
  const lostWakeupMessage = lostWakeup
    ? `lost wake-up: task ${task} (${role}) is still queued on page ${waitPage}, which is unlocked (${flagsText(pageFlags)}), `
      + `and was not woken for ${(blockedMs / 1000).toFixed(1)} s; ${lastTouch(shm, waitPage, task)}`
    : '';
  return { report, chain, lostWakeup, message, lostWakeupMessage };
}

export class Watchdog {
  private readonly beat: number[];
  private readonly since: number[];
  private readonly reported: boolean[];
  /** tasks whose lost wake-up was already reported (src/check/lostwake.ts): not reported again */
  lostWakeReported: (task: number) => boolean = () => false;

  constructor(
    private readonly shm: Shm,
    private readonly roles: readonly string[],
    private readonly hungMs: number,
    nowMs: number,
  ) {
    this.beat = roles.map((_, t) => Atomics.load(shm.heartbeat, t));
    this.since = roles.map(() => nowMs);
    this.reported = roles.map(() => false);
  }

  /** Restart every task's clock (after the run itself stood still: start barrier, epochs). */
  reset(nowMs: number): void {
    for (let t = 0; t < this.roles.length; t++) this.since[t] = nowMs;
  }

  /** ms since `task` last made progress (0 if parked or done). */
  blockedMs(task: number, nowMs: number): number {
    return nowMs - this.since[task];
  }

  /** One scan: reports (to the ring, once per task) and returns tasks newly found hung. */
  scan(nowMs: number): HungFinding[] {
    const out: HungFinding[] = [];
    const shm = this.shm;
    for (let t = 0; t < this.roles.length; t++) {
      const b = Atomics.load(shm.heartbeat, t);
      const s = Atomics.load(shm.taskState, t);
      if (b !== this.beat[t] || s === TASK_PARKED || s === TASK_DONE) {
        this.beat[t] = b;
        this.since[t] = nowMs;
        continue;
      }
      if (this.reported[t] || nowMs - this.since[t] < this.hungMs) continue;
      this.reported[t] = true;
      const f = hungFinding(shm, t, this.roles[t], nowMs - this.since[t]);
      const r = f.report;
      reportViolation(shm, 'HUNG', t, r.op, r.waitPage, [Math.round(nowMs - this.since[t]), r.owner, r.pageFlags]);
      if (f.lostWakeup && !this.lostWakeReported(t)) reportViolation(shm, 'LOCK-WAKE', t, r.op, r.waitPage, [Math.round(nowMs - this.since[t])]);
      out.push(f);
    }
    return out;
  }
}
