// mmap_lock and i_mmap_rwsem in the checkers: lockdep has a class for each (the kernel's order,
// v6.6 mm/rmap.c: mmap_lock -> page lock -> i_mmap_rwsem -> PTL), and the wait-for graph follows
// a task sleeping on one to the tasks holding it (shm.mmapHeld, shm.iMmapHeld), so a deadlock
// through them is reported with its cycle instead of "sleeps on mmapLock[0]".
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import type { Op, Scenario } from '../../src/kernel/scenario.ts';
import type { Step } from '../../src/kernel/step.ts';
import type { Task } from '../../src/kernel/task.ts';
import { CTL } from '../../src/shm/layout.ts';
import { BIT_LOCKED, TASK_WAITING, type Shm } from '../../src/shm/shm.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { makeLock } from '../../src/locks/index.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { iMmapLockRead, iMmapUnlockRead, mmapReadLock, mmapReadUnlock, mmapWriteLock, mmapWriteUnlock } from '../../src/mm/mmap.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import type { SchedView, Strategy } from '../../src/sched/strategies/strategy.ts';
import { attachLockdep, lockOrderMessage } from '../../src/check/lockdep.ts';
import { WAIT_I_MMAP, WAIT_MMAP_LOCK, findDeadlocks, selfWaitText } from '../../src/check/waitfor.ts';
import { readViolations } from '../../src/check/violations.ts';

const cfg: RunConfig = { ...DEFAULTS, scenario: 'map-truncate', workers: 2, pages: 64, buckets: 16, extra: {} };

/** map-truncate's model with the mmap and i_mmap locks taken (as with an unmapper in the mix), and
 * two operations that take a page lock and mm 0's mmap_lock in the two orders:
 * on page P, file 0's first page:
 *   page-mmap  lock_page(P), then mmap_write_lock() (the wrong order)
 *   mmap-page  mmap_read_lock(), then lock_page(P) (a fault's order)
 *   page-immap lock_page(P), then i_mmap_lock_read() (truncation's unmap: the kernel's order)
 *   immap-page i_mmap_lock_read(), then lock_page(P) (the wrong order) */
const scenario: Scenario = {
  ...mapTruncateScenario,
  init(shm: Shm, c: RunConfig) {
    mapTruncateScenario.init(shm, c);
    shm.ctl[CTL.MMAP_LOCKING] = 1;
  },
  *runOp(t: Task, _role: string, op: Op): Step<void> {
    const L = t.ops.lock, P = xaLoad(t.shm, 0, 0); // file 0's first page
    switch (op.kind) {
      case 'page-mmap':
        yield* L.lockPage(t, P);
        yield* mmapWriteLock(t, 0);
        yield* mmapWriteUnlock(t, 0);
        yield* L.unlockPage(t, P);
        return;
      case 'mmap-page':
        yield* mmapReadLock(t, 0);
        yield* L.lockPage(t, P);
        yield* L.unlockPage(t, P);
        yield* mmapReadUnlock(t);
        return;
      case 'page-immap':
        yield* L.lockPage(t, P);
        yield* iMmapLockRead(t, 0);
        yield* iMmapUnlockRead(t, 0);
        yield* L.unlockPage(t, P);
        return;
      case 'immap-page':
        yield* iMmapLockRead(t, 0);
        yield* L.lockPage(t, P);
        yield* L.unlockPage(t, P);
        yield* iMmapUnlockRead(t, 0);
        return;
    }
    throw new Error(`unknown op ${op.kind}`);
  },
};

/** T0 until it owns page P, then T1 as long as it can run, then whoever can. */
class OwnerFirst implements Strategy {
  readonly name = 'owner-first';
  constructor(private readonly shm: Shm) {}
  begin(_view: SchedView): void {}
  choose(runnable: Int32Array, n: number): number {
    const has = (a: number) => Array.from(runnable.subarray(0, n)).includes(a);
    const want = this.shm.owner[xaLoad(this.shm, 0, 0)] === 1 ? 1 : 0;
    return has(want) ? want : runnable[0];
  }
  end(): void {}
  describe(): string {
    return this.name;
  }
}

function runPair(first: string, second: string, lockdep: boolean) {
  const driver = new ControlledDriver({ scenario, cfg, lock: makeLock('v5.9-rc6') });
  if (lockdep) for (const t of driver.tasks) attachLockdep(t);
  const r = driver.runIteration({ ops: [[{ kind: first, args: [] }], [{ kind: second, args: [] }]], strategy: new OwnerFirst(driver.shm), rng: (() => 0) as never });
  return { r, shm: driver.shm, P: xaLoad(driver.shm, 0, 0) };
}

describe('mmap_lock in the wait-for graph (controlled)', () => {
  it('page lock then mmap_write_lock against mmap_read_lock then the page lock: DEADLOCK names the cycle through the mmap_lock', () => {
    const { r, P } = runPair('page-mmap', 'mmap-page', false);
    expect(r.violation?.id, r.violation?.message).toBe("DEADLOCK");
    const m = r.violation!.message;
    const T0 = 'T0 (mapper+faulter, op 0 page-mmap())', T1 = 'T1 (truncator+reader+zapper+reclaimer, op 0 mmap-page())';
    expect(m).toContain(`${T0} waits on the mmap_lock of mm 0 (sleeping on mmapLock[0]), held for reading by ${T1}, `
      + `which waits on page ${P} [PG_locked|PG_uptodate|PG_waiters] (sleeping on wqFlags[1]), owned by ${T0}: a cycle`);
    expect(m).not.toMatch(/sleeps on mmapLock/);
  });

  it('the same with lockdep: LOCK-ORDER before the deadlock, both chains named', () => {
    const { r, shm } = runPair('page-mmap', 'mmap-page', true);
    expect(r.violation?.id).toBe('LOCK-ORDER');
    const m = lockOrderMessage(shm, r.violation!.values);
    // T0 checks its mmap_write_lock() right after its lock_page() (page lock -> mmap_lock first);
    // T1's lock_page() under its mmap_read_lock() closes the cycle
    expect(m).toMatch(/^lock order inversion \(possible deadlock, mmap_lock -> page lock -> mmap_lock\): task 1 op 0, holding the mmap_lock of mm 0 \(taken in op 0 [^)]*\), blocked on the page lock of page \d+ \(file 0 index 0\)/);
    expect(m).toMatch(/; earlier, task 0 op 0, holding the page lock of page \d+ \(file 0 index 0\) \(taken in op 0 [^)]*\), took the mmap_lock of mm 0/);
  });

  it("i_mmap_rwsem under the page lock is the kernel's order; the page lock under i_mmap_rwsem is the inversion", () => {
    const ok = runPair('page-immap', 'page-immap', true);
    expect(ok.r.violation).toBeNull();
    const { r, shm } = runPair('page-immap', 'immap-page', true);
    expect(r.violation?.id).toBe('LOCK-ORDER');
    expect(lockOrderMessage(shm, r.violation!.values)).toMatch(/possible deadlock, i_mmap_rwsem -> page lock -> i_mmap_rwsem\).*holding the i_mmap_rwsem of file 0 .*blocked on the page lock/);
    expect(readViolations(shm).map((v) => v.id)).toEqual(['LOCK-ORDER']);
  });
});

describe('rw semaphores in the free-mode wait-for graph (hand-set task words)', () => {
  function world() {
    const driver = new ControlledDriver({ scenario, cfg: { ...cfg, workers: 3 }, lock: makeLock('v5.9-rc6') });
    return driver.shm;
  }
  const waitOnPage = (shm: Shm, task: number, page: number) => {
    shm.taskState[task] = TASK_WAITING;
    shm.taskWaitPage[task] = page;
    shm.taskWaitBit[task] = BIT_LOCKED;
  };
  const waitOnRwsem = (shm: Shm, task: number, bit: number, index: number) => {
    shm.taskState[task] = TASK_WAITING;
    shm.taskWaitPage[task] = index;
    shm.taskWaitBit[task] = bit;
  };

  it('a writer waiting for the readers of an mmap_lock, one of which waits on a page lock the writer holds: a cycle', () => {
    const shm = world();
    shm.owner[5] = 0 + 1; // task 0 holds page 5
    shm.mmapHeld[1] = 1; // task 1 reads mm 0's mmap_lock, and runs
    shm.mmapHeld[2] = 1; // task 2 reads it too, and waits on page 5
    waitOnRwsem(shm, 0, WAIT_MMAP_LOCK, 0);
    waitOnPage(shm, 2, 5);
    const d = findDeadlocks(shm, 3);
    expect(d.map((x) => x.tasks)).toEqual([[0, 2]]);
    expect(d[0].chain).toMatch(/^task 0 waits on the mmap_lock of mm 0 held for reading by task 2; task 2 waits on the lock of page 5 \([^)]*\) held by task 0$/);
  });

  it('an i_mmap_rwsem held for writing; a task waiting on one it holds waits on itself; nobody holding: no edge', () => {
    const shm = world();
    shm.iMmapHeld[1] = -(1 + 1); // task 1 writes file 1's i_mmap_rwsem, and waits on page 3, which task 0 holds
    shm.owner[3] = 0 + 1;
    waitOnRwsem(shm, 0, WAIT_I_MMAP, 1);
    waitOnPage(shm, 1, 3);
    const d = findDeadlocks(shm, 3);
    expect(d.map((x) => x.tasks)).toEqual([[0, 1]]);
    expect(d[0].chain).toMatch(/task 0 waits on the i_mmap_rwsem of file 1 held for writing by task 1; task 1 waits on the lock of page 3/);

    const self = world();
    self.mmapHeld[2] = 1;
    waitOnRwsem(self, 2, WAIT_MMAP_LOCK, 0);
    expect(findDeadlocks(self, 3).map((x) => [x.tasks, x.self])).toEqual([[[2], true]]);
    // the report's lead-in names what it waits on, not a page lock
    expect(selfWaitText(findDeadlocks(self, 3)[0].edges[0])).toBe('a task waits on the mmap_lock of mm 0, which it holds itself');
    expect(selfWaitText({ task: 0, page: 3, bit: BIT_LOCKED, owner: 0 })).toBe('a task waits on a page lock it holds');

    const none = world();
    waitOnRwsem(none, 0, WAIT_MMAP_LOCK, 0);
    expect(findDeadlocks(none, 3)).toEqual([]);
  });
});
