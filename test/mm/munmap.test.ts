// The unmapper (src/mm/mmap.ts): mmap(MAP_FIXED) of a VMA over itself frees its PTE tables under
// the mmap_lock and the i_mmap lock (rw semaphores, src/locks/spinlock.ts), hand-stepped in one
// thread: what each lock excludes, the fault that drops the mmap_lock before a page-lock wait, the
// self-test that frees tables under the read side, and the runs without an unmapper left as they were.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { CTL } from '../../src/shm/layout.ts';
import { PG_free, type Shm } from '../../src/shm/shm.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { pteRead, ptlSlot } from '../../src/shm/mm.ts';
import { pmdNone } from '../../src/mm/pgtable.ts';
import { doUserAddrFault } from '../../src/mm/memory.ts';
import { downRead, downWrite, upRead, upWrite } from '../../src/locks/spinlock.ts';
import { readViolations } from '../../src/check/violations.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';

// the map-truncate world: VMA 0 (mm 0) maps file 0 shared, 16 pages in two tables of 8
const SHARED0 = 0;
const ROLES = 'mapper,faulter,truncator,unmapper';
const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);
const quiet = (shm: Shm) => quiescentCheck(shm).map((f) => `${f.id}: ${f.message}`);

function unmapperWorld(extra: Record<string, number | string | boolean> = {}) {
  return mmWorld(mmConfig({ 'pte-alloc': true, roles: ROLES, ...extra }));
}

describe('the rw semaphore (mmap_lock, i_mmap_rwsem)', () => {
  it('readers share it; a writer waits for them, and once it waits new readers wait too', () => {
    const { shm, task } = unmapperWorld();
    const word = new Int32Array(1);
    run(downRead(task(0), word, 0, 'down_read'));
    run(downRead(task(1), word, 0, 'down_read'));
    expect(() => run(downWrite(task(2), word, 0, 'down_write'))).toThrow(/would block/);
    expect(() => run(downRead(task(3), word, 0, 'down_read'))).toThrow(/would block/); // behind the waiting writer
    run(upRead(word, 0));
    run(upRead(word, 0));
    run(downWrite(task(2), word, 0, 'down_write')); // the readers are gone
    expect(() => run(downRead(task(0), word, 0, 'down_read'))).toThrow(/would block/);
    run(upWrite(word, 0));
    expect(word[0]).toBe(0);
    expect(shm.mmapLock[0]).toBe(0);
  });

  it('the quiescent check sees an mmap_lock left held (LOCK-LEAK)', () => {
    const { shm, task } = unmapperWorld();
    run(downRead(task(0), shm.mmapLock, 1, 'mmap_read_lock'));
    expect(quiescentCheck(shm).map((f) => f.id)).toContain('LOCK-LEAK');
  });
});

describe('munmap and mmap again (the unmapper role)', () => {
  it('zaps the VMA, frees its tables to the allocator under the i_mmap lock, maps it again; the next fault allocates again', () => {
    const { shm, task } = unmapperWorld();
    expect(shm.ctl[CTL.MMAP_LOCKING]).toBe(1);
    const t = task(0);
    run(doUserAddrFault(t, SHARED0, 3, false));
    const table = shm.pmd[ptlSlot(shm, SHARED0, 3)] - 1;
    expect(table).toBeGreaterThanOrEqual(0);
    expect(pteRead(shm, SHARED0, 3)).not.toBe(0);
    const free = shm.ctl[CTL.FREE_COUNT];
    run(t.ops.rmap.mmapRegion(task(3), SHARED0));
    for (let i = 0; i < 16; i++) expect(pteRead(shm, SHARED0, i)).toBe(0);
    expect(pmdNone(shm, SHARED0, 3)).toBe(true);
    expect(shm.flags[table] & PG_free).not.toBe(0);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free + 1);
    expect(xaLoad(shm, 0, 3)).not.toBe(-1); // the page cache keeps the folios
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
    run(doUserAddrFault(t, SHARED0, 5, false));
    expect(pmdNone(shm, SHARED0, 5)).toBe(false);
    expect(quiet(shm)).toEqual([]);
  });

  it('a fault holds the mmap_lock for reading: the unmapper waits for it', () => {
    const { shm, task } = unmapperWorld();
    const f = new Stepper(doUserAddrFault(task(0), SHARED0, 3, false)).runUntil('handle_pte_fault');
    expect(shm.mmapHeld[0]).toBe(1); // mm 0, read
    expect(() => run(task(3).ops.rmap.mmapRegion(task(3), SHARED0))).toThrow(/would block/);
    expect(pmdNone(shm, SHARED0, 3)).toBe(true); // nothing freed, nothing zapped
    f.runToEnd();
    expect(shm.mmapHeld[0]).toBe(0);
  });

  it("an rmap walk holds the file's i_mmap lock: free_pgtables() waits for it", () => {
    const { shm, task } = unmapperWorld();
    run(doUserAddrFault(task(0), SHARED0, 3, false));
    const pfn = xaLoad(shm, 0, 3);
    const walk = new Stepper(task(1).ops.rmap.tryToUnmap(task(1), pfn)).runUntil('pte_offset_map_lock'); // i_mmap held, PTL not yet
    const u = task(3);
    expect(() => run(u.ops.rmap.mmapRegion(u, SHARED0))).toThrow(/would block/);
    expect(pmdNone(shm, SHARED0, 3)).toBe(false); // zapped, but the table is still there
    walk.runToEnd();
    expect(shm.iMmap[0] & 0xffff).toBe(0);
  });

  it('a fault that may retry drops the mmap_lock before it sleeps on a page lock (fpin)', () => {
    const { shm, task } = unmapperWorld({ 'fault-retry': true });
    const pfn = xaLoad(shm, 0, 3);
    const holder = task(2);
    run(holder.ops.lock.lockPage(holder, pfn));
    const f = new Stepper(doUserAddrFault(task(0), SHARED0, 3, false)).runUntil('maybe_unlock_mmap_for_io');
    expect(shm.mmapHeld[0]).toBe(1);
    f.step();
    expect(shm.mmapHeld[0]).toBe(0);
    expect(shm.mmapLock[0]).toBe(0);
    const u = task(3);
    run(u.ops.rmap.mmapRegion(u, SHARED0)); // no wait: the faulter holds a page reference, not the lock
    expect(ids(shm)).toEqual([]);
  });

  it('the self-test munmap-read-locked: a fault sets a PTE in the table being freed (PTE-TABLE)', () => {
    const { shm, task } = unmapperWorld();
    run(doUserAddrFault(task(0), SHARED0, 3, false)); // the table exists
    const u = new Task({ id: 3, shm, ops: kernelOps({ lock: makeLock('v5.9-rc6'), variants: ['munmap-read-locked'] }) });
    const mutant = new Stepper(u.ops.rmap.mmapRegion(u, SHARED0)).runUntil('free_pte_range'); // zapped, the table not yet freed
    run(doUserAddrFault(task(0), SHARED0, 5, false)); // not excluded: maps into the table
    mutant.runToEnd();
    expect(ids(shm)).toContain('PTE-TABLE');
    expect(quiescentCheck(shm).map((f) => f.id)).toContain('PTE-TABLE');
  });
});

describe('without an unmapper', () => {
  it('nothing takes the mmap_lock and the fault takes the same steps', () => {
    const { shm, task } = mmWorld(mmConfig({ 'pte-alloc': true }));
    expect(shm.ctl[CTL.MMAP_LOCKING]).toBe(0);
    const s = new Stepper(doUserAddrFault(task(0), SHARED0, 3, false));
    s.runToEnd();
    expect(s.labels).not.toContain('mmap_read_lock');
    expect(s.labels[0]).toBe('handle_pte_fault');
    const w = unmapperWorld();
    const l = new Stepper(doUserAddrFault(w.task(0), SHARED0, 3, false));
    l.runToEnd();
    expect(l.labels.filter((x) => x !== 'mmap_read_lock')).toEqual(s.labels);
  });

  it('large folios (the allocator keeps a free list per order in the control words) do not turn it on', () => {
    const { shm } = mmWorld(mmConfig({ pmd: 'on' }));
    expect(shm.ctl[CTL.MAX_ORDER]).toBeGreaterThan(0);
    expect(shm.ctl[CTL.MMAP_LOCKING]).toBe(0);
  });

  it('--roles unmapper needs tables allocated on demand', () => {
    expect(mapTruncateScenario.validate!(mmConfig({ roles: ROLES }))).toMatch(/unmapper needs --pte-alloc/);
    expect(mapTruncateScenario.validate!(mmConfig({ roles: ROLES, 'pte-alloc': true }))).toBeNull();
  });
});
