// Page migration (src/mm/migrate.ts, v6.6): its self-test mutant, registered hidden (--variant NAME
// accepts it), and the matrix cells (MIGRATE_CELLS, registered by src/matrix): migration clean under
// each public lock algorithm, and the mutant with what it must trip.
//
// migrate-wait-maps-old: a fault that meets a migration entry does not wait for the migration: it
// takes the entry for the page it names and maps that page again (a reference and a mapcount, as
// do_set_pte() would), without the page lock. Before folio_migrate_mapping() the refcount freeze
// sees the extra reference and the migration backs out (-EAGAIN): harmless. After it, the old page
// has left the page cache (the new one is in its slot) and is freed once the migrator puts it:
// the faulter maps a page that is not the page cache's (MIGRATE-ENTRY at the faulter, MAP-CACHE),
// then a freed one (FREE-BAD, REF-COUNT), and readers see stale data (DATA-STAMP).
import { registerVariant, type Variant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { pteLock, pteUnlock } from '../../mm/pgtable.ts';
import { isMigrationEntry, mkPte, ptePfn, pteRead, pteWrite } from '../../shm/mm.ts';
import { getPage } from '../../shm/page.ts';
import { PTE_DIRTY, PTE_WRITE } from '../../shm/shm.ts';
import { lockNames } from '../../locks/index.ts';

const MAPS_OLD_BREAKS: readonly InvariantId[] = ['MIGRATE-ENTRY', 'MAP-CACHE', 'FREE-BAD', 'REF-COUNT', 'MAP-COUNT', 'DATA-STAMP', 'DEL-LOCKED'];

function* migrationEntryMapsOld(t: Task, vma: number, index: number): Step {
  const shm = t.shm;
  t.page = -1;
  t.aux = index;
  const ptl = yield* pteLock(t, vma, index);
  yield 'is_migration_entry';
  const pte = pteRead(shm, vma, index);
  if (isMigrationEntry(pte)) {
    // BUG (deliberate): no migration_entry_wait_on_locked(): the entry's pfn is mapped as it is
    const old = ptePfn(pte);
    t.page = old;
    getPage(shm, old);
    yield* t.ops.rmap.pageAddRmap(t, old);
    yield 'set_pte_at';
    pteWrite(shm, vma, index, mkPte(old, pte & (PTE_WRITE | PTE_DIRTY)));
  }
  pteUnlock(t, ptl);
}

export const migrateWaitMapsOld: Variant = {
  name: 'migrate-wait-maps-old',
  kind: 'variant',
  summary: 'self-test: a fault meeting a migration entry maps the old page it names instead of waiting for the migration',
  source: 'mutant of migration_entry_wait() / migration_entry_wait_on_locked() (6.6 mm/migrate.c, mm/filemap.c; ffa65753c431)',
  expected: MAPS_OLD_BREAKS,
  reasoning: 'once folio_migrate_mapping() gave the slot to the new page the old one is out of the page cache and about to be '
    + 'freed: the fault that mapped it ends up with a PTE to a page that is not the page cache\'s (MIGRATE-ENTRY, MAP-CACHE), '
    + 'then to a freed page (FREE-BAD, REF-COUNT)',
  hidden: true,
  ops: () => ({ migrate: { migrationEntryWait: migrationEntryMapsOld } }),
};

registerVariant(migrateWaitMapsOld);

/** Free mode: the migrator against faulters (which meet its entries), truncation (which zaps them)
 * and the rest of map-truncate's roles. */
const FREE = { workers: 4, extra: { roles: 'migrator,faulter,truncator+mapper,reader+zapper+reclaimer' } } as const;
/** Controlled mode: one file of four pages, so the faulter meets the migrator's entries. */
const CONTROLLED = {
  workers: 3, opsPerActor: 4, strategy: 'random',
  extra: { roles: 'migrator,faulter+reader,truncator+zapper', files: 1, 'file-pages': 4 },
} as const;
const SOURCE = '6.6 mm/migrate.c migrate_pages_batch() / migrate_folio_unmap() / migrate_folio_move() / folio_migrate_mapping() / '
  + 'remove_migration_ptes(), mm/rmap.c try_to_migrate(), mm/filemap.c migration_entry_wait_on_locked() (ffa65753c431)';

export const MIGRATE_CELLS: readonly CellSpec[] = [
  ...lockNames().map((lock): CellSpec => ({
    name: `map-truncate/migrate-${lock}`, scenario: 'map-truncate', cfg: { lock, ...FREE }, controlled: CONTROLLED, expected: 'clean',
    reasoning: 'a migration entry lives only while the migrator holds the old page locked and referenced; a faulter queues on that '
      + 'lock under the PTL before it lets go of the PTL, and the refcount freeze makes the migration back out while anybody else '
      + 'holds a reference: no task maps the old page once it left the page cache, under every lock algorithm',
    source: SOURCE,
  })),
  {
    // dirty pages, writeback and pins: MIGRATE_SYNC waits for writeback under the page lock,
    // MIGRATE_ASYNC gives up (-EBUSY); a writable PTE's entry keeps its write and dirty bits; PG_dirty
    // moves to the new page; a pin (get_user_pages()) makes the refcount freeze fail
    name: 'writeback/migrate', scenario: 'writeback',
    cfg: { workers: 4, extra: { roles: 'migrator,writer+pinner,writeback+fsync,truncator+reclaimer+reader' } },
    controlled: { workers: 3, opsPerActor: 4, strategy: 'random', extra: { roles: 'migrator,writer+pinner+fsync,writeback+reclaimer', files: 1, 'file-pages': 4 } },
    expected: 'clean',
    reasoning: 'a page under writeback is migrated only once its I/O ended (waited for under the page lock, or skipped); its dirty '
      + 'state moves with the page-cache slot while the refcount is frozen, and a pinned page is not migrated (the freeze fails)',
    source: SOURCE,
  },
  {
    name: 'map-truncate/migrate-wait-maps-old', scenario: 'map-truncate', cfg: { variants: ['migrate-wait-maps-old'], ...FREE },
    controlled: CONTROLLED, expected: { breaks: MAPS_OLD_BREAKS }, hidden: true,
    reasoning: migrateWaitMapsOld.reasoning!, source: 'src/variants/mutants/migrate-mutants.ts',
  },
];
