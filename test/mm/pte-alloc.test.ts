// PTE tables allocated on demand (--pte-alloc, 6.6 do_fault_around() / __do_fault() / finish_fault()
// / pmd_install()), allocation falling into direct reclaim, GUP's FOLL_NOWAIT fault
// (FAULT_FLAG_RETRY_NOWAIT), and the rmap walk's guards, hand-stepped in one thread: each with the
// mainline interleaving that must stay quiet and the corruption or self-test that must trip.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { NIL, PG_dirty, PG_free } from '../../src/shm/shm.ts';
import { CTL } from '../../src/shm/layout.ts';
import { allocPageInit } from '../../src/mm/page_alloc.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { ptePfn, pteRead, ptlSlot } from '../../src/shm/mm.ts';
import { PMD_NONE, pmdNone } from '../../src/mm/pgtable.ts';
import { ZAP_ALL, handleMmFault } from '../../src/mm/memory.ts';
import { writepageStart } from '../../src/mm/writeback.ts';
import { Task, type OpsOverride } from '../../src/kernel/task.ts';
import { composeOps, kernelOps } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { readViolations } from '../../src/check/violations.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { attachLockdep } from '../../src/check/lockdep.ts';
import type { Shm } from '../../src/shm/shm.ts';

// the map-truncate world: files 0 and 1 of 16 pages, all cached; VMA 0 maps file 0 shared, VMA 2
// maps it private; 8 PTEs per table, so indices 0-7 of a VMA share one table
const SHARED0 = 0;
const PRIVATE0 = 2;
const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);
const messages = (shm: Shm) => quiescentCheck(shm).map((f) => `${f.id}: ${f.message}`);

function ptWorld(extra: Record<string, number | string | boolean> = {}) {
  return mmWorld(mmConfig({ 'pte-alloc': true, ...extra }));
}

/** A task of `shm` running mainline with `variants`, then `over` on top, with `options`. */
function taskWith(shm: Shm, id: number, variants: string[] = [], over?: OpsOverride, options: Record<string, unknown> = {}): Task {
  let ops = kernelOps({ lock: makeLock('v5.9-rc6'), variants });
  if (over) ops = composeOps(ops, over);
  return new Task({ id, shm, ops, options });
}

/** Take every free page (the allocator's next request must reclaim). */
function drainFreeList(shm: Shm): number[] {
  const taken: number[] = [];
  for (let pfn = allocPageInit(shm); pfn !== NIL; pfn = allocPageInit(shm)) taken.push(pfn);
  return taken;
}

describe('PTE tables allocated on demand (--pte-alloc)', () => {
  it('the mm starts with none; a read fault allocates one from the page allocator, installs it and maps', () => {
    const { shm, task } = ptWorld();
    expect(pmdNone(shm, SHARED0, 3)).toBe(true);
    const free = shm.ctl[CTL.FREE_COUNT];
    run(handleMmFault(task(0), SHARED0, 3, false));
    const table = shm.pmd[ptlSlot(shm, SHARED0, 3)] - 1;
    expect(table).toBeGreaterThanOrEqual(0);
    expect(shm.refcount[table]).toBe(1);
    expect(shm.flags[table] & PG_free).toBe(0);
    expect(ptePfn(pteRead(shm, SHARED0, 3))).toBe(xaLoad(shm, 0, 3));
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free - 1);
    expect(pmdNone(shm, SHARED0, 8)).toBe(true); // the next table is still missing
    expect(ids(shm)).toEqual([]);
    expect(messages(shm)).toEqual([]);
  });

  it('without fault-around, __do_fault() preallocates before the page lock and finish_fault() installs it', () => {
    const { shm } = ptWorld({ 'fault-around': 1 });
    const t = taskWith(shm, 0, [], undefined, { 'fault-around': 1 });
    const s = new Stepper(handleMmFault(t, SHARED0, 3, false));
    s.runUntil('prep_new_page'); // pte_alloc_one()
    expect(t.heldPages()).toEqual([]); // no page lock yet
    s.runUntil('trylock_page').runUntil('pmd_populate');
    expect(t.heldPages()).toEqual([xaLoad(shm, 0, 3)]); // installed under the page lock, allocated before it
    s.runToEnd();
    expect(pmdNone(shm, SHARED0, 3)).toBe(false);
    expect(messages(shm)).toEqual([]);
  });

  it('two faults racing for one missing table: the second to take the page-table lock frees its own', () => {
    const { shm } = ptWorld();
    const free = shm.ctl[CTL.FREE_COUNT];
    const a = new Stepper(handleMmFault(taskWith(shm, 0), SHARED0, 3, false)).runUntil('pmd_lock');
    run(handleMmFault(taskWith(shm, 1), SHARED0, 5, false)); // allocates, installs, maps 0-7
    const table = shm.pmd[ptlSlot(shm, SHARED0, 3)];
    a.runToEnd(); // pmd_none() is false now: pte_free()
    expect(shm.pmd[ptlSlot(shm, SHARED0, 3)]).toBe(table);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free - 1);
    expect(ids(shm)).toEqual([]);
    expect(messages(shm)).toEqual([]);
  });

  it('the self-test pmd-install-norecheck: the second table replaces the first and its PTEs (MAP-COUNT, REF-COUNT)', () => {
    const { shm } = ptWorld();
    const a = new Stepper(handleMmFault(taskWith(shm, 0, ['pmd-install-norecheck']), SHARED0, 3, false)).runUntil('pmd_populate');
    run(handleMmFault(taskWith(shm, 1, ['pmd-install-norecheck']), SHARED0, 5, false));
    expect(pteRead(shm, SHARED0, 5)).not.toBe(0);
    a.runToEnd(); // populates over the live table: fault-around then maps the range again
    const found = new Set(quiescentCheck(shm).map((f) => f.id));
    expect(found.has('MAP-COUNT')).toBe(true);
    expect(found.has('REF-COUNT')).toBe(true);
  });

  it('PTE-TABLE: corruption: do_set_pte() into a table that is not installed', () => {
    const { shm } = ptWorld();
    const t = taskWith(shm, 0);
    const pfn = xaLoad(shm, 0, 3);
    shm.refcount[pfn]++; // the reference the PTE takes over
    run(t.ops.fault.doSetPte(t, { vma: SHARED0, file: 0, index: 3 }, pfn, false, false));
    expect(ids(shm)).toEqual(['PTE-TABLE']);
    expect(quiescentCheck(shm).map((f) => f.id)).toContain('PTE-TABLE');
    expect(shm.pmd[ptlSlot(shm, SHARED0, 3)]).toBe(PMD_NONE);
  });

  it('an allocation that finds the free list empty enters direct reclaim and frees a clean page-cache page', () => {
    const { shm } = ptWorld();
    drainFreeList(shm);
    const t = taskWith(shm, 0);
    const before = shm.nrpages[0] + shm.nrpages[1];
    run(handleMmFault(t, SHARED0, 3, false));
    expect(t.statValue('reclaimed')).toBe(1); // try_to_free_pages() -> shrink_folio_list()
    expect(shm.nrpages[0] + shm.nrpages[1]).toBe(before - 1);
    expect(pmdNone(shm, SHARED0, 3)).toBe(false);
    expect(ids(shm)).toEqual([]);
  });
});

describe('allocating under a page lock: 63f3655f9501 (lockdep rule 3b)', () => {
  /** No free page, every cached page of file 0 dirty (reclaim keeps those) except index 2, whose
   * writeback is in flight: the next allocation's direct reclaim meets it (Case 3) and waits. */
  function pressure(shm: Shm): void {
    drainFreeList(shm);
    for (let f = 0; f < 2; f++) for (let i = 0; i < 16; i++) { const p = xaLoad(shm, f, i); if (p !== NIL) shm.flags[p] |= PG_dirty; }
    const wb = taskWith(shm, 3);
    const io = run(writepageStart(wb, 0, 2)); // locked, cleaned, PG_writeback, unlocked: I/O in flight
    expect(typeof io).toBe('object');
  }
  const WB_OPTS = { 'reclaim-wait-writeback': true };

  it('mainline: the table is preallocated before __do_fault() locks the page: reclaim waits holding nothing', () => {
    const { shm } = ptWorld();
    pressure(shm);
    const t = taskWith(shm, 0, [], undefined, WB_OPTS);
    attachLockdep(t);
    // a write to the shared VMA: do_shared_fault() -> __do_fault(): the allocation comes first
    expect(() => run(handleMmFault(t, SHARED0, 5, true))).toThrow(/would block/);
    expect(t.heldPages()).toEqual([]);
    expect(ids(shm)).toEqual([]);
  });

  it('the self-test pte-alloc-under-lock: finish_fault() allocates holding page 5 and reclaim waits for the writeback of page 2: LOCK-ORDER', () => {
    const { shm } = ptWorld();
    pressure(shm);
    const t = taskWith(shm, 0, ['pte-alloc-under-lock'], undefined, WB_OPTS);
    attachLockdep(t);
    expect(() => run(handleMmFault(t, SHARED0, 5, true))).toThrow(/would block/);
    expect(t.heldPages()).toEqual([xaLoad(shm, 0, 5)]);
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
  });

  it('waiting for the writeback of a page after the one held is in order (no LOCK-ORDER)', () => {
    const { shm } = ptWorld();
    drainFreeList(shm);
    for (let f = 0; f < 2; f++) for (let i = 0; i < 16; i++) shm.flags[xaLoad(shm, f, i)] |= PG_dirty;
    run(writepageStart(taskWith(shm, 3), 0, 6));
    const t = taskWith(shm, 0, ['pte-alloc-under-lock'], undefined, WB_OPTS);
    attachLockdep(t);
    expect(() => run(handleMmFault(t, SHARED0, 5, true))).toThrow(/would block/);
    expect(ids(shm)).toEqual([]);
  });
});

describe('FAULT_FLAG_RETRY_NOWAIT: get_user_pages(FOLL_NOWAIT)', () => {
  it('a missing PTE over a locked page: VM_FAULT_RETRY at once, -EBUSY, nothing held, no wait', () => {
    const { shm } = mmWorld();
    const owner = taskWith(shm, 1);
    const pfn = xaLoad(shm, 0, 3);
    run(owner.ops.lock.lockPage(owner, pfn));
    const t = taskWith(shm, 0);
    expect(run(t.ops.writeback.getUserPage(t, SHARED0, 3, false, true))).toBe(NIL);
    expect(t.heldPages()).toEqual([]);
    expect(shm.refcount[pfn]).toBe(1 + countPtes(shm, pfn)); // out_retry put the lookup's reference
    // without FOLL_NOWAIT the same fault sleeps on the page lock
    expect(() => run(t.ops.writeback.getUserPage(t, SHARED0, 3, false))).toThrow(/would block/);
    run(owner.ops.lock.unlockPage(owner, pfn));
    expect(ids(shm)).toEqual([]);
  });

  it('an unlocked page: the pin is taken', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    const pfn = run(t.ops.writeback.getUserPage(t, SHARED0, 3, false, true));
    expect(pfn).toBe(xaLoad(shm, 0, 3));
    run(t.ops.lock.trylockPage(t, pfn)) && run(t.ops.lock.unlockPage(t, pfn));
    expect(ids(shm)).toEqual([]);
  });
});

function countPtes(shm: Shm, pfn: number): number {
  let n = 0;
  for (let i = 0; i < shm.ptes.length; i++) if (shm.ptes[i] !== 0 && ptePfn(shm.ptes[i]) === pfn) n++;
  return n;
}

describe("try_to_unmap()'s walk", () => {
  /** File 0 index 3 mapped by the shared VMA 0 and the private VMA 2 (read faults). */
  function mappedTwice(shm: Shm): number {
    run(handleMmFault(taskWith(shm, 0), SHARED0, 3, false));
    run(handleMmFault(taskWith(shm, 1), PRIVATE0, 3, false));
    const pfn = xaLoad(shm, 0, 3);
    expect(shm.mapcount[pfn]).toBe(1);
    return pfn;
  }

  it('an early exit alone is harmless: a walk that stops after the first VMA leaves the page mapped and reclaim keeps it', () => {
    const { shm } = mmWorld();
    const pfn = mappedTwice(shm);
    const rc = taskWith(shm, 2, [], {
      rmap: {
        *tryToUnmap(t, p) {
          yield* t.ops.rmap.zapPteRange(t, SHARED0, 3, 4, { evenCows: false, single: p }); // the first VMA only
          return true; // "not mapped", wrongly
        },
      },
    });
    expect(run(rc.ops.reclaim.shrinkPage(rc, 0, 3))).toBe(false); // folio_mapped() re-tested: activate_locked
    expect(xaLoad(shm, 0, 3)).toBe(pfn);
    expect(shm.mapcount[pfn]).toBe(0);
    expect(ids(shm)).toEqual([]);
    expect(messages(shm)).toEqual([]);
  });

  it('mainline: a zap between the walk reaching a VMA and its PTL: the walk re-checks the PTE under the PTL', () => {
    const { shm } = mmWorld();
    mappedTwice(shm);
    const rc = taskWith(shm, 2);
    const r = new Stepper(rc.ops.reclaim.shrinkPage(rc, 0, 3)).runUntil('i_mmap_lock_read').runUntil('pte_offset_map_lock');
    const z = taskWith(shm, 3);
    run(z.ops.rmap.zapPteRange(z, SHARED0, 3, 4, ZAP_ALL));
    expect(r.runToEnd()).toBe(true); // the other mapping unmapped too: freed
    expect(ids(shm)).toEqual([]);
    expect(messages(shm)).toEqual([]);
  });

  it('the self-test rmap-unmap-stale-pte unmaps the PTE the zap cleared: the early exit then frees a page VMA 2 still maps', () => {
    const { shm } = mmWorld();
    const pfn = mappedTwice(shm);
    const rc = taskWith(shm, 2, ['rmap-unmap-stale-pte']);
    const r = new Stepper(rc.ops.reclaim.shrinkPage(rc, 0, 3)).runUntil('page_vma_mapped_walk').runUntil('pte_offset_map_lock');
    const z = taskWith(shm, 3);
    run(z.ops.rmap.zapPteRange(z, SHARED0, 3, 4, ZAP_ALL));
    // the walk drops the mapcount and reference a second time; folio_not_mapped() is then true
    // with VMA 2 unvisited, and the freeze succeeds on the references that are left
    expect(r.runToEnd()).toBe(true);
    expect(ptePfn(pteRead(shm, PRIVATE0, 3))).toBe(pfn);
    expect(shm.flags[pfn] & PG_free).toBe(PG_free);
    expect(quiescentCheck(shm).map((f) => f.id)).toContain('FREE-BAD'); // a PTE maps a free page
  });
});
