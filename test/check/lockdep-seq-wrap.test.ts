// Lockdep across the step-number wrap: CTL.SEQ is an Int32 word that passes 2^31 after minutes of
// a free run (seqDiff(), src/shm/layout.ts). A lock taken after the wrap has a negative step
// number; only a page born locked (__SetPageLocked: no acquisition recorded, op -1) is reported
// as born locked.
import { describe, expect, it } from 'vitest';
import { kernelOps } from '../../src/variants/index.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { CTL, type ShmSizes } from '../../src/shm/layout.ts';
import { Task } from '../../src/kernel/task.ts';
import { runRecorded as run } from '../helpers/stepper.ts';
import { makeLock } from '../../src/locks/index.ts';
import { __SetPageLocked } from '../../src/locks/common.ts';
import { attachLockdep, lockdepSummary, lockOrderMessage } from '../../src/check/lockdep.ts';
import { readViolations } from '../../src/check/violations.ts';

const SIZES: ShmSizes = {
  pages: 8, buckets: 4, tasks: 2, files: 1, pagesPerFile: 8, processes: 1, vmasPerProcess: 1, ptesPerVma: 4, ptesPerPtl: 4,
  flightEntries: 16, violationSlots: 8,
};

/** Pages 0..3: file 0, index 0..3, unlocked; two tasks with lockdep. */
function model() {
  const shm = new Shm(SIZES);
  initShm(shm);
  shm.flags.fill(0);
  shm.refcount.fill(1);
  for (let p = 0; p < 4; p++) {
    shm.mapping[p] = 1;
    shm.index[p] = p;
  }
  const lock = makeLock('v5.9');
  const ts = [0, 1].map((id) => {
    const t = new Task({ id, shm, ops: kernelOps({ lock }) });
    attachLockdep(t);
    return t;
  });
  return { shm, ts };
}


/** Task a takes pages 1 then 2 (the ascending order); task b then takes page 2 in op 5 with its
 * step numbers starting at `seq0`, makes `between` more steps, and blocks on page 1 in op 6:
 * LOCK-ORDER. Returns b's record and the violation's message. */
function inversion(seq0: number, between: number) {
  const { shm, ts: [a, b] } = model();
  const L = a.ops.lock;
  run(a, L.lockPage(a, 1));
  run(a, L.lockPage(a, 2));
  run(a, L.unlockPage(a, 2));
  run(a, L.unlockPage(a, 1));
  Atomics.store(shm.ctl, CTL.SEQ, seq0);
  b.op = 5;
  run(b, L.lockPage(b, 2)); // one step, numbered seq0 (uncontended fast path)
  for (let i = 0; i < between; i++) b.record('step');
  b.op = 6;
  run(b, L.lockPage(b, 1)); // against the order
  const v = readViolations(shm);
  expect(v.map((x) => x.id)).toEqual(['LOCK-ORDER']);
  return { rec: lockdepSummary(shm).orders.find((o) => o.task === 1)!, message: lockOrderMessage(shm, v[0].values) };
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

describe('lockdep across the step-number wrap', () => {
  it('a lock taken after CTL.SEQ wrapped (a negative step number) is shown with its op and step, not as born locked', () => {
    const { rec, message } = inversion(INT32_MIN + 10, 1);
    expect([rec.heldOp, rec.heldSeq, rec.seq]).toEqual([5, INT32_MIN + 10, INT32_MIN + 11]);
    expect(message).not.toMatch(/born locked/);
    expect(message).toContain(`holding the page lock of page 2 (file 0 index 2) (taken in op 5 at seq ${INT32_MIN + 10}, 1 step before)`);
  });

  it('a lock taken just before the wrap and a block just after: the steps between counted by seqDiff', () => {
    const { rec, message } = inversion(INT32_MAX - 1, 3); // page 2 at INT32_MAX - 1; steps INT32_MAX, MIN, MIN + 1
    expect([rec.heldSeq, rec.seq]).toEqual([INT32_MAX - 1, INT32_MIN + 1]);
    expect(message).toContain(`(taken in op 5 at seq ${INT32_MAX - 1}, 3 steps before)`);
  });

  it('a page born locked is shown as born locked, whatever the step numbers', () => {
    const { shm, ts: [, b] } = model();
    Atomics.store(shm.ctl, CTL.SEQ, INT32_MIN + 10);
    b.op = 3;
    b.record('step');
    __SetPageLocked(b, 3); // a new page: no acquisition recorded
    run(b, b.ops.lock.lockPage(b, 2)); // index 2 below the held index 3: LOCK-ORDER
    const v = readViolations(shm);
    expect(v.map((x) => x.id)).toEqual(['LOCK-ORDER']);
    const rec = lockdepSummary(shm).orders.find((o) => o.task === 1)!;
    expect([rec.heldOp, rec.seq]).toEqual([-1, INT32_MIN + 10]);
    expect(lockOrderMessage(shm, v[0].values)).toMatch(/holding the page lock of page 3 \(file 0 index 3\) \(born locked: a new page\)/);
  });

  it('a pfn the task locked and unlocked before, then born locked again (a reused page): born locked, not the old lock', () => {
    const { shm, ts: [, b] } = model();
    b.op = 2;
    run(b, b.ops.lock.lockPage(b, 3)); // page 3 locked the usual way in op 2
    run(b, b.ops.lock.unlockPage(b, 3));
    b.op = 3;
    __SetPageLocked(b, 3); // the same pfn, now a new page
    run(b, b.ops.lock.lockPage(b, 2)); // LOCK-ORDER
    const v = readViolations(shm);
    expect(v.map((x) => x.id)).toEqual(['LOCK-ORDER']);
    const rec = lockdepSummary(shm).orders.find((o) => o.task === 1)!;
    expect(rec.heldOp).toBe(-1);
    expect(lockOrderMessage(shm, v[0].values)).toMatch(/\(born locked: a new page\)/);
  });
});
