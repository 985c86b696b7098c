// The writeback paths that run without the page lock (v6.6), hand-stepped in one thread: fsync's
// writeback wait (WB-WAIT), a pinned writer's late set_page_dirty() against reclaim's refcount
// freeze (RECLAIM-DIRTY), the PTE dirty bit handed to the page at zap and unmap, try_to_unmap()'s
// early exit. Each invariant with the corruption that must trip it and the mainline interleaving
// that must not.
import { describe, expect, it } from 'vitest';
import { mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { NIL, PG_dirty, PG_writeback, PTE_DIRTY, PTE_WRITE } from '../../src/shm/shm.ts';
import { CTL } from '../../src/shm/layout.ts';
import { allocPage } from '../../src/mm/page_alloc.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { pteRead } from '../../src/shm/mm.ts';
import { ZAP_ALL } from '../../src/mm/memory.ts';
import { Task, type OpsOverride } from '../../src/kernel/task.ts';
import { composeOps, kernelOps } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { accessOp, fsyncOp, pinOp, userStore } from '../../src/scenarios/writeback.ts';
import { readViolations } from '../../src/check/violations.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { removeMapping } from '../../src/mm/vmscan.ts';
import type { Shm } from '../../src/shm/shm.ts';

// the default world: files 0 and 1 of 16 pages, cached; VMA 0 maps file 0 shared
const SHARED0 = 0;
const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);

/** A task of `shm` running mainline with `variants`, then `over` on top. */
function taskWith(shm: Shm, id: number, variants: string[] = [], over?: OpsOverride): Task {
  let ops = kernelOps({ lock: makeLock('v5.9-rc6'), variants });
  if (over) ops = composeOps(ops, over);
  return new Task({ id, shm, ops, options: {} });
}

/** A store through VMA 0 at `index`: the write fault (page_mkwrite dirties the page), then the
 * store that sets the PTE's dirty bit. */
function write(t: Task, index: number): void {
  run(accessOp(t, SHARED0, index, true));
  run(userStore(t, SHARED0, index));
}

/** Page 3 of file 0 written, then its writeback started: clean, I/O in flight. */
function ioInFlight(shm: Shm): Stepper<unknown> {
  write(taskWith(shm, 0), 3);
  const wb = taskWith(shm, 1);
  const io = new Stepper<unknown>(wb.ops.writeback.writebackPage(wb, 0, 3)).runUntil('submit_bio');
  expect(shm.flags[xaLoad(shm, 0, 3)] & (PG_writeback | PG_dirty)).toBe(PG_writeback);
  return io;
}

describe('fsync waits for writeback without the page lock (WB-WAIT)', () => {
  it('mainline: fsync meeting an I/O in flight returns only once it completed', () => {
    const { shm } = mmWorld();
    const io = ioInFlight(shm);
    // the write pass skips the clean page; the wait pass finds PG_writeback and would sleep
    const f = new Stepper(fsyncOp(taskWith(shm, 2), 0, 3, 4)).runUntil('PAGECACHE_TAG_WRITEBACK').runUntil('PageWriteback');
    expect(() => f.runToEnd()).toThrow(/would block/);
    io.runToEnd();
  });

  it('mainline: the wait returns after the I/O completed, and the check is quiet', () => {
    const { shm } = mmWorld();
    const io = ioInFlight(shm);
    const f = new Stepper(fsyncOp(taskWith(shm, 2), 0, 3, 4)).runUntil('PAGECACHE_TAG_WRITEBACK');
    io.runToEnd(); // bio_endio, end_page_writeback
    f.runToEnd();
    expect(ids(shm)).toEqual([]);
    expect(quiescentCheck(shm).map((x) => x.message)).toEqual([]);
  });

  it('WB-WAIT: corruption: folio_wait_writeback() returning at once', () => {
    const { shm } = mmWorld();
    const io = ioInFlight(shm);
    run(fsyncOp(taskWith(shm, 2, [], { lock: { *waitOnPageWriteback() {} } }), 0, 3, 4));
    expect(ids(shm)).toEqual(['WB-WAIT']);
    io.runToEnd();
  });

  it('the self-test fdatawait-dirty-tag returns with the clean page\'s I/O in flight: WB-WAIT', () => {
    const { shm } = mmWorld();
    ioInFlight(shm);
    run(fsyncOp(taskWith(shm, 2, ['fdatawait-dirty-tag']), 0, 3, 4));
    expect(ids(shm)).toEqual(['WB-WAIT']);
  });
});

describe("a pinned writer's late set_page_dirty() against reclaim (RECLAIM-DIRTY)", () => {
  /** Page 3 pinned for write through VMA 0 (faulted in, dirtied), then written back: clean, mapped
   * read-only, pinned. Returns the pinner, stopped in its DMA. */
  function pinnedAndCleaned(shm: Shm): Stepper<void> {
    const pinner = new Stepper(pinOp(taskWith(shm, 0), SHARED0, 3)).runUntil('dma');
    const pfn = xaLoad(shm, 0, 3);
    expect(shm.flags[pfn] & PG_dirty).toBe(PG_dirty); // FOLL_TOUCH (or the write fault) dirtied it
    const wb = taskWith(shm, 1);
    expect(run(wb.ops.writeback.writebackPage(wb, 0, 3))).toBe('written');
    expect(shm.flags[pfn] & PG_dirty).toBe(0);
    return pinner;
  }

  it('mainline: the dirty test after the freeze keeps the page', () => {
    const { shm } = mmWorld();
    const pinner = pinnedAndCleaned(shm);
    const pfn = xaLoad(shm, 0, 3);
    const rc = taskWith(shm, 2);
    const r = new Stepper(rc.ops.reclaim.shrinkPage(rc, 0, 3)).runUntil('folio_test_dirty').runUntil('page_ref_freeze');
    pinner.runToEnd(); // set_page_dirty(), put_page(): the freeze can now succeed
    expect(r.runToEnd()).toBe(false);
    expect(xaLoad(shm, 0, 3)).toBe(pfn);
    expect(shm.flags[pfn] & PG_dirty).toBe(PG_dirty);
    expect(ids(shm)).toEqual([]);
    expect(quiescentCheck(shm).map((x) => x.message)).toEqual([]);
  });

  it('RECLAIM-DIRTY: the self-test reclaim-nodirty-recheck frees the page the pin dirtied', () => {
    const { shm } = mmWorld();
    const pinner = pinnedAndCleaned(shm);
    const rc = taskWith(shm, 2, ['reclaim-nodirty-recheck']);
    const r = new Stepper(rc.ops.reclaim.shrinkPage(rc, 0, 3)).runUntil('folio_test_dirty').runUntil('page_ref_freeze');
    pinner.runToEnd();
    expect(r.runToEnd()).toBe(true);
    expect(ids(shm)).toEqual(['RECLAIM-DIRTY']);
  });

  it('RECLAIM-DIRTY: corruption: a page dirtied once out of the page cache, before the free', () => {
    const { shm } = mmWorld();
    const pfn = xaLoad(shm, 0, 5);
    const rc = taskWith(shm, 2, [], {
      reclaim: {
        *removeMapping(t, p, file) {
          const ok: boolean = yield* removeMapping(t, p, file);
          Atomics.or(t.shm.flags, p, PG_dirty);
          return ok;
        },
      },
    });
    expect(run(rc.ops.reclaim.shrinkPage(rc, 0, 5))).toBe(true);
    expect(readViolations(shm).map((v) => [v.id, v.page])).toEqual([['RECLAIM-DIRTY', pfn]]);
  });
});

describe('the PTE dirty bit and the rmap walk', () => {
  it('zap_pte_range() hands a dirty PTE\'s bit to the page (set_page_dirty without the page lock)', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    write(t, 4);
    const pfn = xaLoad(shm, 0, 4);
    expect(pteRead(shm, SHARED0, 4) & (PTE_WRITE | PTE_DIRTY)).toBe(PTE_WRITE | PTE_DIRTY);
    Atomics.and(shm.flags, pfn, ~PG_dirty); // only the PTE says the page holds new data now
    run(t.ops.rmap.zapPteRange(t, SHARED0, 4, 5, ZAP_ALL));
    expect(shm.flags[pfn] & PG_dirty).toBe(PG_dirty);
    expect(ids(shm)).toEqual([]);
  });

  it('page_mkclean() clears the dirty bit with the write bit; a store through the read-only PTE sets nothing', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    write(t, 4);
    expect(run(t.ops.writeback.writebackPage(t, 0, 4))).toBe('written');
    expect(pteRead(shm, SHARED0, 4) & (PTE_WRITE | PTE_DIRTY)).toBe(0);
    run(userStore(t, SHARED0, 4));
    expect(pteRead(shm, SHARED0, 4) & PTE_DIRTY).toBe(0);
  });

  it('try_to_unmap() stops the walk once the page is not mapped (rwc->done = folio_not_mapped)', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    run(accessOp(t, SHARED0, 6, false)); // a read fault maps page 6 in VMA 0; VMA 2 maps the file too
    const pfn = xaLoad(shm, 0, 6);
    expect(shm.mapcount[pfn]).toBe(0);
    const s = new Stepper(t.ops.rmap.tryToUnmap(t, pfn));
    expect(s.runToEnd()).toBe(true);
    expect(s.labels.filter((l) => l === 'pte_offset_map_lock')).toHaveLength(1); // VMA 2 never visited
    expect(s.labels[0]).toBe('i_mmap_lock_read');
  });
});

describe('allocation that can wait: direct reclaim', () => {
  it('an allocation that finds the free list empty reclaims a clean page-cache page and gets a page', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    const held: number[] = [];
    for (let p = run(allocPage(t)); p !== NIL; p = shm.ctl[CTL.FREE_COUNT] > 0 ? run(allocPage(t)) : NIL) held.push(p);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(0);
    const cached = shm.nrpages[0] + shm.nrpages[1];
    const pfn = run(allocPage(t));
    expect(pfn).not.toBe(NIL);
    expect(shm.nrpages[0] + shm.nrpages[1]).toBe(cached - 1); // one page-cache page reclaimed for it
    expect(ids(shm)).toEqual([]);
  });

  it('direct reclaim never frees a dirty page and gives up when nothing is clean', () => {
    const { shm } = mmWorld();
    const t = taskWith(shm, 0);
    for (let f = 0; f < 2; f++) for (let i = 0; i < 16; i++) Atomics.or(shm.flags, xaLoad(shm, f, i), PG_dirty);
    while (shm.ctl[CTL.FREE_COUNT] > 0) run(allocPage(t));
    expect(run(allocPage(t))).toBe(NIL); // VM_FAULT_OOM: every cached page is dirty
    expect(shm.nrpages[0] + shm.nrpages[1]).toBe(32);
    expect(ids(shm)).toEqual([]);
  });
});
