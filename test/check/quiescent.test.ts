// Every whole-state invariant can fail: start from a consistent state with mapped, COWed and
// cached pages, break one thing, and the checker must name the right id and the right page.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { PAGE_SIZE, xaLoad, xaStore } from '../../src/shm/files.ts';
import { CTL, MAX_HELD } from '../../src/shm/layout.ts';
import { NIL, PG_free, PG_locked, PG_waiters, type Shm } from '../../src/shm/shm.ts';
import { mkPte, pteRead, ptePfn, pteSlot, pteWrite } from '../../src/shm/mm.ts';
import { handleMmFault } from '../../src/mm/memory.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';

const SHARED0 = 0, PRIVATE0 = 2;

/** A consistent state: file 0 pages 0-7 mapped shared, 8-15 private, a COW copy at private 3,
 * file 1 cached and unmapped, 31 pages free. */
function busyWorld(): { shm: Shm; freePage: number } {
  const w = mmWorld(mmConfig({ 'fault-around': 16 }));
  const t = w.task(0);
  run(handleMmFault(t, SHARED0, 0, false));
  run(handleMmFault(t, PRIVATE0, 8, false));
  run(handleMmFault(t, PRIVATE0, 3, true));
  const freePage = w.shm.ctl[CTL.FREE_HEAD];
  expect(quiescentCheck(w.shm)).toEqual([]);
  expect(liveCheck(w.shm)).toEqual([]);
  return { shm: w.shm, freePage };
}

const found = (shm: Shm) => quiescentCheck(shm).map((f) => [f.id, f.page]);

describe('quiescent check: each invariant fails when its state is broken', () => {
  it('FREE-BAD: a PTE to a free page (use after free)', () => {
    const { shm, freePage } = busyWorld();
    pteWrite(shm, SHARED0, 12, mkPte(freePage));
    expect(found(shm)).toContainEqual(['FREE-BAD', freePage]);
    expect(liveCheck(shm).map((f) => [f.id, f.page])).toEqual([['FREE-BAD', freePage]]);
  });

  it('FREE-BAD: a page-cache slot holding a free page', () => {
    const { shm, freePage } = busyWorld();
    const cached = xaLoad(shm, 1, 5);
    xaStore(shm, 1, 5, freePage);
    shm.refcount[cached]--; // keep the old page's own accounting right: it just left the cache
    shm.mapping[cached] = 0;
    expect(found(shm)).toContainEqual(['FREE-BAD', freePage]);
    expect(liveCheck(shm).map((f) => f.id)).toEqual(['FREE-BAD']);
  });

  it('FREE-BAD: a free page that is not clean, a page lost from the free list', () => {
    const { shm, freePage } = busyWorld();
    shm.refcount[freePage] = 1;
    expect(found(shm)).toEqual([['FREE-BAD', freePage]]);
    shm.refcount[freePage] = 0;
    shm.ctl[CTL.FREE_HEAD] = shm.freeNext[freePage]; // unlinked, still marked free
    shm.ctl[CTL.FREE_COUNT]--;
    expect(found(shm)).toEqual([['FREE-BAD', freePage]]);
  });

  it('each check counts afresh (its per-page counters are reused between checks)', () => {
    const { shm } = busyWorld(); // checked once already
    const pfn = ptePfn(pteRead(shm, SHARED0, 2));
    expect(quiescentCheck(shm)).toEqual([]);
    shm.mapcount[pfn]++;
    expect(found(shm)).toEqual([['MAP-COUNT', pfn]]);
    shm.mapcount[pfn]--;
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('MAP-COUNT: a mapcount off by one', () => {
    const { shm } = busyWorld();
    const pfn = ptePfn(pteRead(shm, SHARED0, 2));
    shm.mapcount[pfn]++;
    expect(found(shm)).toEqual([['MAP-COUNT', pfn]]);
    shm.mapcount[pfn] = -2;
    expect(liveCheck(shm).map((f) => [f.id, f.page])).toEqual([['MAP-COUNT', pfn]]);
  });

  it('REF-COUNT: a refcount off by one, a leaked page, a page at zero not freed', () => {
    const { shm, freePage } = busyWorld();
    const pfn = xaLoad(shm, 1, 3);
    shm.refcount[pfn]++;
    expect(found(shm)).toEqual([['REF-COUNT', pfn]]);
    shm.refcount[pfn] -= 2;
    expect(found(shm)).toEqual([['REF-COUNT', pfn]]);
    expect(quiescentCheck(shm)[0].message).toMatch(/refcount 0 and not freed/);
    shm.refcount[pfn] = -1;
    expect(liveCheck(shm).map((f) => [f.id, f.page])).toEqual([['REF-COUNT', pfn]]);
    shm.refcount[pfn] = 1;
    // a page taken off the free list and never used: nothing refers to it
    shm.ctl[CTL.FREE_HEAD] = shm.freeNext[freePage];
    shm.ctl[CTL.FREE_COUNT]--;
    shm.flags[freePage] = 0;
    shm.refcount[freePage] = 1;
    expect(found(shm)).toEqual([['REF-COUNT', freePage]]);
    expect(quiescentCheck(shm)[0].message).toMatch(/unreferenced page not freed: leak/);
  });

  it('LOCK-LEAK: a page left locked', () => {
    const { shm } = busyWorld();
    const pfn = xaLoad(shm, 1, 7);
    shm.flags[pfn] |= PG_locked;
    shm.owner[pfn] = 3 + 1;
    expect(found(shm)).toEqual([['LOCK-LEAK', pfn]]);
    expect(quiescentCheck(shm)[0].message).toMatch(/owner task 3/);
  });

  it('LOCK-LEAK: a task between operations with a held page, a PTL or i_pages lock held', () => {
    const { shm } = busyWorld();
    shm.heldCount[1] = 1;
    shm.held[1 * MAX_HELD] = 17;
    shm.ptl[2] = 2;
    shm.iPagesLock[1] = 1;
    expect(found(shm)).toEqual([['LOCK-LEAK', 17], ['LOCK-LEAK', -1], ['LOCK-LEAK', -1]]);
  });

  it('LOCK-WAITERS: a wait entry still queued at a quiescent point, without PG_waiters', () => {
    const { shm } = busyWorld();
    const pfn = xaLoad(shm, 1, 2);
    shm.wqLinked[2] = 1;
    shm.wqPage[2] = pfn;
    expect(found(shm)).toEqual([['LOCK-WAITERS', pfn]]);
    expect(quiescentCheck(shm)[0].message).toMatch(/does not have PG_waiters set/);
    shm.flags[pfn] |= PG_waiters;
    expect(quiescentCheck(shm)[0].message).not.toMatch(/PG_waiters/);
  });

  it('MAP-EOF: a PTE beyond EOF, file or COW; not while a truncation is in flight', () => {
    const { shm } = busyWorld();
    shm.iSize[0] = 3 * PAGE_SIZE; // as if truncate had written i_size and left the PTEs
    const beyond = quiescentCheck(shm).filter((f) => f.id === 'MAP-EOF');
    expect(beyond.length).toBe(5 + 8 + 1); // shared 3-7, private 8-15 and the COW copy at private 3
    expect(beyond.map((f) => f.page)).toContain(ptePfn(pteRead(shm, PRIVATE0, 3)));
    expect(beyond.map((f) => f.page)).not.toContain(ptePfn(pteRead(shm, SHARED0, 2)));
    expect(new Set(quiescentCheck(shm).map((f) => f.id))).toEqual(new Set(['MAP-EOF']));
    shm.ctl[CTL.TRUNCATING] = 1;
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('MAP-CACHE: a PTE to a page no longer in the page cache', () => {
    const { shm } = busyWorld();
    const pfn = ptePfn(pteRead(shm, SHARED0, 5));
    // deleted as truncation would (slot cleared, mapping NULL, cache reference dropped) but left mapped
    xaStore(shm, 0, 5, NIL);
    shm.mapping[pfn] = 0;
    shm.nrpages[0]--;
    shm.refcount[pfn]--;
    expect(found(shm)).toEqual([['MAP-CACHE', pfn]]);
    expect(liveCheck(shm).map((f) => [f.id, f.page])).toEqual([['MAP-CACHE', pfn]]);
  });

  it('MAP-CACHE: a PTE to the wrong index, a slot that disagrees with its page, nrpages off', () => {
    const { shm } = busyWorld();
    const a = ptePfn(pteRead(shm, SHARED0, 1)), b = ptePfn(pteRead(shm, SHARED0, 2));
    const s1 = pteSlot(shm, SHARED0, 1), s2 = pteSlot(shm, SHARED0, 2);
    [shm.ptes[s1], shm.ptes[s2]] = [shm.ptes[s2], shm.ptes[s1]]; // swapped: counts still add up
    expect(found(shm).sort()).toEqual([['MAP-CACHE', a], ['MAP-CACHE', b]].sort());
    [shm.ptes[s1], shm.ptes[s2]] = [shm.ptes[s2], shm.ptes[s1]];
    shm.index[xaLoad(shm, 1, 9)] = 10;
    expect(found(shm)).toEqual([['MAP-CACHE', xaLoad(shm, 1, 9)]]);
    shm.index[xaLoad(shm, 1, 9)] = 9;
    shm.nrpages[1]++;
    expect(found(shm)).toEqual([['MAP-CACHE', -1]]);
  });

  it('a flood of findings is capped per id', () => {
    const { shm } = busyWorld();
    for (let pfn = 0; pfn < shm.sizes.pages; pfn++) if (!(shm.flags[pfn] & PG_free)) shm.refcount[pfn] += 5;
    const f = quiescentCheck(shm);
    expect(f.length).toBe(33);
    expect(f[32].message).toMatch(/further findings not listed/);
  });
});
