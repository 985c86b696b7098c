// The wait-for graph, the deadlock detector, the hung-task watchdog and live-finding
// re-validation, on hand-built shared states (no workers).
import { kernelOps } from '../../src/variants/index.ts';
import { describe, expect, it } from 'vitest';
import { CTL, MAX_HELD, STAT, STAT_STRIDE } from '../../src/shm/layout.ts';
import { PG_locked, PG_waiters, Shm, TASK_DONE, TASK_PARKED, TASK_RUNNING, TASK_WAITING, WQ_FLAG_EXCLUSIVE } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { DeadlockDetector, describeChain, findDeadlocks, waitForGraph } from '../../src/check/waitfor.ts';
import { Watchdog } from '../../src/check/watchdog.ts';
import { LiveRevalidator } from '../../src/check/revalidate.ts';
import { quiescentLockFindings } from '../../src/check/lockstate.ts';
import { StatsSampler } from '../../src/run/stats.ts';
import { Task } from '../../src/kernel/task.ts';
import { readViolations } from '../../src/check/violations.ts';
import { PageObserver } from '../../src/check/observer.ts';
import { futexWait } from '../../src/kernel/step.ts';
import type { PageLock } from '../../src/locks/types.ts';

function model(tasks = 4): Shm {
  const shm = new Shm({
    pages: 8, buckets: 4, tasks, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0,
    ptesPerPtl: 1, flightEntries: 8, violationSlots: 8,
  });
  initShm(shm);
  shm.flags.fill(0);
  return shm;
}

/** task waits (asleep) on page's lock; owner (task id or -1) holds it. */
function waits(shm: Shm, task: number, page: number, owner: number, bit = 0): void {
  shm.taskState[task] = TASK_WAITING;
  shm.taskWaitPage[task] = page;
  shm.taskWaitBit[task] = bit;
  shm.flags[page] |= PG_locked | PG_waiters;
  if (owner >= 0) holdsLock(shm, owner, page);
}
function holdsLock(shm: Shm, task: number, page: number): void {
  shm.flags[page] |= PG_locked;
  shm.owner[page] = task + 1;
  shm.held[task * MAX_HELD + shm.heldCount[task]++] = page;
}

describe('wait-for graph', () => {
  it('finds an ABBA cycle and describes the chain', () => {
    const shm = model();
    waits(shm, 0, 1, 1); // task 0 waits on page 1, held by task 1
    waits(shm, 1, 2, 0); // task 1 waits on page 2, held by task 0
    const d = findDeadlocks(shm, 4);
    expect(d).toHaveLength(1);
    expect(d[0].tasks).toEqual([0, 1]);
    expect(d[0].self).toBe(false);
    expect(d[0].chain).toBe(
      'task 0 waits on the lock of page 1 (PG_locked|PG_waiters) held by task 1; '
      + 'task 1 waits on the lock of page 2 (PG_locked|PG_waiters) held by task 0',
    );
  });

  it('finds a task waiting on a page lock it holds', () => {
    const shm = model();
    holdsLock(shm, 2, 5);
    shm.owner[5] = 0; // even before its owner word says so: it is in its own held list
    waits(shm, 2, 5, -1);
    const d = findDeadlocks(shm, 4);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ tasks: [2], self: true });
  });

  it('a chain that ends in a running task, or a writeback wait, is no deadlock', () => {
    const shm = model();
    waits(shm, 0, 1, 1);
    shm.taskState[1] = TASK_RUNNING;
    waits(shm, 2, 3, 3, 4); // PG_writeback (bit 4) has no owner to follow
    waits(shm, 3, 6, 2);
    expect(findDeadlocks(shm, 4)).toEqual([]);
    expect(describeChain(shm, waitForGraph(shm, 4), 3)).toBe(
      'task 3 waits on the lock of page 6 (PG_locked|PG_waiters) held by task 2; '
      + 'task 2 waits on bit 4 of page 3 (PG_locked|PG_waiters) (a bit wait: no owner to follow)',
    );
  });

  it('the detector confirms a cycle only after it persisted with no progress', () => {
    const shm = model();
    waits(shm, 0, 1, 1);
    waits(shm, 1, 2, 0);
    const det = new DeadlockDetector(shm, 4, 250, 3);
    expect(det.scan(0)).toEqual([]);
    expect(det.scan(100)).toEqual([]);
    Atomics.add(shm.heartbeat, 1, 1); // task 1 made progress: whatever we saw was not stuck
    expect(det.scan(200)).toEqual([]);
    expect(det.scan(300)).toEqual([]);
    expect(det.scan(400)).toEqual([]);
    expect(det.scan(460)).toHaveLength(1); // 3 scans over >= 250 ms since the progress
    expect(det.scan(800)).toEqual([]); // reported once
  });
});

describe('watchdog', () => {
  it('reports a task whose heartbeat stopped, with the page, its flags, the owner and what the owner does', () => {
    const shm = model();
    const roles = ['locker', 'locker', 'locker', 'locker'];
    const dog = new Watchdog(shm, roles, 1000, 0);
    waits(shm, 0, 3, 2); // task 0 waits on page 3, owned by task 2
    shm.opNo[0] = 41;
    shm.taskState[1] = TASK_PARKED; // parked and done tasks are never hung
    shm.taskState[3] = TASK_DONE;
    shm.opNo[2] = 7;
    new Task({ id: 2, shm, ops: kernelOps({ lock: {} as PageLock }) }).record('hold');
    expect(dog.scan(500)).toEqual([]);
    Atomics.add(shm.heartbeat, 2, 1); // task 2 is running: it makes progress
    const hung = dog.scan(1200);
    expect(hung.map((h) => h.report.task)).toEqual([0]);
    const h = hung[0];
    expect(h.report).toMatchObject({ task: 0, role: 'locker', op: 41, waitPage: 3, owner: 2, pageFlags: PG_locked | PG_waiters });
    expect(h.message).toBe(
      "task 0 (locker) blocked for more than 1.2 s: waiting on page 3 bit 0 (PG_locked|PG_waiters) in op 41; "
      + "page 3 is owned by task 2 (running op 7, last step 'hold'). "
      + 'Wait-for chain: task 0 waits on the lock of page 3 (PG_locked|PG_waiters) held by task 2; task 2 is running op 7, last step \'hold\'',
    );
    expect(h.lostWakeup).toBe(false);
    const v = readViolations(shm);
    expect(v.map((x) => [x.id, x.task, x.page])).toEqual([['HUNG', 0, 3]]);
    // once per task; task 2 stopped beating at 1.2 s, so it is next
    expect(dog.scan(5000).map((x) => x.report.task)).toEqual([2]);
    expect(dog.scan(9000)).toEqual([]);
  });

  it('calls a waiter queued on an unlocked page a lost wake-up', () => {
    const shm = model();
    const dog = new Watchdog(shm, ['locker', 'locker'], 100, 0);
    shm.taskState[0] = TASK_DONE;
    waits(shm, 1, 4, -1);
    shm.flags[4] = PG_waiters; // unlocked, nobody woke the waiter
    shm.wqLinked[1] = 1;
    shm.wqPage[1] = 4;
    shm.wqFlags[1] = WQ_FLAG_EXCLUSIVE;
    const [h] = dog.scan(200);
    expect(h.lostWakeup).toBe(true);
    expect(h.lostWakeupMessage).toMatch(/^lost wake-up: task 1 \(locker\) is still queued on page 4, which is unlocked \(PG_waiters\)/);
    expect(readViolations(shm).map((x) => x.id)).toEqual(['HUNG', 'LOCK-WAKE']);
  });
});

describe('checks', () => {
  it('live findings are reported only when they persist with every actor moving on', () => {
    const shm = model();
    const re = new LiveRevalidator(shm, 2, 50, 3);
    const f = { id: 'MAP-COUNT' as const, page: 2, message: 'x', values: [1] };
    expect(re.scan([f], 0)).toEqual([]);
    expect(re.scan([f], 30)).toEqual([]);
    expect(re.scan([f], 60)).toEqual([]); // 3 scans, 60 ms, but no task finished an operation
    Atomics.add(shm.heartbeat, 0, 1);
    shm.taskState[1] = TASK_PARKED;
    expect(re.scan([f], 70)).toEqual([f]);
    // a finding whose page changed between scans starts over; one that vanished is dropped
    const g = { ...f, page: 3 };
    re.scan([g], 100);
    shm.refcount[3]++;
    re.scan([g], 200);
    Atomics.add(shm.heartbeat, 0, 1);
    expect(re.scan([g], 220)).toEqual([]);
    expect(re.scan([], 300)).toEqual([]);
  });

  it('quiescent lock state: a locked page, a stale owner, a queued entry', () => {
    const shm = model();
    expect(quiescentLockFindings(shm)).toEqual([]);
    shm.flags[1] = PG_locked;
    shm.owner[2] = 3;
    shm.wqLinked[2] = 1;
    shm.wqPage[2] = 6;
    shm.flags[7] = PG_waiters; // allowed: PG_waiters with nobody waiting
    expect(quiescentLockFindings(shm).map((f) => [f.id, f.page])).toEqual([['LOCK-LEAK', 1], ['LOCK-LEAK', 2], ['LOCK-WAITERS', 6]]);
  });
});

describe('the drivers\' observer', () => {
  const task = (shm: Shm, id: number) => new Task({ id, shm, ops: kernelOps({ lock: {} as PageLock }) });

  it('records what a blocking task waits on: a queue entry\'s page and bit, else the page its code is at', () => {
    const shm = model();
    const obs = new PageObserver(shm);
    const t = task(shm, 1);
    shm.wqPage[1] = 5;
    shm.wqBit[1] = 4;
    obs.onBlock(t, futexWait(shm.wqFlags, 1, 0));
    expect([shm.taskWaitPage[1], shm.taskWaitBit[1]]).toEqual([5, 4]);
    t.page = 3;
    obs.onBlock(t, futexWait(shm.flags, 3, 0));
    expect([shm.taskWaitPage[1], shm.taskWaitBit[1]]).toEqual([3, -1]);
  });

  it('LOCK-LEAK once per page until the task holds none, again after reset; the one violation message', () => {
    const shm = model();
    const obs = new PageObserver(shm);
    const t = task(shm, 0);
    obs.onOpEnd(t);
    expect(readViolations(shm)).toEqual([]);
    holdsLock(shm, 0, 2);
    t.op = 4;
    obs.onOpEnd(t);
    obs.onOpEnd(t); // the same page: not again
    holdsLock(shm, 0, 6);
    obs.onOpEnd(t); // a new one
    expect(readViolations(shm).map((v) => [v.id, v.task, v.op, v.page])).toEqual([['LOCK-LEAK', 0, 4, 2], ['LOCK-LEAK', 0, 4, 6]]);
    expect(obs.describe(() => 'locker')?.message).toBe(
      'no task finishes an operation still holding a page lock it took: task 0 (locker) op 4, page 2 [flags PG_locked, refcount 0, mapcount -1, mapping 0, index -1, owner task 0]',
    );
    obs.reset();
    obs.onOpEnd(t);
    expect(readViolations(shm)).toHaveLength(4); // both held pages again: a fresh model
  });
});

describe('stats line', () => {
  it('is greppable, with rates, Max/Min, !!! on a violation and ??? on unfairness', () => {
    const shm = model(3);
    const s = new StatsSampler(shm, ['locker', 'locker']);
    const set = (task: number, name: 'acquisitions' | 'ops' | 'contended' | 'maxWaitUs', v: number) =>
      (shm.stats[task * STAT_STRIDE + STAT[name]] = v);
    set(0, 'ops', 1000); set(0, 'acquisitions', 900); set(0, 'contended', 10); set(0, 'maxWaitUs', 812);
    set(1, 'ops', 1000); set(1, 'acquisitions', 800);
    shm.heartbeat[0] = shm.heartbeat[1] = 1000;
    const a = s.sample(2000);
    expect(s.line('locks', a)).toBe('locks-torture: t=2s Ops: 2000 (1000/s) Acq: 1700 (850/s) Contended: 10 MaxWait: 812us Overtaken: 0 Max/Min: 900/800 Violations: 0');
    set(0, 'ops', 3000); set(0, 'acquisitions', 2900); shm.heartbeat[0] = 3000;
    shm.ctl[CTL.VIOLATIONS] = 1;
    const b = s.sample(4000);
    expect(s.line('locks', b)).toBe(
      'locks-torture: t=4s Ops: 4000 (1000/s) Acq: 3700 (1000/s) Contended: 10 MaxWait: 812us Overtaken: 0 Max/Min: 2900/800 Violations: 1 !!!'
      + ' ??? unfair: locker acquisitions max 2900 (task 0) > 2 x min 800 (task 1); stall: task 1 made no progress',
    );
    expect(b.suspicions).toHaveLength(2);
  });
});
