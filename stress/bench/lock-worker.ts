// A benchmark worker: runs one task's lock loop on page 0 through the free-mode driver (with
// --perturb off), or the raw Atomics.wait/notify ping-pong it is compared with. Posts what it
// measured when the main thread sets STOP.
import { kernelOps } from '../../src/variants/index.ts';
import { parentPort, workerData } from 'node:worker_threads';
import { makeLock } from '../../src/locks/index.ts';
import { SPIN_LABEL } from '../../src/locks/waitqueue.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { FreeDriver } from '../../src/sched/free.ts';
import { Task } from '../../src/kernel/task.ts';
import { Shm } from '../../src/shm/shm.ts';
import type { Step } from '../../src/kernel/step.ts';
import { BC, type EffectCounts, type PassSplit, type LockWorkerData, type LockWorkerResult } from './lock-worker-api.ts';

const d = workerData as LockWorkerData;
const ctl = new Int32Array(d.ctl);
const stop = () => Atomics.load(ctl, BC.STOP) !== 0;
const now = () => Number(process.hrtime.bigint());

Atomics.add(ctl, BC.READY, 1);
Atomics.notify(ctl, BC.READY);
while (Atomics.load(ctl, BC.GO) === 0) Atomics.wait(ctl, BC.GO, 0, 50);

const lat: number[] = [];
let count = 0;
const released = new Float64Array(d.clock); // [0]: when the releaser started to let go
const nap = new Int32Array(new SharedArrayBuffer(4));
/** Wait for `cond` without holding a core: the machine may have more runnable threads than cores. */
const await_ = (cond: () => boolean) => {
  while (!cond() && !stop()) Atomics.wait(nap, 0, 0, 0.02);
};

const counts: EffectCounts = { bucketWaits: 0, bucketSleeps: 0, bucketWaitsUnlock: 0, entryWaits: 0, otherWaits: 0, timedOut: 0, notEqual: 0, bucketWakes: 0, entryWakes: 0, points: 0 };
const split: PassSplit = { beforeWake: [], wakeUp: [], afterWake: [], qHold: [] };
let qLockAt = 0; // this side's last spin_lock(q) point
let resumed = 0; // when this side's last entry wait returned woken
/** Pass a protocol generator's yields through to the driver, counting its futex effects and
 * timing the wake of a sleeper's entry and the return from our own entry wait. */
function* counted<T>(g: Step<T>, shm: Shm, unlock: boolean): Step<T> {
  let send: unknown;
  for (;;) {
    const r = g.next(send);
    if (r.done) return r.value;
    const y = r.value;
    if (typeof y === 'string') {
      counts.points++;
      if (y === SPIN_LABEL) qLockAt = now();
      else if (y === 'spin_unlock(q)' && qLockAt) {
        split.qHold.push(now() - qLockAt);
        qLockAt = 0;
      }
    }
    else if (y.kind === 'wait') {
      if (y.arr === shm.bucketLock) {
        counts.bucketWaits++;
        if (unlock) counts.bucketWaitsUnlock++;
      }
      else if (y.arr === shm.wqFlags) counts.entryWaits++;
      else counts.otherWaits++;
    } else if (y.kind === 'wake') {
      if (y.arr === shm.bucketLock) counts.bucketWakes++;
      else if (y.arr === shm.wqFlags) {
        counts.entryWakes++;
        released[1] = now();
      }
    }
    send = yield y;
    if (typeof y !== 'string' && y.kind === 'wait' && y.arr === shm.wqFlags && send === 'ok') resumed = now();
    if (typeof y !== 'string' && y.kind === 'wait' && y.arr === shm.bucketLock && send !== 'not-equal') counts.bucketSleeps++;
    if (send === 'timed-out') counts.timedOut++;
    else if (send === 'not-equal') counts.notEqual++;
  }
}

if (d.mode === 'pingpong') {
  // the raw reference: task 0 sets the word and sleeps until task 1 clears it, and back; each
  // side notes how long after the other's release it woke
  const mine = d.id === 0 ? 1 : 0, theirs = 1 - mine;
  const release = () => {
    released[0] = now();
    Atomics.store(ctl, BC.PP, mine);
    Atomics.notify(ctl, BC.PP);
  };
  if (d.id === 0) release();
  while (!stop()) {
    while (Atomics.load(ctl, BC.PP) !== theirs && !stop()) Atomics.wait(ctl, BC.PP, mine, 50);
    if (stop()) break;
    lat.push(now() - released[0]);
    count++;
    release();
  }
  Atomics.store(ctl, BC.PP, 2); // release the other side
  Atomics.notify(ctl, BC.PP);
} else {
  const shm = new Shm(d.sizes, d.sab);
  const lock = makeLock(d.lock!, { unfairness: DEFAULTS.unfairness });
  const t = new Task({ id: d.id, shm, ops: kernelOps({ lock }) });
  const drv = new FreeDriver({ t, scenario: {} as Scenario, role: 'bench', cfg: { ...DEFAULTS, perturb: 'off' } });
  if (d.mode === 'hot') {
    while (!stop()) {
      drv.drive(lock.lockPage(t, 0));
      count++;
      drv.drive(lock.unlockPage(t, 0));
    }
  } else {
    // handoff: two tasks pass the lock back and forth. The holder unlocks only once the other
    // task's wait entry is queued, and asks again only once the other has the lock, so every
    // pass is a sleep in lock_page and a wake (or hand-off) from unlock_page. What is timed is
    // one pass: from the start of unlock_page to the other task's return from lock_page.
    const other = 1 - d.id;
    // timed: the direct form, as a free-mode run calls it (FreeDriver.call); counted: the
    // generators, wrapped to see every yield
    const lockPage = () => (d.count ? drv.drive(counted(lock.lockPage(t, 0), shm, false)) : drv.call(lock.lockPage, lock, t, 0));
    const unlockPage = () => (d.count ? drv.drive(counted(lock.unlockPage(t, 0), shm, true)) : drv.call(lock.unlockPage, lock, t, 0));
    for (;;) {
      lockPage();
      const got = now();
      if (released[0] > 0 && !stop()) {
        lat.push(got - released[0]);
        if (d.count && resumed > released[1] && released[1] > released[0]) {
          split.beforeWake.push(released[1] - released[0]);
          split.wakeUp.push(resumed - released[1]);
          split.afterWake.push(got - resumed);
        }
      }
      count++;
      Atomics.store(ctl, BC.LAST, d.id);
      Atomics.notify(ctl, BC.LAST);
      if (stop()) {
        unlockPage();
        break;
      }
      await_(() => Atomics.load(shm.wqLinked, other) !== 0);
      released[0] = now();
      unlockPage();
      while (Atomics.load(ctl, BC.LAST) === d.id && !stop()) Atomics.wait(ctl, BC.LAST, d.id, 50);
    }
  }
}

const out: LockWorkerResult = { id: d.id, count, lat, ...(d.count ? { counts, split } : {}) };
parentPort!.postMessage(out);
