// A task's list of held page locks (Task.heldAdd / heldDrop / heldRemove): what LOCK-LEAK,
// lockdep and the wait-for graph read. heldDrop is the unlock's one scan; heldRemove the
// unconditional drop of __ClearPageLocked. Past MAX_HELD nothing is taken (a model limit).
import { describe, expect, it } from 'vitest';
import { makeLock } from '../../src/locks/index.ts';
import { MAX_HELD } from '../../src/shm/layout.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';

function task(id = 1) {
  const shm = new Shm({
    pages: 32, buckets: 16, tasks: 3, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
    flightEntries: 16, violationSlots: 4,
  });
  initShm(shm);
  return { shm, t: new Task({ id, shm, ops: kernelOps({ lock: makeLock('v5.9', {}) }) }) };
}

describe('the held-lock list', () => {
  it('drops the newest entry, an older one, and nothing that is not held', () => {
    const { shm, t } = task();
    for (const p of [4, 9, 2]) t.heldAdd(p);
    expect(t.heldDrop(2)).toBe(true); // the usual: the last one taken
    expect(t.heldPages()).toEqual([4, 9]);
    expect(t.heldDrop(7)).toBe(false);
    expect(t.heldPages()).toEqual([4, 9]);
    expect(t.heldDrop(4)).toBe(true); // an older one: the rest move down
    expect(t.heldPages()).toEqual([9]);
    expect(shm.heldCount[1]).toBe(1);
    expect([shm.heldCount[0], shm.heldCount[2]]).toEqual([0, 0]); // other tasks' lists untouched
  });

  it('a lock beyond MAX_HELD is a model limit: heldAdd throws and lists nothing (test/check/held-limit.test.ts); heldRemove always drops the count', () => {
    const { shm, t } = task();
    for (let p = 0; p < MAX_HELD; p++) t.heldAdd(p);
    expect(() => t.heldAdd(MAX_HELD)).toThrow(/model limit/);
    expect(shm.heldCount[1]).toBe(MAX_HELD);
    expect(t.heldPages()).toEqual(Array.from({ length: MAX_HELD }, (_, p) => p));
    t.heldRemove(0); // __ClearPageLocked
    expect(shm.heldCount[1]).toBe(MAX_HELD - 1);
    expect(t.heldPages()[0]).toBe(1);
  });

  it('looks only at its own slots: the newest entry at the last slot, and a full list', () => {
    const { shm, t } = task(1);
    const next = new Task({ id: 2, shm, ops: t.ops });
    next.heldAdd(99); // task 2's first slot, right after task 1's last
    for (let p = 0; p < MAX_HELD; p++) t.heldAdd(p);
    expect(t.heldDrop(MAX_HELD - 1)).toBe(true); // the newest, at the last slot
    t.heldAdd(MAX_HELD - 1);
    expect(t.heldDrop(99)).toBe(false); // not task 1's, whatever lies past its slots
    expect(shm.heldCount[1]).toBe(MAX_HELD);
    expect(t.heldDrop(0)).toBe(true); // the oldest: the scan
    expect(t.heldPages()).toEqual(Array.from({ length: MAX_HELD - 1 }, (_, p) => p + 1));
    expect(next.heldPages()).toEqual([99]);
  });
});
