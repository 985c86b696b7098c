// Each mm path on its own, in one thread: allocator, lookup, faults, fault-around, COW, zap,
// truncate, reclaim, reads. After every path the whole-state checks must find nothing.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { allocPage, putPage } from '../../src/mm/page_alloc.ts';
import { CTL } from '../../src/shm/layout.ts';
import { NIL, PG_free, PTE_ANON, PTE_WRITE } from '../../src/shm/shm.ts';
import { PAGE_SIZE, maxIndex, xaLoad } from '../../src/shm/files.ts';
import { MAPPING_ANON } from '../../src/shm/page.ts';
import { pteRead, ptePfn } from '../../src/shm/mm.ts';
import { filemapMapPages, findGetPage } from '../../src/mm/filemap.ts';
import { NO_FAULT, handleMmFault, readThroughPtes, zapPteRange } from '../../src/mm/memory.ts';
import { VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS } from '../../src/kernel/fault.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { shrinkPage } from '../../src/mm/vmscan.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import type { Shm } from '../../src/shm/shm.ts';

// default world: files 0 and 1 of 16 pages, all in the page cache; VMAs 0,1 shared (file 0, 1),
// VMAs 2,3 private (file 0, 1), each mapping the whole file; 8 PTEs per PTL; 32 of 64 pages free
const SHARED0 = 0, PRIVATE0 = 2;

function expectClean(shm: Shm): void {
  expect(readViolations(shm).map((v) => `${v.id} page ${v.page} [${v.values.join(',')}]`)).toEqual([]);
  expect(quiescentCheck(shm).map((f) => f.message)).toEqual([]);
  expect(liveCheck(shm).map((f) => f.message)).toEqual([]);
}

const mappedIndices = (shm: Shm, vma: number, from = 0, to = 16) =>
  Array.from({ length: to - from }, (_, i) => from + i).filter((i) => pteRead(shm, vma, i) !== 0);

describe('mm model: init and allocator', () => {
  it('starts consistent: files full size and cached, half the pages free', () => {
    const { shm } = mmWorld();
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(32);
    expect(Array.from(shm.nrpages)).toEqual([16, 16]);
    expect(Array.from(shm.iSize)).toEqual([16 * PAGE_SIZE, 16 * PAGE_SIZE]);
    expect(Array.from(shm.vmaFlags)).toEqual([1, 1, 0, 0]);
    expectClean(shm);
  });

  it('frees at refcount zero and hands the page out again with a new generation', () => {
    const { shm, task } = mmWorld();
    const t = task(0);
    const pfn = run(allocPage(t));
    expect(shm.refcount[pfn]).toBe(1);
    expect(shm.mapcount[pfn]).toBe(-1);
    expect(shm.flags[pfn]).toBe(0);
    const gen = shm.stampGen[pfn];
    run(putPage(t, pfn));
    expect(shm.flags[pfn]).toBe(PG_free);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(32);
    const again = run(allocPage(t));
    expect(again).toBe(pfn); // LIFO: the page really is reused
    expect(shm.stampGen[again]).toBeGreaterThan(gen);
    run(putPage(t, again));
    expectClean(shm);
  });

  it('FREE-BAD: freeing a mapped page is reported and the page is not reused', () => {
    const { shm, task } = mmWorld();
    const t = task(0);
    const pfn = run(allocPage(t));
    shm.mapcount[pfn] = 0;
    run(putPage(t, pfn));
    expect(readViolations(shm).map((v) => v.id)).toEqual(['FREE-BAD']);
    expect(shm.flags[pfn] & PG_free).toBe(0);
  });

  it('REF-COUNT: a put of a page nobody holds', () => {
    const { shm, task } = mmWorld();
    const t = task(0);
    const pfn = xaLoad(shm, 0, 0);
    shm.refcount[pfn] = 0;
    run(putPage(t, pfn));
    expect(readViolations(shm).map((v) => v.id)).toEqual(['REF-COUNT']);
  });
});

describe('mm model: lookup and faults', () => {
  it('find_get_page pins a cached page and finds nothing in an empty slot', () => {
    const { shm, task } = mmWorld(mmConfig({}, { pages: 16 })); // 8 pages cached: indices 0-3 of each file
    const t = task(0);
    const pfn = run(findGetPage(t, 0, 3));
    expect(pfn).toBe(xaLoad(shm, 0, 3));
    expect(shm.refcount[pfn]).toBe(2);
    run(putPage(t, pfn));
    expect(run(findGetPage(t, 0, 10))).toBe(NIL);
    expectClean(shm);
  });

  it('a read fault with fault-around maps the whole page table and says NOPAGE', () => {
    const { shm, task } = mmWorld();
    const ret = run(handleMmFault(task(0), SHARED0, 5, false));
    expect(ret).toBe(VM_FAULT_NOPAGE);
    expect(mappedIndices(shm, SHARED0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // one PTL = 8 PTEs
    const pfn = ptePfn(pteRead(shm, SHARED0, 5));
    expect(pfn).toBe(xaLoad(shm, 0, 5));
    expect([shm.mapcount[pfn], shm.refcount[pfn]]).toEqual([0, 2]); // cache + PTE
    expect(run(handleMmFault(task(0), SHARED0, 5, false))).toBe(NO_FAULT);
    expectClean(shm);
  });

  it('a read fault without fault-around creates the page: born locked, added, read, locked, mapped', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }, { pages: 16 }));
    const t = task(1);
    expect(xaLoad(shm, 0, 10)).toBe(NIL);
    const ret = run(handleMmFault(t, SHARED0, 10, false));
    expect(ret).toBe(VM_FAULT_LOCKED); // do_read_fault() passes __do_fault()'s VM_FAULT_LOCKED on
    const pfn = xaLoad(shm, 0, 10);
    expect(ptePfn(pteRead(shm, SHARED0, 10))).toBe(pfn);
    expect([shm.stampFile[pfn], shm.stampIndex[pfn]]).toEqual([0, 10]);
    expect([shm.mapcount[pfn], shm.refcount[pfn], shm.nrpages[0]]).toEqual([0, 2, 5]);
    expect(mappedIndices(shm, SHARED0)).toEqual([10]);
    expectClean(shm);
  });

  it('FAULT-SIGBUS semantics: beyond EOF is SIGBUS and maps nothing; the partial last page maps', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    run(truncateSetsize(t, 0, 3 * PAGE_SIZE + 100));
    expect(maxIndex(shm.iSize[0])).toBe(4);
    expect(run(handleMmFault(t, SHARED0, 6, false))).toBe(VM_FAULT_SIGBUS);
    expect(pteRead(shm, SHARED0, 6)).toBe(0);
    expect(run(handleMmFault(t, PRIVATE0, 3, false))).toBe(VM_FAULT_LOCKED);
    expect(pteRead(shm, PRIVATE0, 3)).not.toBe(0);
    expectClean(shm);
  });

  it('a COW fault maps an anonymous copy of the locked file page', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    const file = xaLoad(shm, 0, 4);
    expect(run(handleMmFault(t, PRIVATE0, 4, true))).toBe(VM_FAULT_LOCKED);
    const pte = pteRead(shm, PRIVATE0, 4);
    expect(pte & (PTE_ANON | PTE_WRITE)).toBe(PTE_ANON | PTE_WRITE);
    const cow = ptePfn(pte);
    expect(cow).not.toBe(file);
    expect([shm.mapping[cow], shm.stampFile[cow], shm.stampIndex[cow], shm.refcount[cow], shm.mapcount[cow]]).toEqual([MAPPING_ANON, 0, 4, 1, 0]);
    expect([shm.refcount[file], shm.mapcount[file]]).toEqual([1, -1]); // the file page is not mapped
    expect(run(readThroughPtes(t, PRIVATE0, 0, 16))).toBe(1);
    expectClean(shm);
    expect(run(zapPteRange(t, PRIVATE0, 0, 16))).toBe(1);
    expect(shm.flags[cow]).toBe(PG_free);
    expectClean(shm);
  });
});

describe('mm model: map_pages, zap, truncate, reclaim, reads', () => {
  it('filemap_map_pages skips a page someone holds locked', () => {
    const { shm, task } = mmWorld();
    const holder = task(1), mapper = task(0);
    const locked = xaLoad(shm, 0, 2);
    expect(run(holder.ops.lock.trylockPage(holder, locked))).toBe(true);
    run(filemapMapPages(mapper, { vma: PRIVATE0, file: 0, index: 0 }, 0, 8));
    expect(mappedIndices(shm, PRIVATE0)).toEqual([0, 1, 3, 4, 5, 6, 7]);
    run(holder.ops.lock.unlockPage(holder, locked));
    expectClean(shm);
  });

  it('zap clears PTEs and drops their mapcount and reference', () => {
    const { shm, task } = mmWorld();
    const t = task(0);
    run(handleMmFault(t, SHARED0, 0, false));
    expect(run(zapPteRange(t, SHARED0, 2, 5))).toBe(3);
    expect(mappedIndices(shm, SHARED0)).toEqual([0, 1, 5, 6, 7]);
    const pfn = xaLoad(shm, 0, 3);
    expect([shm.mapcount[pfn], shm.refcount[pfn]]).toEqual([-1, 1]);
    expectClean(shm);
  });

  it('truncate removes the pages beyond EOF and every PTE there, file and COW, then grows back', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 16 }));
    const t = task(0);
    run(handleMmFault(t, SHARED0, 0, false)); // maps 0-7
    run(handleMmFault(t, SHARED0, 12, false)); // maps 8-15
    run(handleMmFault(t, PRIVATE0, 6, true)); // COW copy at 6
    run(handleMmFault(t, PRIVATE0, 9, false)); // fault-around 8-15 in the private VMA
    const free0 = shm.ctl[CTL.FREE_COUNT];
    run(truncateSetsize(t, 0, 2 * PAGE_SIZE));
    expect(mappedIndices(shm, SHARED0)).toEqual([0, 1]);
    expect(mappedIndices(shm, PRIVATE0)).toEqual([]);
    expect(shm.nrpages[0]).toBe(2);
    expect(xaLoad(shm, 0, 2)).toBe(NIL);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free0 + 14 + 1); // 14 file pages and the COW copy
    expect([shm.ctl[CTL.TRUNCATING], shm.ctl[CTL.TRUNC_SEQ]]).toEqual([0, 1]);
    expectClean(shm);
    run(truncateSetsize(t, 0, 16 * PAGE_SIZE));
    expect(run(handleMmFault(t, SHARED0, 9, false))).toBe(VM_FAULT_LOCKED); // nothing cached there: ->fault
    expect(xaLoad(shm, 0, 9)).not.toBe(NIL);
    expectClean(shm);
  });

  it('reclaim frees clean pages, unmapping mapped ones, and gives up on an extra reference', () => {
    const { shm, task } = mmWorld();
    const t = task(0), other = task(1);
    const p1 = xaLoad(shm, 1, 1);
    expect(run(shrinkPage(t, 1, 1))).toBe(true);
    expect([xaLoad(shm, 1, 1), shm.flags[p1], shm.nrpages[1]]).toEqual([NIL, PG_free, 15]);
    run(handleMmFault(t, SHARED0, 0, false));
    const p2 = xaLoad(shm, 0, 2);
    expect(run(shrinkPage(t, 0, 2))).toBe(true); // try_to_unmap, then the freeze 2 -> 0
    expect([pteRead(shm, SHARED0, 2), shm.flags[p2]]).toEqual([0, PG_free]);
    const p3 = xaLoad(shm, 0, 3);
    expect(run(findGetPage(other, 0, 3))).toBe(p3); // a speculative reference
    expect(run(shrinkPage(t, 0, 3))).toBe(false); // mapped: unmapped, but the freeze fails
    expect([xaLoad(shm, 0, 3), shm.refcount[p3], shm.mapcount[p3]]).toEqual([p3, 2, -1]);
    run(putPage(other, p3));
    expectClean(shm);
  });

  it('DATA-STAMP: a reader notices a page whose data is not this file index', () => {
    const { shm, task } = mmWorld();
    const t = task(0);
    run(handleMmFault(t, SHARED0, 0, false));
    expect(run(readThroughPtes(t, SHARED0, 0, 16))).toBe(8);
    expect(readViolations(shm)).toEqual([]);
    shm.stampIndex[xaLoad(shm, 0, 4)] = 9;
    run(readThroughPtes(t, SHARED0, 0, 16));
    expect(readViolations(shm).map((v) => [v.id, v.page])).toEqual([['DATA-STAMP', xaLoad(shm, 0, 4)]]);
  });
});
