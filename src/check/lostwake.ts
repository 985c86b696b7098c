// LOCK-WAKE, free mode: a lost wake-up, seen from the main thread.
//
// The main signal is exact and needs no time: the owed wake-up accounting of the lock steps
// (src/locks/waitqueue.ts, "owed wake-ups") reports a waiter the instant it sleeps, or is left
// asleep, on a page lock with nothing owing it a wake, even if a later unlock would rescue it.
// This detector does two things on top: it tells the run that such a waiter is still stranded
// (so the run stops at once instead of waiting out the hung bound), and, as a backstop for what
// the accounting cannot see (a lock that bypasses the instrumented steps, other bits), the time
// bound below.
//
// A waiter whose wait entry is queued (wqLinked), not woken (no WQ_FLAG_WOKEN), on a page whose bit
// it waits for is clear, with nobody walking the page's wait-queue bucket, is a waiter whose wake-
// up is in flight — or lost. unlock_page() clears PG_locked and then wakes (a few steps, µs), so a
// waiter seen in that state at every scan for longer than the bound (--lost-wake, default 1 s:
// five orders of magnitude above a wake-up's latency here) while its task made no progress and its
// entry was not re-queued, was not woken and will not be unless somebody else locks and unlocks the
// page: LOCK-WAKE, naming the waiter, the page and who last touched it (usually the unlocker).
//
// The hung-task watchdog (src/check/watchdog.ts) says the same once a task is hung; this fires
// sooner and also when somebody else would rescue the waiter a few seconds later (the genuine lost
// wake-ups of v4.10, v4.14 and v5.9-rc6 in killable waits: see the comments at the top of those files).
import { BIT_LOCKED, TASK_DONE, TASK_PARKED, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import { lostSleeper, pageWaitQueue } from '../locks/waitqueue.ts';
import { flagsText } from './describe.ts';
import { lastTouch } from './watchdog.ts';

export interface LostWake {
  task: number;
  page: number;
  bit: number;
  op: number;
  stuckMs: number;
  message: string;
}

interface Watch {
  page: number;
  bit: number;
  beat: number;
  overtaken: number;
  since: number;
}

export class LostWakeDetector {
  private readonly watch = new Map<number, Watch>();
  /** tasks reported (per heartbeat: a task reported once per operation) */
  private readonly reported = new Map<number, number>();

  constructor(
    private readonly shm: Shm,
    private readonly roles: readonly string[],
    private readonly boundMs: number,
  ) {}

  /** Tasks reported so far (the watchdog does not report them again). */
  has(task: number): boolean {
    return this.reported.has(task);
  }

  /** One scan; returns the waiters found lost by this scan (each once per operation). */
  scan(nowMs: number): LostWake[] {
    const out: LostWake[] = [];
    if (!(this.boundMs > 0)) return out;
    const shm = this.shm;
    for (let task = 0; task < this.roles.length; task++) {
      const state = Atomics.load(shm.taskState, task);
      const linked = Atomics.load(shm.wqLinked, task);
      const wq = Atomics.load(shm.wqFlags, task);
      const page = Atomics.load(shm.wqPage, task), bit = Atomics.load(shm.wqBit, task);
      const op = Atomics.load(shm.opNo, task), beat = Atomics.load(shm.heartbeat, task);
      // reported lost by the owed wake-up accounting in this operation, and still stranded
      if (bit === BIT_LOCKED && page >= 0 && page < shm.sizes.pages && Atomics.load(shm.wakeLostOp, task) === op + 1
        && this.reported.get(task) !== beat && lostSleeper(shm, page, task) === task) {
        this.reported.set(task, beat);
        const flags = Atomics.load(shm.flags, page);
        const stuckMs = Math.round(nowMs - (this.watch.get(task)?.since ?? nowMs));
        out.push({
          task, page, bit, op, stuckMs,
          message: `lost wake-up: task ${task} (${this.roles[task]}) op ${op} sleeps on the page lock of page ${page} `
            + `(${flagsText(flags)}${linked ? '' : ', on no wait queue'}) with no wake-up owed to it, and is still stranded; `
            + lastTouch(shm, page, task),
        });
        continue;
      }
      if (state === TASK_PARKED || state === TASK_DONE || !linked || (wq & WQ_FLAG_WOKEN) || page < 0 || page >= shm.sizes.pages || bit < 0) {
        this.watch.delete(task);
        continue;
      }
      const flags = Atomics.load(shm.flags, page);
      if (flags & (1 << bit)) {
        this.watch.delete(task); // the bit is set: the next clear will wake it
        continue;
      }
      const overtaken = Atomics.load(shm.wqOvertaken, task);
      const w = this.watch.get(task);
      if (!w || w.page !== page || w.bit !== bit || w.beat !== beat || w.overtaken !== overtaken) {
        this.watch.set(task, { page, bit, beat, overtaken, since: nowMs });
        continue;
      }
      // a waker walking the bucket right now is a wake in flight
      if (Atomics.load(shm.bucketLock, pageWaitQueue(shm, page)) !== 0) continue;
      if (nowMs - w.since < this.boundMs || this.reported.get(task) === beat) continue;
      this.reported.set(task, beat);
      const stuckMs = Math.round(nowMs - w.since);
      const what = bit === BIT_LOCKED ? 'page lock' : `bit ${bit}`;
      out.push({
        task, page, bit, op, stuckMs,
        message: `lost wake-up: task ${task} (${this.roles[task]}) op ${op} is queued for the ${what} of page ${page}, `
          + `which is clear (${flagsText(flags)}), with no wake in flight, and was not woken for ${(stuckMs / 1000).toFixed(1)} s; `
          + lastTouch(shm, page, task),
      });
    }
    return out;
  }
}
