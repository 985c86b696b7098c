// writeback --pmd on (6.6): the write paths meeting a read-only huge PMD (a write fault splits it
// and goes on by PTE, page_mkclean() finds nothing to clean under it, GUP follows it for a read and
// faults for a write, reclaim splits it), hand-stepped in one thread; the implied flags written into
// the configuration; and a bounded controlled exploration that must reach the PMD paths (a PMD
// self-test caught) and must stay clean on mainline.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { mkHugePmd, pmdRead, pmdTransHuge, pteRead, ptlSlot } from '../../src/shm/mm.ts';
import { PG_dirty, PG_writeback, PTE_DIRTY, PTE_WRITE, type Shm } from '../../src/shm/shm.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { entireMapcount } from '../../src/shm/page.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { accessOp, userStore } from '../../src/scenarios/writeback.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { findVariant } from '../../src/variants/index.ts';

// four processes: VMAs 0 and 4 map file 0 shared (file 0 is cached as order-3 folios, the PMD order)
const PMD_VMA = 0, PTE_VMA = 4;
const findings = (shm: Shm) => [...quiescentCheck(shm).map((f) => f.id), ...readViolations(shm).map((v) => v.id)];
const world = () => mmWorld(mmConfig({ pmd: 'on', processes: 4, 'stable-pages': true, 'reclaim-wait-writeback': true }));

describe('writeback --pmd on: the write paths meet a huge PMD', () => {
  it('a store through a huge PMD splits it (wp_huge_pmd()) and is written by PTE; page_mkclean() skips the PMD', () => {
    const { shm, task } = world();
    const t = task(0), head = xaLoad(shm, 0, 0);
    run(accessOp(t, PMD_VMA, 2, false));
    expect(pmdRead(shm, PMD_VMA, 2)).toBe(mkHugePmd(head));
    // a write through the other shared VMA dirties the folio while the PMD still maps it read-only
    run(accessOp(t, PTE_VMA, 1, true));
    run(userStore(t, PTE_VMA, 1));
    expect(shm.flags[head] & PG_dirty).toBeTruthy();
    expect(pteRead(shm, PTE_VMA, 1) & (PTE_WRITE | PTE_DIRTY)).toBe(PTE_WRITE | PTE_DIRTY);
    // write_cache_pages(): page_mkclean() cleans the PTE and finds no table under the PMD
    run(t.ops.writeback.writeCachePages(t, 0, 0, 8));
    expect(pteRead(shm, PTE_VMA, 1) & (PTE_WRITE | PTE_DIRTY)).toBe(0);
    expect(shm.flags[head] & (PG_dirty | PG_writeback)).toBe(0);
    expect(pmdRead(shm, PMD_VMA, 2)).toBe(mkHugePmd(head));
    // a store through the PMD: split (cleared), then do_shared_fault() in a new table
    run(accessOp(t, PMD_VMA, 5, true));
    run(userStore(t, PMD_VMA, 5));
    expect(pmdTransHuge(pmdRead(shm, PMD_VMA, 5))).toBe(false);
    expect(shm.pmd[ptlSlot(shm, PMD_VMA, 5)]).toBeGreaterThan(0);
    expect(pteRead(shm, PMD_VMA, 5) & (PTE_WRITE | PTE_DIRTY)).toBe(PTE_WRITE | PTE_DIRTY);
    expect(entireMapcount(shm, head)).toBe(-1);
    expect(findings(shm)).toEqual([]);
  });

  it('GUP: a read follows the huge PMD (follow_trans_huge_pmd()), a FOLL_WRITE faults and splits it', () => {
    const { shm, task } = world();
    const t = task(0), head = xaLoad(shm, 0, 0);
    run(accessOp(t, PMD_VMA, 0, false));
    const ref = shm.refcount[head];
    expect(run(t.ops.writeback.getUserPage(t, PMD_VMA, 3, false))).toBe(head + 3);
    expect(shm.refcount[head]).toBe(ref + 1);
    expect(pmdTransHuge(pmdRead(shm, PMD_VMA, 3))).toBe(true);
    run(t.ops.writeback.putUserPageDirty(t, head + 3));
    expect(run(t.ops.writeback.getUserPage(t, PMD_VMA, 3, true))).toBe(head + 3);
    expect(pmdTransHuge(pmdRead(shm, PMD_VMA, 3))).toBe(false);
    expect(pteRead(shm, PMD_VMA, 3) & PTE_WRITE).toBe(PTE_WRITE);
    run(t.ops.writeback.putUserPageDirty(t, head + 3));
    expect(findings(shm)).toEqual([]);
  });

  it('reclaim splits the PMD (TTU_SPLIT_HUGE_PMD) and frees the clean folio', () => {
    const { shm, task } = world();
    const t = task(0), head = xaLoad(shm, 0, 0);
    run(accessOp(t, PMD_VMA, 0, false));
    expect(run(t.ops.reclaim.shrinkPage(t, 0, 4))).toBe(true);
    expect(pmdRead(shm, PMD_VMA, 0) < 0 && !pmdTransHuge(pmdRead(shm, PMD_VMA, 0))).toBe(true);
    expect(xaLoad(shm, 0, 0)).not.toBe(head);
    expect(findings(shm)).toEqual([]);
  });
});

describe('writeback --pmd on: flags', () => {
  const v = (scenario: string, extra: Record<string, unknown>) => {
    const cfg = mmConfig(extra as Record<string, string>, { scenario });
    return { why: getScenario(scenario).validate!(cfg), extra: cfg.extra };
  };

  it('usage errors as in map-truncate: a power-of-two --ptes-per-ptl; the migrator is allowed (PMD migration entries)', () => {
    expect(v('writeback', { pmd: 'on' }).why).toBeNull();
    expect(v('writeback', { pmd: 'on', 'ptes-per-ptl': 6 }).why).toMatch(/power of two/);
    expect(v('writeback', { pmd: 'on', roles: 'writer,truncator,writeback,migrator' }).why).toBeNull();
    expect(getScenario('writeback').options?.some((o) => o.name === 'pmd')).toBe(true);
  });

  it('what --pmd on implies is written into the configuration (the start line, run.json and repro files show it)', () => {
    for (const scenario of ['map-truncate', 'writeback']) {
      const on = v(scenario, { pmd: 'on', 'max-folio-order': 0, 'pte-alloc': false });
      expect(on.why).toBeNull();
      expect(on.extra).toMatchObject({ 'pte-alloc': true, 'max-folio-order': 3 });
      expect(v(scenario, { pmd: 'on', 'ptes-per-ptl': 16 }).extra).toMatchObject({ 'pte-alloc': true, 'max-folio-order': 4 });
      expect(v(scenario, { pmd: 'on', 'max-folio-order': 5 }).extra['max-folio-order']).toBe(5);
      expect(v(scenario, { pmd: 'off', 'max-folio-order': 0 }).extra).toMatchObject({ 'max-folio-order': 0 });
      expect(v(scenario, { pmd: 'off' }).extra['pte-alloc']).toBeUndefined();
      // a configuration read back (a repro file) validates to itself
      const again = v(scenario, on.extra);
      expect(again.why).toBeNull();
      expect(again.extra).toEqual(on.extra);
    }
  });
});

describe('writeback --pmd on under the controlled driver', () => {
  const cfgOf = (seed: string, variants: string[]): RunConfig => {
    const cfg: RunConfig = {
      ...DEFAULTS, scenario: 'writeback', seed, durationMs: 0, ops: 0, workers: 4, variants,
      extra: { ...Object.fromEntries((getScenario('writeback').options ?? []).map((o) => [o.name, o.default])), pmd: 'on' },
    };
    expect(getScenario('writeback').validate!(cfg)).toBeNull();
    return cfg;
  };
  const exploreCfg = (cfg: RunConfig, iterations: number) => explore({
    scenario: getScenario('writeback'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
    strategies: strategySpecs('random', 3), iterations, opsPerActor: 4, seed: cfg.seed,
  });

  it('the PMD paths are reached: self-test finish-fault-nonull is caught', () => {
    // seed 1: PTE-TABLE at iteration 3 with the CLI (explore --strategy random)
    const res = exploreCfg(cfgOf('1', ['finish-fault-nonull', 'folio-eof-clamp', 'folio-mkwrite-eof']), 1000);
    expect(res.finds.length).toBe(1);
    expect(findVariant('finish-fault-nonull')?.expected).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('mainline with folio-eof-clamp and folio-mkwrite-eof: nothing in 300 iterations', () => {
    const res = exploreCfg(cfgOf('2', ['folio-eof-clamp', 'folio-mkwrite-eof']), 300);
    expect(res.finds).toEqual([]);
    expect(res.stats.iterations).toBe(300);
  }, 120_000);

  it('the matrix has a clean writeback PMD cell per lock', () => {
    const cells = new Map(matrixCells().map((c) => [c.name, c]));
    for (const lock of ['v4.10', 'v5.9', 'v5.9-rc6']) {
      const c = cells.get(`writeback/folios-pmd=${lock}`);
      expect(c?.expected).toBe('clean');
      expect(c?.cfg.extra?.pmd).toBe('on');
    }
  });
});
