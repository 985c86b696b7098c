// PMD migration entries (6.6 CONFIG_ARCH_ENABLE_THP_MIGRATION): migrate_pages() of a PMD-mapped
// folio (try_to_migrate_one() -> set_pmd_migration_entry(), remove_migration_pte() ->
// remove_migration_pmd()), a fault meeting the entry (pmd_migration_entry_wait()), a zap clearing
// it, the checks that cover it; hand-stepped, and the self-test caught in controlled mode.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { hugePmdPfn, isPmdMigrationEntry, mkHugePmd, mkPmdMigrationEntry, pmdRead, pmdTransHuge } from '../../src/shm/mm.ts';
import { ZAP_ALL } from '../../src/mm/memory.ts';
import { PMD_NONE } from '../../src/mm/pgtable.ts';
import { EAGAIN, MIGRATEPAGE_SUCCESS } from '../../src/mm/migrate.ts';
import { putPage } from '../../src/mm/page_alloc.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { COMPOUND_MAPPED, entireMapcount } from '../../src/shm/page.ts';
import { PG_free, PG_locked, type Shm } from '../../src/shm/shm.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { findVariant } from '../../src/variants/index.ts';

// file 0 is cached as order-3 folios (the PMD order of 8 PTEs per table); VMA 0 maps it shared
const VMA = 0;
const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);
const quiet = (shm: Shm) => quiescentCheck(shm).map((f) => `${f.id}: ${f.message}`);

/** The folio at file 0 index 8 mapped by VMA 0's PMD (a fault at its head, no fault-around). */
function pmdMapped() {
  const w = mmWorld(mmConfig({ pmd: 'on', 'fault-around': 1 }));
  const f = w.task(1);
  run(f.ops.fault.handleMmFault(f, VMA, 8, false));
  const old = xaLoad(w.shm, 0, 8);
  expect(pmdRead(w.shm, VMA, 8)).toBe(mkHugePmd(old));
  return { ...w, old };
}

describe('migrate_pages() of a PMD-mapped folio', () => {
  it('set_pmd_migration_entry() drops the PMD\'s mapping and reference; remove_migration_pmd() maps the new folio by the PMD', () => {
    const { shm, task, old } = pmdMapped();
    const m = task(0), ref = shm.refcount[old];
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 8, 'sync'), m);
    il.runUntil('m', 'folio_ref_freeze');
    expect(pmdRead(shm, VMA, 8)).toBe(mkPmdMigrationEntry(old));
    expect(entireMapcount(shm, old)).toBe(-1);
    expect(shm.nrPagesMapped[old]).toBe(0);
    expect(shm.refcount[old]).toBe(ref); // -1 for the PMD, +1 for the migrator's lookup
    expect(liveCheck(shm)).toEqual([]); // the entry names a locked, allocated folio
    expect(quiet(shm)).toContainEqual(expect.stringMatching(/^MIGRATE-ENTRY: PMD migration entry survives/)); // mid-migration
    expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS);
    const now = xaLoad(shm, 0, 8);
    expect(now).not.toBe(old);
    expect(pmdRead(shm, VMA, 8)).toBe(mkHugePmd(now));
    expect([entireMapcount(shm, now), shm.nrPagesMapped[now], shm.refcount[now]]).toEqual([0, COMPOUND_MAPPED, 8 + 1]);
    expect(shm.flags[old] & PG_free).toBe(PG_free);
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('a failed migration (another reference: the freeze fails) maps the old folio by the PMD again', () => {
    const { shm, task, old } = pmdMapped();
    const m = task(0), r = task(2);
    const pin = run(r.ops.pagecache.findGetPage(r, 0, 8));
    expect(run(m.ops.migrate.migratePages(m, 0, 8, 'sync'))).toBe(EAGAIN);
    expect(pmdRead(shm, VMA, 8)).toBe(mkHugePmd(old));
    expect(entireMapcount(shm, old)).toBe(0);
    run(putPage(r, pin));
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('a fault meeting the entry waits on the old folio\'s lock under the PMD lock, without a reference, then finds the new PMD', () => {
    const { shm, task, old } = pmdMapped();
    const m = task(0), f = task(2);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 8, 'sync'), m).add('f', f.ops.fault.handleMmFault(f, VMA, 11, false), f);
    il.runUntil('m', 'folio_ref_freeze');
    const ref = shm.refcount[old];
    expect(il.runUntilBlocked('f')).toBe(true);
    expect(il.labels('f')).toContain('is_pmd_migration_entry');
    expect(shm.refcount[old]).toBe(ref);
    expect(shm.flags[old] & PG_locked).toBe(PG_locked);
    expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS);
    expect(il.runToEnd('f')).toBe(0); // the access is executed again
    const now = xaLoad(shm, 0, 8);
    expect(hugePmdPfn(pmdRead(shm, VMA, 11))).toBe(now);
    expect(run(f.ops.fault.handleMmFault(f, VMA, 11, false))).toBe(-1); // NO_FAULT: the PMD maps it
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('a zap clears the entry (zap_huge_pmd(): it held nothing); the migration restores nothing there', () => {
    const { shm, task } = pmdMapped();
    const m = task(0), z = task(2);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 8, 'sync'), m);
    il.runUntil('m', 'folio_ref_freeze');
    expect(isPmdMigrationEntry(pmdRead(shm, VMA, 8))).toBe(true);
    run(z.ops.rmap.zapPteRange(z, VMA, 8, 16, ZAP_ALL));
    expect(pmdRead(shm, VMA, 8)).toBe(PMD_NONE);
    expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS);
    const now = xaLoad(shm, 0, 8);
    expect(pmdRead(shm, VMA, 8)).toBe(PMD_NONE);
    expect([entireMapcount(shm, now), shm.refcount[now]]).toEqual([-1, 8]);
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('the checks cover PMD migration entries: one on a free or unlocked folio (live), one left behind (quiescent)', () => {
    const { shm, old } = pmdMapped();
    const slot = 1; // VMA 0's second table: index 8
    shm.pmd[slot] = mkPmdMigrationEntry(old); // as if set, its mapping and reference not dropped: only the entry is judged
    expect(liveCheck(shm).map((f) => f.id)).toContain('MIGRATE-ENTRY'); // names an unlocked folio
    expect(quiet(shm)).toContainEqual(expect.stringMatching(/^MIGRATE-ENTRY/));
    expect(pmdTransHuge(shm.pmd[slot])).toBe(false);
  });

  it('--pmd on accepts the migrator role', () => {
    const v = getScenario('map-truncate').validate!(mmConfig({ pmd: 'on', roles: 'migrator,faulter,truncator,reader' }));
    expect(v).toBeNull();
  });
});

describe('PMD migration under the controlled driver', () => {
  const cell = (name: string) => matrixCells().find((c) => c.name === name)!;
  const exploreCell = (name: string, seed: string, iterations: number) => {
    const c = cell(name);
    const cfg: RunConfig = {
      ...DEFAULTS, scenario: 'map-truncate', seed, durationMs: 0, ops: 0, workers: c.controlled!.workers ?? 3, variants: [...(c.cfg.variants ?? [])],
      extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), ...c.cfg.extra, ...c.controlled!.extra },
    };
    expect(getScenario('map-truncate').validate!(cfg)).toBeNull();
    return explore({
      scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
      strategies: strategySpecs(c.controlled!.strategy ?? 'random', 3), iterations, opsPerActor: 4, seed,
    });
  };

  it('self-test pmd-migration-no-wait is caught', () => {
    const res = exploreCell('map-truncate/pmd-migration-no-wait', '1', 3000);
    expect(res.finds.length).toBe(1);
    expect(findVariant('pmd-migration-no-wait')?.expected).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('mainline: nothing in 300 iterations of the clean cell', () => {
    const res = exploreCell('map-truncate/folios-pmd-migrate=v5.9-rc6', '2', 300);
    expect(res.finds).toEqual([]);
    expect(res.stats.iterations).toBe(300);
  }, 120_000);
});
