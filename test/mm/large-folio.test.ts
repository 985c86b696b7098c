// Large folios beyond the fault and truncate paths, hand-stepped in one thread: reclaim of a whole
// mapped folio (every PTE unmapped, 1 + nr frozen, freed at its order) and its back-out on a pin;
// migration of a whole mapped folio, and the split-and-retry when no folio of its order is free;
// readahead growing folio orders (v6.6 page_cache_ra_order()) and the uniform draw kept reachable;
// the two self-test mutants seen by the checks; their cells.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { folioAlloc, putPage } from '../../src/mm/page_alloc.ts';
import { CTL } from '../../src/shm/layout.ts';
import { NIL, PG_dirty, PG_free, PG_writeback, PTE_DIRTY, PTE_WRITE, type Shm } from '../../src/shm/shm.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { folioNrPages, getPage } from '../../src/shm/page.ts';
import { isMigrationEntry, pteNone, ptePfn, pteRead, pteWrite } from '../../src/shm/mm.ts';
import { ZAP_ALL, handleMmFault } from '../../src/mm/memory.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { ENOMEM, MIGRATEPAGE_SUCCESS } from '../../src/mm/migrate.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { lockNames, makeLock } from '../../src/locks/index.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';

// files 0 and 1 of 16 pages: file 0 in folios of order 3 (pfns 0-7: indices 0-7, 8-15: 8-15),
// file 1 of order 2; 32 free pages in four order-3 blocks; VMA 0 maps file 0 shared, VMA 2 private
const folios = (extra: Record<string, string | number> = {}) => mmWorld(mmConfig({ 'max-folio-order': 3, 'fault-around': 1, ...extra }));
const SHARED0 = 0, PRIVATE0 = 2;

function expectClean(shm: Shm): void {
  expect(readViolations(shm).map((v) => `${v.id} page ${v.page} [${v.values.join(',')}]`)).toEqual([]);
  expect(quiescentCheck(shm).map((f) => f.message)).toEqual([]);
  expect(liveCheck(shm).map((f) => f.message)).toEqual([]);
}

/** Pages 2 and 5 of file 0's first folio mapped, by the shared and the private VMA. */
function mappedFolio(extra: Record<string, string | number> = {}, variants: string[] = []) {
  const w = folios(extra);
  const t = w.task(3);
  run(handleMmFault(t, SHARED0, 2, false));
  run(handleMmFault(t, PRIVATE0, 5, false));
  const head = xaLoad(w.shm, 0, 0);
  expect(folioNrPages(w.shm, head)).toBe(8);
  expect(ptePfn(pteRead(w.shm, SHARED0, 2))).toBe(head + 2);
  expect(ptePfn(pteRead(w.shm, PRIVATE0, 5))).toBe(head + 5);
  const m = new Task({ id: 0, shm: w.shm, ops: kernelOps({ lock: makeLock('v5.9-rc6'), variants }), options: { ...w.cfg.extra } });
  return { ...w, head, m };
}

describe('reclaim of a large folio (shrink_folio_list, __remove_mapping)', () => {
  it('unmaps every PTE of the folio, freezes 1 + nr, empties every slot and frees it at its order', () => {
    const { shm, head, m } = mappedFolio();
    const free0 = shm.ctl[CTL.FREE_COUNT];
    expect(run(m.ops.reclaim.shrinkPage(m, 0, 6))).toBe(true); // any index of the folio
    for (let i = 0; i < 8; i++) {
      expect(xaLoad(shm, 0, i)).toBe(NIL);
      expect(shm.flags[head + i]).toBe(PG_free);
    }
    expect(pteNone(pteRead(shm, SHARED0, 2)) && pteNone(pteRead(shm, PRIVATE0, 5))).toBe(true);
    expect(shm.nrpages[0]).toBe(8);
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(free0 + 8);
    expect(shm.compound[head]).toBe(3); // back on the free lists as one block
    expectClean(shm);
  });

  it('backs out when anyone else holds a reference: the freeze at 1 + nr fails, the folio stays cached', () => {
    const { shm, head, m } = mappedFolio();
    getPage(shm, head); // a transient pin (a lookup elsewhere)
    expect(run(m.ops.reclaim.shrinkPage(m, 0, 1))).toBe(false);
    expect(xaLoad(shm, 0, 7)).toBe(head);
    expect(shm.refcount[head]).toBe(8 + 1); // the page cache's and the pin: the PTEs went with try_to_unmap()
    run(putPage(m, head));
    expectClean(shm);
  });

  it('self-test reclaim-large-free-head: the freed head alone leaves its tails outside any folio (FREE-BAD)', () => {
    const { shm, m } = mappedFolio({}, ['reclaim-large-free-head']);
    expect(run(m.ops.reclaim.shrinkPage(m, 0, 0))).toBe(true);
    expect(quiescentCheck(shm).map((f) => f.id)).toContain('FREE-BAD');
  });
});

describe('migration of a large folio (migrate_pages_batch, folio_migrate_mapping)', () => {
  it('moves the whole folio: every slot, every PTE to the page at the same offset, the data; the old folio freed', () => {
    const { shm, head, m } = mappedFolio();
    expect(run(m.ops.migrate.migratePages(m, 0, 4, 'sync'))).toBe(MIGRATEPAGE_SUCCESS);
    const now = xaLoad(shm, 0, 0);
    expect(now).not.toBe(head);
    expect(folioNrPages(shm, now)).toBe(8);
    for (let i = 0; i < 8; i++) {
      expect(xaLoad(shm, 0, i)).toBe(now);
      expect([shm.stampFile[now + i], shm.stampIndex[now + i]]).toEqual([0, i]);
      expect(shm.flags[head + i]).toBe(PG_free);
    }
    expect(ptePfn(pteRead(shm, SHARED0, 2))).toBe(now + 2);
    expect(ptePfn(pteRead(shm, PRIVATE0, 5))).toBe(now + 5);
    expect(shm.refcount[now]).toBe(8 + 2);
    expectClean(shm);
  });

  it('with no free folio of its order, splits the folio and migrates the page asked for (try_split_folio)', () => {
    const { shm, head, m } = mappedFolio();
    const held = [0, 1, 2].map(() => run(folioAlloc(m, 3)));
    held.push(run(folioAlloc(m, 2))); // one order-2 block stays free: order-0 pages, no order 3
    expect(run(m.ops.migrate.migratePages(m, 0, 5, 'async'))).toBe(MIGRATEPAGE_SUCCESS);
    expect(folioNrPages(shm, head)).toBe(1); // split
    expect(xaLoad(shm, 0, 4)).toBe(head + 4);
    const now = xaLoad(shm, 0, 5);
    expect(now).not.toBe(head + 5);
    expect(pteNone(pteRead(shm, PRIVATE0, 5))).toBe(true); // split_folio() unmapped it: a file folio is not remapped
    expect([shm.stampFile[now], shm.stampIndex[now]]).toEqual([0, 5]);
    expect(shm.flags[head + 5]).toBe(PG_free);
    for (const f of held) run(putPage(m, f));
    expectClean(shm);
  });

  it('with nosplit it gives up: -ENOMEM, the folio untouched', () => {
    const { shm, head, m } = mappedFolio();
    const held = [0, 1, 2, 3].map(() => run(folioAlloc(m, 3)));
    expect(run(m.ops.migrate.migratePages(m, 0, 5, 'async', true))).toBe(ENOMEM);
    expect(folioNrPages(shm, head)).toBe(8);
    expect(ptePfn(pteRead(shm, PRIVATE0, 5))).toBe(head + 5);
    for (const f of held) run(putPage(m, f));
    expectClean(shm);
  });

  it('self-test migrate-large-restore-head: the other pages keep entries naming the freed folio (MIGRATE-ENTRY)', () => {
    const { shm, m } = mappedFolio({}, ['migrate-large-restore-head']);
    run(m.ops.migrate.migratePages(m, 0, 0, 'sync'));
    expect(isMigrationEntry(pteRead(shm, PRIVATE0, 5))).toBe(true);
    expect(readViolations(shm).map((v) => v.id)).toContain('MIGRATE-ENTRY');
  });
});

describe('readahead order (page_cache_ra_order)', () => {
  /** File 0 emptied and 16 pages long again, nothing cached. */
  function empty(extra: Record<string, string | number> = {}) {
    const w = folios(extra);
    run(truncateSetsize(w.task(0), 0, 0));
    run(truncateSetsize(w.task(0), 0, 16 * PAGE_SIZE));
    return w;
  }
  const orderAt = (shm: Shm, index: number) => Math.log2(folioNrPages(shm, xaLoad(shm, 0, index)));

  it('grows: read-around asks for order 2, a fault that continues a cached run for the order before it + 2', () => {
    const { shm, task } = empty();
    const t = task(1);
    run(handleMmFault(t, SHARED0, 0, false));
    expect(orderAt(shm, 0)).toBe(2); // page_cache_ra_order(ractl, ra, 0): 0 + 2
    run(handleMmFault(t, SHARED0, 4, false));
    expect(orderAt(shm, 4)).toBe(2); // 2 + 2 = 4, capped by --max-folio-order 3, and 8-aligned 0-7 is taken: 2
    run(handleMmFault(t, SHARED0, 8, false));
    expect(orderAt(shm, 8)).toBe(3); // 2 + 2, capped at 3: 8-15
    run(truncateSetsize(t, 0, 14 * PAGE_SIZE)); // splits 8-15 at EOF 14: 8-13 order 0
    run(truncateSetsize(t, 0, 0));
    run(truncateSetsize(t, 0, 6 * PAGE_SIZE));
    run(handleMmFault(t, SHARED0, 5, false));
    expect(orderAt(shm, 5)).toBe(1); // order 2 (4-7) reaches past EOF 6: 4-5
    expectClean(shm);
  });

  it('--readahead-order uniform: the order the fault drew (t.raOrder), 0 without a draw', () => {
    const { shm, task } = empty({ 'readahead-order': 'uniform' });
    const t = task(1);
    run(handleMmFault(t, SHARED0, 0, false));
    expect(orderAt(shm, 0)).toBe(0);
    t.raOrder = 3;
    run(handleMmFault(t, SHARED0, 9, false));
    expect(orderAt(shm, 9)).toBe(3);
    expectClean(shm);
  });
});

describe('writeback of a large folio (write_cache_pages, folio_mkclean, wp_page_shared)', () => {
  // explore --scenario writeback --max-folio-order 3 --variant wb-large-per-index (+ the two fixes)
  // --strategy random: DEADLOCK at iterations 7 / 2 / 24 (seeds 1-3)
  it('self-test wb-large-per-index: a writeback that meets its own folio again waits for itself (DEADLOCK)', () => {
    const cfg: RunConfig = {
      ...DEFAULTS, scenario: 'writeback', seed: '2', durationMs: 0, ops: 0, workers: 4,
      variants: ['wb-large-per-index', 'folio-eof-clamp', 'folio-mkwrite-eof'], extra: { 'max-folio-order': 3 },
    };
    const res = explore({
      scenario: getScenario('writeback'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
      strategies: strategySpecs('random', 3), iterations: 50, opsPerActor: 4, seed: cfg.seed,
    });
    expect(res.finds.map((f) => f.violation.id)).toEqual(['DEADLOCK']);
  }, 60_000);


  it('a write through any page dirties the folio; writeback cleans every PTE of it and writes it once', () => {
    const { shm, task } = folios();
    const t = task(1), head = xaLoad(shm, 0, 0);
    run(handleMmFault(t, SHARED0, 5, true)); // do_shared_fault(): page_mkwrite dirties the folio, the PTE is writable
    run(handleMmFault(t, SHARED0, 2, false));
    expect(pteRead(shm, SHARED0, 5) & PTE_WRITE).toBe(PTE_WRITE);
    expect(shm.flags[head] & PG_dirty).toBe(PG_dirty);
    expect(run(t.ops.writeback.writeCachePages(t, 0, 0, 16))).toBe(1); // one folio, written once
    expect(shm.flags[head] & (PG_dirty | PG_writeback)).toBe(0);
    expect(pteRead(shm, SHARED0, 5) & (PTE_WRITE | PTE_DIRTY)).toBe(0); // write-protected by folio_mkclean()
    run(handleMmFault(t, SHARED0, 5, true)); // wp_page_shared() on page_folio(): dirty again, writable again
    expect(shm.flags[head] & PG_dirty).toBe(PG_dirty);
    expect(pteRead(shm, SHARED0, 5) & PTE_WRITE).toBe(PTE_WRITE);
    expect(shm.flags[head + 5] & PG_dirty).toBe(0); // the flag is the folio's, on its head
    expectClean(shm);
  });

  it('a dirty PTE of a tail page handed over at zap dirties the folio', () => {
    const { shm, task } = folios();
    const t = task(1), head = xaLoad(shm, 0, 0);
    run(handleMmFault(t, SHARED0, 6, true));
    run(t.ops.writeback.writeCachePages(t, 0, 0, 8)); // clean again
    run(handleMmFault(t, SHARED0, 6, true));
    pteWrite(shm, SHARED0, 6, pteRead(shm, SHARED0, 6) | PTE_DIRTY); // the user's store
    Atomics.and(shm.flags, head, ~PG_dirty); // as if written back since, the PTE still dirty
    run(t.ops.rmap.zapPteRange(t, SHARED0, 6, 7, ZAP_ALL));
    expect(shm.flags[head] & PG_dirty).toBe(PG_dirty);
    expectClean(shm);
  });
});

it('the matrix has a clean large-folio reclaim and migration cell per public lock and the two self-tests', () => {
  const cells = new Map(matrixCells().map((c) => [c.name, c]));
  for (const lock of lockNames()) expect(cells.get(`map-truncate/folios-reclaim-migrate=${lock}`)?.expected).toBe('clean');
  expect(cells.get('map-truncate/folios-readahead-uniform')?.expected).toBe('clean');
  expect(cells.get('map-truncate/reclaim-large-free-head')?.expected).toEqual({ breaks: ['FREE-BAD', 'REF-COUNT'] });
  expect(cells.get('map-truncate/migrate-large-restore-head')?.expected).toEqual({ breaks: ['MIGRATE-ENTRY'] });
  for (const lock of lockNames()) expect(cells.get(`writeback/folios=${lock}`)?.cfg.variants).toEqual(['folio-eof-clamp', 'folio-mkwrite-eof']);
  expect(cells.get('writeback/folios-6.6-mkwrite-beyond-eof')?.expected).toBe('open');
  expect(cells.get('writeback/wb-large-per-index')?.expected).toEqual({ breaks: ['DEADLOCK', 'HUNG'] });
});
