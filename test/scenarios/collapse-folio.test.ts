// 6.6 collapse_file() with large folios (src/mm/khugepaged.ts collapseFileFolio): the new PMD-sized
// folio replaces the locked old pages in the page cache with their data, the shared VMAs' PTE
// tables of the range are retracted, a hole is read first; the rollback leaves everything as it
// was. Then the collapse scenario with --pmd on in controlled mode, and its self-test mutant.
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/mm-fixture.ts';
import { configVariants, kernelOps } from '../../src/variants/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { NIL, Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { LabelTable } from '../../src/shm/labels.ts';
import { makeLock } from '../../src/locks/index.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { pmdRead, pmdTransHuge, ptePfn, pteRead } from '../../src/shm/mm.ts';
import { PageFree, PageLocked, PageUptodate } from '../../src/shm/page.ts';
import { PMD_NONE } from '../../src/mm/pgtable.ts';
import { handleMmFault } from '../../src/mm/memory.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { collapseScenario } from '../../src/scenarios/collapse.ts';

// 2 files of 16 pages, one process with 4 VMAs: 0 and 1 shared (files 0 and 1), 2 and 3 private.
// File 0 starts in order-0 pages, file 1 in PMD-sized folios (8 pages: --ptes-per-ptl 8).
const EXTRA = { pmd: 'on', processes: 1, vmas: 4 } as const;
const SHARED0 = 0, PRIVATE0 = 2, NR = 8;

function world() {
  const cfg: RunConfig = { ...DEFAULTS, scenario: 'collapse', workers: 3, pages: 64, buckets: 16, extra: { ...EXTRA } };
  const shm = new Shm({ ...collapseScenario.sizes(cfg), tasks: 4, flightEntries: 64, violationSlots: 16 });
  initShm(shm);
  collapseScenario.init(shm, cfg);
  const labels = new LabelTable(shm), lock = makeLock('v5.9-rc6', { unfairness: 5 });
  const task = (id: number) => new Task({ id, shm, ops: kernelOps({ lock, variants: configVariants({ extra: cfg.extra }) }), labels, options: cfg.extra });
  return { shm, t: task(0), other: task(1) };
}

const range = (shm: Shm, file: number, start: number) => Array.from({ length: NR }, (_, i) => xaLoad(shm, file, start + i));

describe('6.6 collapse_file() with large folios', () => {
  it('replaces the mapped order-0 pages by one PMD-sized folio with their data, frees them, retracts the shared table', () => {
    const { shm, t, other } = world();
    run(handleMmFault(other, SHARED0, 3, false)); // fault-around maps [0, 8) of the shared VMA
    run(handleMmFault(other, PRIVATE0, 5, true)); // a COW copy in the private VMA's table
    const old = range(shm, 0, 0);
    expect(old.every((p) => p !== NIL && shm.compound[p] === 0)).toBe(true);
    expect(run(t.ops.collapse.collapseFileFolio(t, 0, 0))).toBe('SCAN_SUCCEED');
    const folio = xaLoad(shm, 0, 0);
    expect(range(shm, 0, 0)).toEqual(Array(NR).fill(folio)); // one multi-index entry
    expect([shm.compound[folio], PageUptodate(shm, folio), PageLocked(shm, folio), shm.refcount[folio]]).toEqual([3, true, false, NR]);
    expect(Array.from({ length: NR }, (_, i) => [shm.stampFile[folio + i], shm.stampIndex[folio + i]])).toEqual(old.map((_, i) => [0, i]));
    expect(old.every((p) => PageFree(shm, p))).toBe(true);
    expect(pmdRead(shm, SHARED0, 0)).toBe(PMD_NONE); // retract_page_tables()
    expect(pmdRead(shm, PRIVATE0, 0)).toBeGreaterThan(0); // anon_vma: the COW copy's table stays
    expect(quiescentCheck(shm)).toEqual([]);
    expect(t.statValue('collapsed')).toBe(1);
    // the next fault maps the new folio by the PMD (--pmd on)
    run(handleMmFault(other, SHARED0, 2, false));
    expect(pmdTransHuge(pmdRead(shm, SHARED0, 0))).toBe(true);
    expect(quiescentCheck(shm)).toEqual([]);
    expect(readViolations(shm)).toEqual([]);
  });

  it('reads a hole first (page_cache_sync_readahead(), find_lock_page()), then collapses', () => {
    const { shm, t } = world();
    expect(run(t.ops.reclaim.shrinkPage(t, 0, 12))).toBe(true);
    expect(xaLoad(shm, 0, 12)).toBe(NIL);
    expect(run(t.ops.collapse.collapseFileFolio(t, 0, 8))).toBe('SCAN_SUCCEED');
    const folio = xaLoad(shm, 0, 8);
    expect([shm.compound[folio], shm.stampFile[folio + 4], shm.stampIndex[folio + 4]]).toEqual([3, 0, 12]);
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('rolls back on an extra reference (SCAN_PAGE_COUNT), and hands a PMD-sized folio over (SCAN_PTE_MAPPED_HUGEPAGE)', () => {
    const { shm, t } = world();
    const old = range(shm, 0, 0);
    shm.refcount[old[6]]++; // a pin: GUP, or a lookup between folio_try_get() and its lock
    expect(run(t.ops.collapse.collapseFileFolio(t, 0, 0))).toBe('SCAN_PAGE_COUNT');
    shm.refcount[old[6]]--;
    expect(range(shm, 0, 0)).toEqual(old);
    expect(old.every((p) => !PageLocked(shm, p) && shm.refcount[p] === 1)).toBe(true);
    expect(run(t.ops.collapse.collapseFileFolio(t, 1, 0))).toBe('SCAN_PTE_MAPPED_HUGEPAGE');
    expect(quiescentCheck(shm)).toEqual([]);
    expect(readViolations(shm)).toEqual([]);
  });
});

describe('collapse --pmd on in controlled mode (collapser, mapper+faulter, zapper+reader+reclaimer)', () => {
  const exploreFolios = (variants: string[], seed: string, iterations: number) => {
    const cfg: RunConfig = {
      ...DEFAULTS, scenario: 'collapse', workers: 3, pages: 64, buckets: 16, variants,
      extra: { pmd: 'on', roles: 'collapser,mapper+faulter,zapper+reader+reclaimer', files: 2, 'file-pages': 8, processes: 1, vmas: 4 },
    };
    return explore({ scenario: collapseScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: portfolio(3), iterations, opsPerActor: 4, seed });
  };

  it('mainline: nothing in 600 iterations of seed 1', () => {
    expect(exploreFolios([], '1', 600).finds).toEqual([]);
  }, 30_000);

  it('collapse-unlock-before-retract: a table freed with the new folio mapped in it (PTE-TABLE), seed 1', () => {
    const r = exploreFolios(['collapse-unlock-before-retract'], '1', 1_000);
    expect(r.finds[0]?.violation.id).toBe('PTE-TABLE');
  }, 30_000);
});

describe('collapse --pmd on: the configuration says what it implies', () => {
  it('validate() writes the PMD order into --max-folio-order (start line, run.json, repro files)', () => {
    const cfg: RunConfig = { ...DEFAULTS, scenario: 'collapse', extra: { pmd: 'on', 'ptes-per-ptl': 4 } };
    expect(collapseScenario.validate!(cfg)).toBeNull();
    expect(cfg.extra['max-folio-order']).toBe(2);
    const plain: RunConfig = { ...DEFAULTS, scenario: 'collapse', extra: {} };
    expect(collapseScenario.validate!(plain)).toBeNull();
    expect(plain.extra['max-folio-order']).toBeUndefined(); // order 0: the 5.9 protocol, configuration untouched
  });
});
