// The PMD level (--pmd on, 6.6): a PMD-sized folio mapped by a huge PMD (filemap_map_pmd() /
// finish_fault() -> do_set_pmd()), its _entire_mapcount and reference, cleared by zap_huge_pmd() or
// __split_huge_pmd(), pte_offset_map_lock() finding no table, and the checks that cover PMD
// mappings. Hand-stepped in one thread, and a bounded controlled exploration for the self-test.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { hugePmdPfn, mkHugePmd, pmdRead, pmdTransHuge, pteRead, ptlSlot } from '../../src/shm/mm.ts';
import { ZAP_ALL, handleMmFault, zapPteRange } from '../../src/mm/memory.ts';
import { PMD_NONE, pmdNone } from '../../src/mm/pgtable.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { COMPOUND_MAPPED, entireMapcount } from '../../src/shm/page.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { findVariant } from '../../src/variants/index.ts';
import type { Shm } from '../../src/shm/shm.ts';

// file 0 is cached as order-3 folios (the PMD order of 8 PTEs per table); VMA 0 maps it shared
const VMA = 0;
const findings = (shm: Shm) => quiescentCheck(shm).map((f) => `${f.id}: ${f.message}`);
const pmdWorld = (extra: Record<string, number | string | boolean> = {}) => mmWorld(mmConfig({ pmd: 'on', ...extra }));

describe('the PMD level (--pmd on)', () => {
  it('a read fault maps the PMD-sized folio by a huge PMD: one reference, _entire_mapcount 0, COMPOUND_MAPPED', () => {
    const { shm, task } = pmdWorld();
    const head = xaLoad(shm, 0, 0), ref = shm.refcount[head];
    expect(shm.compound[head]).toBe(3);
    expect(pmdNone(shm, VMA, 3)).toBe(true);
    run(handleMmFault(task(0), VMA, 3, false)); // fault-around from the table's start: filemap_map_pmd()
    expect(pmdRead(shm, VMA, 3)).toBe(mkHugePmd(head));
    expect(shm.refcount[head]).toBe(ref + 1);
    expect(entireMapcount(shm, head)).toBe(0);
    expect(shm.nrPagesMapped[head]).toBe(COMPOUND_MAPPED);
    expect(pteRead(shm, VMA, 3)).toBe(0); // no table: no PTE
    expect(findings(shm)).toEqual([]);
    // a second access is served by the PMD
    expect(run(handleMmFault(task(0), VMA, 5, false))).toBe(-1);
  });

  it('a zap of the whole range is zap_huge_pmd(); the next fault there allocates a table', () => {
    const { shm, task } = pmdWorld({ 'fault-around': 1 });
    const head = xaLoad(shm, 0, 0), ref = shm.refcount[head];
    run(handleMmFault(task(0), VMA, 0, false)); // finish_fault() at the folio's head: do_set_pmd()
    expect(pmdTransHuge(pmdRead(shm, VMA, 0))).toBe(true);
    run(zapPteRange(task(0), VMA, 0, 8, ZAP_ALL));
    expect(pmdRead(shm, VMA, 0)).toBe(PMD_NONE);
    expect(shm.refcount[head]).toBe(ref);
    expect(entireMapcount(shm, head)).toBe(-1);
    expect(shm.nrPagesMapped[head]).toBe(0);
    expect(findings(shm)).toEqual([]);
    run(handleMmFault(task(0), VMA, 3, false)); // not the head: do_set_pmd() falls back, a table
    expect(shm.pmd[ptlSlot(shm, VMA, 3)]).toBeGreaterThan(0);
    expect(pteRead(shm, VMA, 3)).not.toBe(0);
    expect(findings(shm)).toEqual([]);
  });

  it('a partial zap splits (clears) the PMD; a write to a PMD-mapped page splits it and faults by PTE', () => {
    const { shm, task } = pmdWorld();
    run(handleMmFault(task(0), VMA, 0, false));
    run(zapPteRange(task(0), VMA, 2, 4, ZAP_ALL));
    expect(pmdRead(shm, VMA, 0)).toBe(PMD_NONE);
    expect(findings(shm)).toEqual([]);
    run(handleMmFault(task(0), VMA, 0, false));
    expect(pmdTransHuge(pmdRead(shm, VMA, 0))).toBe(true);
    run(handleMmFault(task(0), VMA, 6, true)); // wp_huge_pmd(): split, then do_shared_fault()
    expect(shm.pmd[ptlSlot(shm, VMA, 6)]).toBeGreaterThan(0);
    expect(pteRead(shm, VMA, 6)).not.toBe(0);
    expect(findings(shm)).toEqual([]);
  });

  it('truncation inside a PMD-mapped folio unmaps it (split_folio()) and leaves no huge PMD past EOF', () => {
    const { shm, task } = pmdWorld();
    run(handleMmFault(task(0), VMA, 8, false));
    expect(pmdTransHuge(pmdRead(shm, VMA, 8))).toBe(true);
    run(truncateSetsize(task(1), 0, 10 * 4096 + 100));
    expect(pmdTransHuge(pmdRead(shm, VMA, 8))).toBe(false);
    expect(findings(shm)).toEqual([]);
    expect(readViolations(shm)).toEqual([]);
  });

  it('pte_offset_map_lock() finds no table under a huge PMD: a fault that waited for the folio lock maps nothing (NOPAGE)', () => {
    const { shm, task } = pmdWorld({ 'fault-around': 1 });
    const head = xaLoad(shm, 0, 0);
    // the faulter at index 3 (not the head: no PMD of its own) stops under the folio lock, at
    // filemap_fault()'s i_size re-check, before finish_fault()
    const f = new Stepper(handleMmFault(task(0), VMA, 3, false));
    f.runUntil('i_size_read').runUntil('i_size_read');
    expect(shm.owner[head]).toBe(1);
    // meanwhile the PMD became huge (another mm's fault on the head cannot: it needs the folio
    // lock; set it as do_set_pmd() would, with its counts)
    shm.pmd[ptlSlot(shm, VMA, 0)] = mkHugePmd(head);
    shm.refcount[head]++;
    shm.nrPagesMapped[head + 1]++; // _entire_mapcount 0
    shm.nrPagesMapped[head] += COMPOUND_MAPPED;
    f.runToEnd();
    expect(pteRead(shm, VMA, 3)).toBe(0);
    expect(hugePmdPfn(pmdRead(shm, VMA, 3))).toBe(head);
    expect(findings(shm)).toEqual([]);
  });

  it('the checks cover PMD mappings: _entire_mapcount, a PMD past EOF, a PMD of a folio not cached, a PTE under a huge PMD', () => {
    const { shm, task } = pmdWorld();
    const head = xaLoad(shm, 0, 8);
    run(handleMmFault(task(0), VMA, 8, false));
    shm.nrPagesMapped[head + 1]++; // _entire_mapcount 1 with one PMD
    expect(findings(shm).some((m) => m.startsWith('MAP-COUNT'))).toBe(true);
    shm.nrPagesMapped[head + 1]--;
    shm.iSize[0] = 12 * 4096; // EOF inside the PMD's range, no truncation in flight
    expect(findings(shm).some((m) => m.startsWith('MAP-EOF'))).toBe(true);
    shm.iSize[0] = 16 * 4096;
    shm.ptes[VMA * shm.sizes.ptesPerVma + 9] = head + 2; // a PTE where the huge PMD maps
    expect(findings(shm).some((m) => m.startsWith('PTE-TABLE'))).toBe(true);
    shm.ptes[VMA * shm.sizes.ptesPerVma + 9] = 0;
    for (let i = 8; i < 16; i++) shm.slots[i] = 0; // the folio left the page cache
    expect(findings(shm).some((m) => m.startsWith('MAP-CACHE'))).toBe(true);
    expect(liveCheck(shm).some((f) => f.id === 'MAP-CACHE')).toBe(true);
  });

  it('--pmd on: usage errors for sizes and paths it cannot take', () => {
    const v = (extra: Record<string, unknown>) => getScenario('map-truncate').validate!(mmConfig(extra as Record<string, string>));
    expect(v({ pmd: 'on' })).toBeNull();
    expect(v({ pmd: 'on', 'ptes-per-ptl': 6 })).toMatch(/power of two/);
    expect(v({ pmd: 'on', 'max-folio-order': 2 })).toMatch(/max-folio-order 3/);
    expect(v({ pmd: 'on', 'map-pages': 'linus-recheck' })).toMatch(/map-pages mainline/);
  });
});

describe('--pmd on under the controlled driver', () => {
  const cfgOf = (seed: string, variants: string[]): RunConfig => ({
    ...DEFAULTS, scenario: 'map-truncate', seed, durationMs: 0, ops: 0, workers: 4, variants,
    extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), pmd: 'on' },
  });
  const exploreCfg = (cfg: RunConfig, iterations: number) => explore({
    scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
    strategies: strategySpecs('random', 3), iterations, opsPerActor: 4, seed: cfg.seed,
  });

  it('self-test finish-fault-nonull is caught', () => {
    const res = exploreCfg(cfgOf('1', ['finish-fault-nonull', 'folio-eof-clamp']), 2000);
    expect(res.finds.length).toBe(1);
    expect(findVariant('finish-fault-nonull')?.expected).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('mainline with the EOF clamp: nothing in 300 iterations', () => {
    const res = exploreCfg(cfgOf('2', ['folio-eof-clamp']), 300);
    expect(res.finds).toEqual([]);
    expect(res.stats.iterations).toBe(300);
  }, 120_000);

  it('self-test zap-huge-pmd-early-unlock is caught by PCT on its cell\'s PMD-heavy workload (DEL-LOCKED)', () => {
    // seed 3: found at iteration 85 with the CLI (explore --strategy pct)
    const cell = matrixCells().find((c) => c.name === 'map-truncate/zap-huge-pmd-early-unlock')!;
    const cfg = { ...cfgOf('3', ['zap-huge-pmd-early-unlock', 'folio-eof-clamp']), workers: 3 };
    cfg.extra = { ...cfg.extra, ...cell.cfg.extra };
    expect(getScenario('map-truncate').validate!(cfg)).toBeNull();
    const res = explore({
      scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
      strategies: strategySpecs('pct', 3), iterations: 1000, opsPerActor: 4, seed: cfg.seed,
    });
    expect(res.finds.length).toBe(1);
    expect(findVariant('zap-huge-pmd-early-unlock')?.expected).toContain(res.finds[0].violation.id);
  }, 240_000);

  it('the matrix has a clean PMD cell per lock and the self-test', () => {
    const cells = new Map(matrixCells().map((c) => [c.name, c]));
    for (const lock of ['v4.10', 'v5.9', 'v5.9-rc6']) expect(cells.get(`map-truncate/folios-pmd=${lock}`)?.expected).toBe('clean');
    expect(cells.get('map-truncate/finish-fault-nonull')?.expected).toEqual({ breaks: findVariant('finish-fault-nonull')?.expected });
  });
});

describe('collapse_pte_mapped_thp() (the collapser role)', () => {
  it('retracts and frees a PTE table mapping a PMD-sized folio; with install_pmd the PMD maps it', async () => {
    const { collapsePteMappedThp } = await import('../../src/mm/khugepaged.ts');
    const { shm, task } = pmdWorld({ 'fault-around': 1 });
    const head = xaLoad(shm, 0, 8), ref = shm.refcount[head];
    run(handleMmFault(task(0), VMA, 11, false)); // not the head: a table and one PTE
    run(handleMmFault(task(0), VMA, 12, false));
    const table = shm.pmd[ptlSlot(shm, VMA, 8)] - 1;
    expect(table).toBeGreaterThanOrEqual(0);
    expect(run(collapsePteMappedThp(task(1), VMA, 8, false))).toBe(true);
    expect(pmdRead(shm, VMA, 8)).toBe(PMD_NONE);
    expect(shm.refcount[table]).toBe(0);
    expect(shm.refcount[head]).toBe(ref);
    expect(findings(shm)).toEqual([]);
    run(handleMmFault(task(0), VMA, 11, false)); // the table comes back
    expect(run(collapsePteMappedThp(task(1), VMA, 8, true))).toBe(true);
    expect(hugePmdPfn(pmdRead(shm, VMA, 8))).toBe(head);
    expect(findings(shm)).toEqual([]);
  });
});
