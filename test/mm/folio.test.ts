// Large folios (--max-folio-order): the allocator's aligned blocks, the multi-index page cache,
// filemap_map_pages() over a folio range, finish_fault() on a folio's page, truncation through a
// folio (split, or the whole folio when the split cannot freeze the refcount), and the whole-state
// checks' folio accounting, each with a corruption the check must see.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { allocPage, folioAlloc, freeListPages, putPage } from '../../src/mm/page_alloc.ts';
import { CTL } from '../../src/shm/layout.ts';
import { NIL, PG_free, type Shm } from '../../src/shm/shm.ts';
import { PAGE_SIZE, xaLoad, xaLoadPage } from '../../src/shm/files.ts';
import { folioHead, folioNrPages, getPage } from '../../src/shm/page.ts';
import { pteRead, ptePfn } from '../../src/shm/mm.ts';
import { filemapMapPages, findGetPage } from '../../src/mm/filemap.ts';
import { handleMmFault, readThroughPtes } from '../../src/mm/memory.ts';
import { VM_FAULT_NOPAGE } from '../../src/kernel/fault.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';

// files 0 and 1 of 16 pages: file 0 in folios of order 3 (pfns 0-7: indices 0-7, 8-15: 8-15),
// file 1 of order 2; VMA 0 maps file 0 shared, VMA 2 file 0 private; 8 PTEs per PTL
const folios = () => mmWorld(mmConfig({ 'max-folio-order': 3, 'fault-around': 1 }));
const SHARED0 = 0, PRIVATE0 = 2;

function expectClean(shm: Shm): void {
  expect(readViolations(shm).map((v) => `${v.id} page ${v.page} [${v.values.join(',')}]`)).toEqual([]);
  expect(quiescentCheck(shm).map((f) => f.message)).toEqual([]);
  expect(liveCheck(shm).map((f) => f.message)).toEqual([]);
}
const ids = (shm: Shm) => quiescentCheck(shm).map((f) => f.id);

describe('large folios: allocator and page cache', () => {
  it('starts with multi-index folios, naturally aligned, and the accounting adds up', () => {
    const { shm } = folios();
    const head = xaLoad(shm, 0, 5);
    expect(folioNrPages(shm, head)).toBe(8);
    expect(head % 8).toBe(0);
    for (let i = 0; i < 8; i++) {
      expect(xaLoad(shm, 0, i)).toBe(head); // a lookup at any index finds the folio
      expect(xaLoadPage(shm, 0, i)).toBe(head + i);
      expect(folioHead(shm, head + i)).toBe(head);
    }
    expect(shm.refcount[head]).toBe(8); // the page cache's references: one per page
    expect(folioNrPages(shm, xaLoad(shm, 1, 0))).toBe(4);
    expect(Array.from(shm.nrpages)).toEqual([16, 16]);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(32);
    expectClean(shm);
  });

  it('hands out aligned blocks, splitting larger ones, and takes a folio back whole', () => {
    const { shm, task } = folios();
    const t = task(0);
    const a = run(folioAlloc(t, 2));
    expect(a % 4).toBe(0);
    expect(folioNrPages(shm, a)).toBe(4);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(28);
    const list = freeListPages(shm);
    expect(typeof list === 'string' ? list : list.length).toBe(28);
    run(putPage(t, a));
    for (let i = 0; i < 4; i++) expect(shm.flags[a + i]).toBe(PG_free);
    expect(run(folioAlloc(t, 2))).toBe(a); // the same block again
    run(putPage(t, a));
    expectClean(shm);
  });

  it('merges a freed block with its free buddy back up to the largest order', () => {
    const { shm, task } = folios();
    const t = task(0);
    const first = shm.ctl[CTL.FREE_HEADS + 3];
    const pages = Array.from({ length: 8 }, () => run(allocPage(t))); // one order-3 block, split to single pages
    expect([...pages].sort((a, b) => a - b)).toEqual(Array.from({ length: 8 }, (_, i) => first + i));
    for (const p of pages) run(putPage(t, p));
    expect(shm.ctl[CTL.FREE_HEADS + 3]).toBe(first); // whole again
    expect(shm.compound[first]).toBe(3);
    expect(shm.ctl[CTL.FREE_HEAD]).toBe(NIL);
    expect(run(folioAlloc(t, 3))).toBe(first);
    run(putPage(t, first));
    expectClean(shm);
  });

  it('finds the folio at any index with the lockless lookup, one reference on the head', () => {
    const { shm, task } = folios();
    const head = xaLoad(shm, 0, 8);
    expect(run(findGetPage(task(0), 0, 13))).toBe(head);
    expect(shm.refcount[head]).toBe(9);
    run(putPage(task(0), head + 5)); // put_page() of any page drops the folio's reference
    expect(shm.refcount[head]).toBe(8);
    expectClean(shm);
  });

  it('readahead makes a folio of the order asked, inside EOF, on a fault that finds nothing', () => {
    const { shm, task } = folios();
    run(truncateSetsize(task(0), 0, 0)); // empty file 0
    run(truncateSetsize(task(0), 0, 6 * PAGE_SIZE)); // 6 pages long again, nothing cached
    const t = task(1, { 'readahead-order': 'uniform' }); // the order the fault asks for (v6.6's growth: test/mm/large-folio.test.ts)
    t.raOrder = 3; // an order-3 folio would reach past EOF: order 2 for indices 4-7 does too, order 1 fits
    run(handleMmFault(t, SHARED0, 5, false));
    const head = xaLoad(shm, 0, 5);
    expect(folioNrPages(shm, head)).toBe(2);
    expect(xaLoad(shm, 0, 4)).toBe(head);
    t.raOrder = 2;
    run(handleMmFault(t, SHARED0, 1, false));
    expect(folioNrPages(shm, xaLoad(shm, 0, 0))).toBe(4);
    expect(ptePfn(pteRead(shm, SHARED0, 1))).toBe(xaLoad(shm, 0, 0) + 1); // finish_fault() maps folio_file_page()
    expect(run(readThroughPtes(t, SHARED0, 0, 6))).toBe(2);
    expectClean(shm);
  });
});

describe('large folios: mapping', () => {
  it('filemap_map_pages maps a folio range under one PTL: one reference per PTE, each page mapped once', () => {
    const { shm, task } = folios();
    const t = task(0), head = xaLoad(shm, 0, 0);
    const ret = run(filemapMapPages(t, { vma: SHARED0, file: 0, index: 2 }, 2, 7));
    expect(ret).toBe(VM_FAULT_NOPAGE);
    for (let i = 2; i < 7; i++) expect(ptePfn(pteRead(shm, SHARED0, i))).toBe(head + i);
    expect(pteRead(shm, SHARED0, 7)).toBe(0);
    expect(shm.refcount[head]).toBe(8 + 5);
    expect(shm.nrPagesMapped[head]).toBe(5);
    expect(shm.mapcount[head + 2]).toBe(0);
    // the same range again maps nothing new and leaves no reference behind
    run(filemapMapPages(t, { vma: SHARED0, file: 0, index: 0 }, 0, 8));
    expect(shm.refcount[head]).toBe(8 + 8);
    expect(run(readThroughPtes(t, SHARED0, 0, 8))).toBe(8);
    expectClean(shm);
  });

  it('a COW fault copies the folio page at its index', () => {
    const { shm, task } = folios();
    const t = task(0);
    run(handleMmFault(t, PRIVATE0, 6, true));
    const cow = ptePfn(pteRead(shm, PRIVATE0, 6));
    expect(shm.stampIndex[cow]).toBe(6);
    expectClean(shm);
  });
});

describe('large folios: truncation', () => {
  it('truncating inside a mapped folio splits it: the pages beyond EOF are unmapped and freed, the tail zeroed', () => {
    const { shm, task } = folios();
    const t = task(0), head = xaLoad(shm, 0, 8);
    run(filemapMapPages(t, { vma: SHARED0, file: 0, index: 8 }, 8, 16));
    const free0 = shm.ctl[CTL.FREE_COUNT];
    run(truncateSetsize(t, 0, 10 * PAGE_SIZE + 100)); // EOF inside page 10 of the folio 8-15
    expect(folioNrPages(shm, head)).toBe(1);
    expect(xaLoad(shm, 0, 9)).toBe(head + 1);
    expect(xaLoad(shm, 0, 10)).toBe(head + 2);
    expect(xaLoad(shm, 0, 11)).toBe(NIL);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free0 + 5);
    expect(shm.stampEnd[head + 2]).toBe(100);
    expect(shm.nrpages[0]).toBe(11);
    for (let i = 8; i < 16; i++) expect(pteRead(shm, SHARED0, i)).toBe(0); // unmap_folio() took them all
    expectClean(shm);
  });

  it('a pinned folio cannot be split: a clean one leaves the page cache whole', () => {
    const { shm, task } = folios();
    const t = task(0), head = xaLoad(shm, 0, 8);
    getPage(shm, head); // a transient pin (a lookup elsewhere) held across the truncation
    run(truncateSetsize(t, 0, 12 * PAGE_SIZE));
    expect(xaLoad(shm, 0, 8)).toBe(NIL);
    expect(shm.nrpages[0]).toBe(8);
    expect(shm.refcount[head]).toBe(1); // only the pin: freed when it is put
    run(putPage(t, head));
    expect(shm.flags[head]).toBe(PG_free);
    expectClean(shm);
  });
});

describe('large folios: the checks see a broken folio', () => {
  it('MAP-COUNT: _nr_pages_mapped that disagrees with the mapped pages', () => {
    const { shm, task } = folios();
    run(filemapMapPages(task(0), { vma: SHARED0, file: 0, index: 0 }, 0, 4));
    shm.nrPagesMapped[xaLoad(shm, 0, 0)] = 3;
    expect(ids(shm)).toContain('MAP-COUNT');
  });

  it('REF-COUNT: a PTE of a tail page without its reference on the head, or a reference on a tail', () => {
    const { shm, task } = folios();
    const head = xaLoad(shm, 0, 0);
    run(filemapMapPages(task(0), { vma: SHARED0, file: 0, index: 3 }, 3, 4));
    shm.refcount[head]--;
    expect(ids(shm)).toEqual(['REF-COUNT']);
    shm.refcount[head]++;
    shm.refcount[head + 3] = 1;
    expect(ids(shm)).toEqual(['REF-COUNT']);
  });

  it('MAP-CACHE: a slot of the folio range that holds another page, and a PTE of the wrong page of the folio', () => {
    const { shm } = folios();
    const head = xaLoad(shm, 0, 0);
    shm.slots[3] = head + 3 + 1; // a tail page stored as if it were a folio
    expect(ids(shm)).toContain('MAP-CACHE');
    shm.slots[3] = head + 1;
    expect(ids(shm)).toEqual([]);
    shm.ptes[4] = head + 1; // PTE of index 4 maps the folio's head (index 0)
    shm.mapcount[head]++;
    shm.nrPagesMapped[head]++;
    shm.refcount[head]++;
    expect(ids(shm)).toEqual(['MAP-CACHE']);
  });

  it('live MAP-CACHE: a PTE that maps another page of the right folio', () => {
    const { shm, task } = folios();
    run(filemapMapPages(task(0), { vma: SHARED0, file: 0, index: 4 }, 4, 5));
    expect(liveCheck(shm)).toEqual([]);
    shm.ptes[4] = xaLoad(shm, 0, 0) + 5 + 1; // index 4's PTE now maps the page of index 5
    expect(liveCheck(shm).map((f) => f.id)).toEqual(['MAP-CACHE']);
  });

  it('FREE-BAD: a free block that is not naturally aligned', () => {
    const { shm } = folios();
    const head = shm.ctl[CTL.FREE_HEADS + 3];
    shm.compound[head] = 0; // the block's head now says order 0, its tails still point at it
    expect(ids(shm)).toContain('FREE-BAD');
    shm.compound[head] = 3;
    shm.ctl[CTL.FREE_HEADS + 3] = head + 4; // a block of order 3 that starts half-way
    shm.compound[head + 4] = 3;
    expect(typeof freeListPages(shm)).toBe('string');
    expect(ids(shm)).toContain('FREE-BAD');
  });

  it('DEL-LOCKED: a locked folio deleted while one of its tail pages is mapped', () => {
    const { shm, task } = folios();
    const t = task(0), head = xaLoad(shm, 0, 8);
    run(t.ops.lock.lockPage(t, head));
    t.ops.pagecache.pageCacheDelete(t, head, 0); // unmapped: fine
    expect(readViolations(shm)).toEqual([]);
    const other = xaLoad(shm, 0, 0);
    run(t.ops.lock.lockPage(t, other));
    shm.mapcount[other + 6] = 0; // as if a PTE mapped index 6
    shm.nrPagesMapped[other] = 1;
    t.ops.pagecache.pageCacheDelete(t, other, 0);
    expect(readViolations(shm).map((v) => v.id)).toEqual(['DEL-LOCKED']);
  });

  it('FREE-BAD: a folio freed with a tail page still mapped', () => {
    const { shm, task } = folios();
    const t = task(0);
    const f = run(folioAlloc(t, 1));
    shm.mapcount[f + 1] = 0;
    run(putPage(t, f));
    expect(readViolations(shm).map((v) => v.id)).toEqual(['FREE-BAD']);
  });
});

describe('large folios: a million pages', () => {
  it('initialises 1,000,000 pages with folios up to order 9 and checks them', () => {
    const cfg = mmConfig(
      { files: 64, 'file-pages': 16384, processes: 4, vmas: 4, 'vma-pages': 16384, 'ptes-per-ptl': 512, 'max-folio-order': 9 },
      { pages: 1_000_000, workers: 4 },
    );
    const t0 = performance.now();
    const { shm } = mmWorld(cfg);
    const t1 = performance.now();
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(500_000);
    expect(shm.nrpages.reduce((a, b) => a + b, 0)).toBe(500_000);
    expect(folioNrPages(shm, xaLoad(shm, 0, 0))).toBe(512);
    expect(quiescentCheck(shm).map((f) => f.message).slice(0, 3)).toEqual([]);
    const t2 = performance.now();
    expect(liveCheck(shm)).toEqual([]);
    const t3 = performance.now();
    console.log(`1M pages, folios to order 9: ${(shm.layout.bytes / 2 ** 20).toFixed(1)} MiB shared, layout+init ${(t1 - t0).toFixed(0)} ms, ` +
      `quiescent check ${(t2 - t1).toFixed(0)} ms, live check ${(t3 - t2).toFixed(0)} ms`);
  }, 60_000); // a generous bound for a loaded machine: the times are logged, not asserted
});
