// Writable huge PMDs (writeback --pmd on, 6.6), hand-stepped in one thread: a shared write fault at
// a PMD-sized folio's head maps it writable and dirty (do_set_pmd()), a store through it needs no
// fault, page_mkclean() write-protects and cleans it before writeback clears PG_dirty (WB-MKCLEAN),
// a split hands its dirty bit to the folio, a PMD migration entry keeps write and dirty, GUP
// FOLL_WRITE follows a writable PMD; and the self-test pmd-mkclean-skip caught by WB-MKCLEAN, hand-
// stepped and in controlled mode on seeds 1-3.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { PMD_DIRTY, PMD_WRITE, isPmdMigrationEntry, mkHugePmd, mkPmdMigrationEntry, pmdRead, pmdTransHuge } from '../../src/shm/mm.ts';
import { PG_dirty, PG_writeback, type Shm } from '../../src/shm/shm.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { entireMapcount } from '../../src/shm/page.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { accessOp, userStore } from '../../src/scenarios/writeback.ts';
import { removeMigrationPmd, setPmdMigrationEntry, splitHugePmd } from '../../src/mm/huge_memory.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';

// four processes: VMAs 0 and 4 map file 0 shared (cached as order-3 folios, the PMD order: pfn
// head..head+7 at indices 0-7)
const VMA = 0;
const findings = (shm: Shm) => [...quiescentCheck(shm).map((f) => f.id), ...readViolations(shm).map((v) => v.id)];
const world = () => mmWorld(mmConfig({ pmd: 'on', processes: 4, 'stable-pages': true, 'reclaim-wait-writeback': true }));
const taskWith = (shm: Shm, cfg: RunConfig, id: number, variants: string[] = []) =>
  new Task({ id, shm, ops: kernelOps({ lock: makeLock('v5.9-rc6'), variants }), options: { ...cfg.extra } });

/** A store through VMA 0 at `index`: the access (a write fault where one is needed), then the store. */
function write(t: Task, index: number): void {
  run(accessOp(t, VMA, index, true));
  run(userStore(t, VMA, index));
}

describe('writeback --pmd on: writable huge PMDs', () => {
  it('a shared write fault at the head maps the folio writable and dirty; page_mkclean() makes it read-only and clean', () => {
    const { shm, cfg } = world();
    const t = taskWith(shm, cfg, 0), head = xaLoad(shm, 0, 0);
    write(t, 0);
    expect(pmdRead(shm, VMA, 0)).toBe(mkHugePmd(head, PMD_WRITE | PMD_DIRTY));
    expect(shm.flags[head] & PG_dirty).toBeTruthy(); // page_mkwrite dirtied it first
    expect(t.statValue('pmdMappedWrite')).toBe(1);
    // a store elsewhere in the range goes through the writable PMD: no fault, no split
    const faults = t.statValue('faults');
    write(t, 5);
    expect(t.statValue('faults')).toBe(faults);
    expect(pmdRead(shm, VMA, 5)).toBe(mkHugePmd(head, PMD_WRITE | PMD_DIRTY));
    // write_cache_pages(): folio_clear_dirty_for_io() -> page_mkclean() cleans the PMD under the PMD lock
    run(t.ops.writeback.writeCachePages(t, 0, 0, 8));
    expect(pmdRead(shm, VMA, 0)).toBe(mkHugePmd(head));
    expect(shm.flags[head] & (PG_dirty | PG_writeback)).toBe(0);
    // the next store faults: wp_huge_pmd() splits the read-only PMD and the write goes on by PTE
    write(t, 5);
    expect(pmdTransHuge(pmdRead(shm, VMA, 5))).toBe(false);
    expect(shm.flags[head] & PG_dirty).toBeTruthy();
    expect(entireMapcount(shm, head)).toBe(-1);
    expect(findings(shm)).toEqual([]);
  });

  it('a split hands the PMD dirty bit to the folio (__split_huge_pmd_locked(): set_page_dirty())', () => {
    const { shm, cfg } = world();
    const t = taskWith(shm, cfg, 0), head = xaLoad(shm, 0, 0);
    write(t, 0);
    Atomics.and(shm.flags, head, ~PG_dirty); // corruption: the folio clean under a dirty PMD
    expect(run(splitHugePmd(t, VMA, 3))).toBe(true);
    expect(pmdRead(shm, VMA, 3)).toBe(-1); // PMD_NONE
    expect(shm.flags[head] & PG_dirty).toBeTruthy();
    expect(findings(shm)).toEqual([]);
  });

  it('a PMD migration entry keeps write and dirty; remove_migration_pmd() restores them (dirty only on a dirty folio)', () => {
    const { shm, cfg } = world();
    const t = taskWith(shm, cfg, 0), head = xaLoad(shm, 0, 0);
    write(t, 0);
    expect(run(setPmdMigrationEntry(t, VMA, 0, head))).toBe(true);
    expect(pmdRead(shm, VMA, 0)).toBe(mkPmdMigrationEntry(head, PMD_WRITE | PMD_DIRTY));
    expect(isPmdMigrationEntry(pmdRead(shm, VMA, 0))).toBe(true);
    Atomics.and(shm.flags, head, ~PG_dirty); // "if (PageDirty(new) && is_migration_entry_dirty(entry))"
    expect(run(removeMigrationPmd(t, VMA, 0, head, head))).toBe(true);
    expect(pmdRead(shm, VMA, 0)).toBe(mkHugePmd(head, PMD_WRITE));
  });

  it('GUP FOLL_WRITE follows a writable PMD (follow_trans_huge_pmd()): a reference, no fault, no split', () => {
    const { shm, cfg } = world();
    const t = taskWith(shm, cfg, 0), head = xaLoad(shm, 0, 0);
    write(t, 0);
    const ref = shm.refcount[head], faults = t.statValue('faults');
    expect(run(t.ops.writeback.getUserPage(t, VMA, 3, true))).toBe(head + 3);
    expect(shm.refcount[head]).toBe(ref + 1);
    expect(t.statValue('faults')).toBe(faults);
    expect(pmdRead(shm, VMA, 3)).toBe(mkHugePmd(head, PMD_WRITE | PMD_DIRTY));
    run(t.ops.writeback.putUserPageDirty(t, head + 3));
    expect(findings(shm)).toEqual([]);
  });

  it('the self-test pmd-mkclean-skip: writeback clears PG_dirty under a writable PMD (WB-MKCLEAN)', () => {
    const { shm, cfg } = world();
    const t = taskWith(shm, cfg, 0, ['pmd-mkclean-skip']);
    write(t, 0);
    run(t.ops.writeback.writeCachePages(t, 0, 0, 8));
    expect(readViolations(shm).map((v) => v.id)).toEqual(['WB-MKCLEAN']);
  });
});

describe('writeback --pmd on under the controlled driver: pmd-mkclean-skip', () => {
  it('caught (WB-MKCLEAN) on seeds 1-3 within 200 iterations of the random walk', () => {
    for (const seed of ['1', '2', '3']) {
      const cfg: RunConfig = {
        ...DEFAULTS, scenario: 'writeback', seed, durationMs: 0, ops: 0, workers: 4, variants: ['folio-eof-clamp', 'folio-mkwrite-eof', 'pmd-mkclean-skip'],
        extra: { ...Object.fromEntries((getScenario('writeback').options ?? []).map((o) => [o.name, o.default])), pmd: 'on' },
      };
      expect(getScenario('writeback').validate!(cfg)).toBeNull();
      const res = explore({
        scenario: getScenario('writeback'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
        strategies: strategySpecs('random', 3), iterations: 200, opsPerActor: 4, seed,
      });
      expect(res.finds.map((f) => f.violation.id), `seed ${seed}`).toEqual(['WB-MKCLEAN']);
    }
  }, 120_000);
});
