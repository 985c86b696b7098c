// PMD migration entries (src/mm/migrate.ts, src/mm/huge_memory.ts, v6.6): the self-test mutant,
// registered hidden (--variant NAME accepts it), and the matrix cells (PMD_MIGRATE_CELLS, registered
// by src/matrix): PMD-mapped folios migrating clean under each public lock algorithm, and the mutant
// with what it must trip.
//
// pmd-migration-no-wait: a fault that meets a PMD migration entry does not wait for the migration
// (pmd_migration_entry_wait()): it takes the entry for the folio it names and maps that folio by the
// PMD again (a reference and the _entire_mapcount, as do_set_pmd() would), without the folio lock.
// Before folio_migrate_mapping() the refcount freeze sees the extra reference and the migration
// backs out: harmless. After it, the old folio has left the page cache and is freed once the
// migrator puts it: the PMD maps a folio that is not the page cache's (MIGRATE-ENTRY at the
// faulter, MAP-CACHE), then a freed one (FREE-BAD, REF-COUNT), and readers see stale data.
import { registerVariant, type Variant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { pmdLock, pmdUnlock } from '../../mm/pgtable.ts';
import { isPmdMigrationEntry, mkHugePmd, pmdMigrationPfn, pmdRead, ptlSlot } from '../../shm/mm.ts';
import { getPage } from '../../shm/page.ts';
import { lockNames, otherInvariantsUnfairness } from '../../locks/index.ts';

const NO_WAIT_BREAKS: readonly InvariantId[] = ['MIGRATE-ENTRY', 'MAP-CACHE', 'FREE-BAD', 'REF-COUNT', 'MAP-COUNT', 'DATA-STAMP', 'DEL-LOCKED'];

function* pmdMigrationMapsOld(t: Task, vma: number, index: number): Step {
  const shm = t.shm;
  t.page = -1;
  t.aux = index;
  const mm = yield* pmdLock(t, vma);
  yield 'is_pmd_migration_entry';
  const pmd = pmdRead(shm, vma, index);
  if (isPmdMigrationEntry(pmd)) {
    // BUG (deliberate): no migration_entry_wait_on_locked(): the entry's folio is mapped as it is
    const old = pmdMigrationPfn(pmd);
    t.page = old;
    getPage(shm, old);
    yield* t.ops.rmap.pageAddRmap(t, old, true);
    yield 'set_pmd_at';
    Atomics.store(shm.pmd, ptlSlot(shm, vma, index), mkHugePmd(old));
  }
  pmdUnlock(t, mm);
}

export const pmdMigrationNoWait: Variant = {
  name: 'pmd-migration-no-wait',
  kind: 'variant',
  summary: 'self-test: a fault meeting a PMD migration entry maps the old folio by the PMD instead of waiting for the migration',
  source: 'mutant of pmd_migration_entry_wait() (6.6 mm/migrate.c) / migration_entry_wait_on_locked() (mm/filemap.c)',
  expected: NO_WAIT_BREAKS,
  reasoning: 'once folio_migrate_mapping() gave the range\'s slots to the new folio the old one is out of the page cache and about '
    + 'to be freed: the fault that mapped it by the PMD ends up with a PMD to a folio that is not the page cache\'s '
    + '(MIGRATE-ENTRY, MAP-CACHE), then to a freed one (FREE-BAD, REF-COUNT)',
  hidden: true,
  ops: () => ({ migrate: { pmdMigrationEntryWait: pmdMigrationMapsOld } }),
};

registerVariant(pmdMigrationNoWait);

/** Free mode: map-truncate/folios-pmd's roles (PMDs of 8 PTEs, a collapser that brings PMD mappings
 * back) with a migrator, in the matrix's 4 workers. */
const FREE = { workers: 4, extra: { pmd: 'on', 'readahead-order': 'uniform', roles: 'migrator,faulter,truncator+mapper,reader+zapper+reclaimer+collapser' } } as const;
/**
 * Controlled mode: PMDs of 2 PTEs (PMD-sized folios of order 1, which readahead's uniform draw makes
 * often), one 4-page file in one VMA, a faulter that maps PMDs (fault-around at a folio's head:
 * filemap_map_pmd()) and meets the migrator's entries, and a zapper / collapser that clears them and
 * maps PMDs again.
 */
const CONTROLLED = {
  workers: 3, opsPerActor: 4, strategy: 'random',
  extra: { 'ptes-per-ptl': 2, files: 1, 'file-pages': 4, processes: 1, vmas: 1, roles: 'migrator,faulter+reader,faulter+zapper+collapser' },
} as const;
const SOURCE = '6.6 mm/rmap.c try_to_migrate_one() (the !pvmw.pte case), mm/huge_memory.c set_pmd_migration_entry() / '
  + 'remove_migration_pmd() / zap_huge_pmd() / __split_huge_pmd_locked(), mm/migrate.c remove_migration_pte() / '
  + 'pmd_migration_entry_wait(), mm/memory.c __handle_mm_fault() (is_pmd_migration_entry)';

export const PMD_MIGRATE_CELLS: readonly CellSpec[] = [
  ...lockNames().map((lock): CellSpec => ({
    name: `map-truncate/folios-pmd-migrate=${lock}`, scenario: 'map-truncate',
    cfg: { lock, ...otherInvariantsUnfairness(lock), variants: ['folio-eof-clamp'], ...FREE }, controlled: CONTROLLED, expected: 'clean',
    reasoning: 'a PMD migration entry replaces the huge PMD under the PMD lock with the folio locked and referenced by the migrator, '
      + 'dropping the PMD\'s entire mapcount and reference; a faulter queues on the folio lock under the PMD lock before it lets go of '
      + 'it, a zap clears the entry (it held nothing), and remove_migration_pmd() maps the new folio (or the old, on failure) by the '
      + 'PMD under the PMD lock before the migrator unlocks: under every lock algorithm',
    source: SOURCE,
  })),
  {
    name: 'map-truncate/pmd-migration-no-wait', scenario: 'map-truncate', cfg: { variants: ['pmd-migration-no-wait', 'folio-eof-clamp'], ...FREE },
    controlled: CONTROLLED, expected: { breaks: NO_WAIT_BREAKS }, hidden: true,
    reasoning: pmdMigrationNoWait.reasoning!, source: 'src/variants/mutants/pmd-migrate-mutants.ts',
  },
];
