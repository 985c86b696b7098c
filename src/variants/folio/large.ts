// Large folios beyond the fault and truncate paths: reclaim (src/mm/vmscan.ts) and migration
// (src/mm/migrate.ts) of a whole folio, and readahead that grows folios (src/mm/filemap.ts
// raFolioOrder()). The self-test mutants of the reclaim and migration families, registered hidden
// (--variant NAME accepts them), and the matrix cells (LARGE_FOLIO_CELLS, registered by
// src/matrix): large-folio reclaim and migration clean under every public lock algorithm, readahead
// growth against the uniform draw, and each mutant with what it must trip.
import { registerVariant, type Variant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { pteLock, pteUnlock } from '../../mm/pgtable.ts';
import { vmasOfFile } from '../../mm/rmap.ts';
import { iSizeRead, maxIndex, pageFile } from '../../shm/files.ts';
import { VM_FAULT_LOCKED, VM_FAULT_NOPAGE, type VmFault } from '../../kernel/fault.ts';
import { isMigrationEntry, mkPte, ptePfn, pteRead, pteWrite, vmaContains } from '../../shm/mm.ts';
import { getPage } from '../../shm/page.ts';
import { PTE_DIRTY, PTE_WRITE } from '../../shm/shm.ts';
import { lockNames, otherInvariantsUnfairness } from '../../locks/index.ts';
import { writebackSubmitBatch, writepageStart, type WritebackIo } from '../../mm/writeback.ts';
import { folioEofClamp } from './index.ts';
import { WB_PMD_CONTROLLED_ROLES, WB_PMD_FREE_ROLES } from '../mutants/pmd-mkclean-mutants.ts';

/**
 * shrink_folio_list() that frees a reclaimed large folio as a single page: __remove_mapping() is
 * done right (refcount frozen at 1 + nr, every slot emptied), then the head goes back to the
 * allocator at order 0 (free_unref_page(&folio->page, 0) instead of the folio's order), the way a
 * caller that forgets the folio's order frees it. The tail pages are then in no folio and on no
 * free list: lost to the allocator, and a later block that reuses the head makes them tails of a
 * page that is not their head.
 */
export const reclaimLargeFreeHead: Variant = {
  name: 'reclaim-large-free-head',
  kind: 'variant',
  summary: 'self-test: reclaim frees a large folio as its head page alone (order 0), not at the folio\'s order',
  source: 'mutant of shrink_folio_list() / free_unref_folios() (6.6 mm/vmscan.c, mm/page_alloc.c: a folio is freed at its order)',
  expected: ['FREE-BAD', 'REF-COUNT'],
  reasoning: 'the folio\'s tail pages are neither free nor in any folio once its head is freed as a single page: the whole-state '
    + 'check finds tails outside any folio and unreferenced pages never freed (FREE-BAD, REF-COUNT)',
  hidden: true,
  ops: (base) => ({
    reclaim: {
      *removeMapping(t: Task, pfn: number, file: number): Step<boolean> {
        const order = t.shm.compound[pfn];
        const ok = yield* base.reclaim.removeMapping(t, pfn, file);
        if (ok && order > 0) t.shm.compound[pfn] = 0; // BUG (deliberate): the folio's order is forgotten before the free
        return ok;
      },
    },
  }),
};

/**
 * remove_migration_ptes() that restores, in each VMA, the migration entry of the folio's first
 * page only, as if page_vma_mapped_walk() stopped after one PTE (the walk of an order-0 page): the
 * entries of the other pages keep naming the old folio, which is freed once the migrator puts it.
 */
function* removeMigrationPtesHead(t: Task, src: number, dst: number): Step {
  const shm = t.shm;
  const file = pageFile(shm, dst), index = Atomics.load(shm.index, dst);
  t.page = dst;
  t.aux = index;
  yield 'i_mmap_lock_read';
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaContains(shm, vma, index)) continue; // BUG (deliberate): only the PTE of the folio's first index
    const ptl = yield* pteLock(t, vma, index);
    const pte = pteRead(shm, vma, index);
    if (isMigrationEntry(pte) && ptePfn(pte) === src) {
      getPage(shm, dst);
      yield* t.ops.rmap.pageAddRmap(t, dst);
      yield 'set_pte_at';
      pteWrite(shm, vma, index, mkPte(dst, pte & (PTE_WRITE | PTE_DIRTY)));
    }
    pteUnlock(t, ptl);
  }
}

export const migrateLargeRestoreHead: Variant = {
  name: 'migrate-large-restore-head',
  kind: 'variant',
  summary: 'self-test: remove_migration_ptes() of a large folio restores the entries of its first page only',
  source: 'mutant of remove_migration_ptes() / remove_migration_pte() (6.6 mm/migrate.c: "while (page_vma_mapped_walk(&pvmw))" over every PTE of the folio)',
  expected: ['MIGRATE-ENTRY'],
  reasoning: 'the entries of the folio\'s other pages still name the old folio when the migrator unlocks and frees it: its own '
    + 'check before the unlock (and the whole-state check: an entry naming a free or unlocked page) sees MIGRATE-ENTRY',
  hidden: true,
  // wraps the entry below it for order-0 folios
  ops: (base) => ({
    migrate: {
      *removeMigrationPtes(t: Task, src: number, dst: number): Step {
        if (t.shm.compound[dst] === 0) return yield* base.migrate.removeMigrationPtes(t, src, dst);
        return yield* removeMigrationPtesHead(t, src, dst);
      },
    },
  }),
};

/**
 * filemap_page_mkwrite() that treats a page at or beyond EOF as truncated: under the folio lock,
 * after the mapping re-check, "if (index >= DIV_ROUND_UP(i_size, PAGE_SIZE)) return
 * VM_FAULT_NOPAGE" (the fault is retried and filemap_fault() answers SIGBUS). v6.6's generic
 * filemap_page_mkwrite() re-checks only folio->mapping: that suffices for an order-0 page, which
 * truncation removes under its lock, but a dirty large folio that straddles the new EOF and cannot
 * be split stays whole in the page cache (truncate_inode_partial_folio(): "if
 * (folio_test_dirty(folio)) return false"), so a write fault that passed filemap_fault()'s i_size
 * check before the truncation maps its page past EOF after the truncation's unmaps. Filesystems
 * with large folios close this with their own ->page_mkwrite under the invalidate lock (xfs:
 * XFS_MMAPLOCK_SHARED against truncation's XFS_MMAPLOCK_EXCL) or folio_mkwrite_check_truncate(),
 * which the model does not have; the check here is the per-page form of the latter.
 */
export const folioMkwriteEof: Variant = {
  name: 'folio-mkwrite-eof',
  kind: 'variant',
  summary: 'filemap_page_mkwrite() re-checks i_size under the folio lock: a page at or past EOF is VM_FAULT_NOPAGE (v6.6 checks only folio->mapping)',
  source: 'mm/filemap.c filemap_page_mkwrite() with the check of include/linux/pagemap.h folio_mkwrite_check_truncate(), per page',
  expected: 'clean',
  reasoning: 'the i_size read under the folio lock is either the old size, and truncation\'s second unmap (after it has had the '
    + 'folio lock in truncate_inode_pages_range()) removes the PTE, or the new one, and the page past EOF is not mapped',
  ops: (base) => ({
    vmOps: {
      *pageMkwrite(t: Task, vmf: VmFault, pfn: number): Step<number> {
        const ret = yield* base.vmOps.pageMkwrite(t, vmf, pfn);
        if (!(ret & VM_FAULT_LOCKED)) return ret;
        t.page = pfn;
        yield 'i_size_read';
        if (vmf.index < maxIndex(iSizeRead(t.shm, vmf.file))) return ret;
        yield* t.ops.lock.unlockPage(t, pfn);
        return VM_FAULT_NOPAGE;
      },
    },
  }),
};

/**
 * write_cache_pages() that walks a large folio index by index instead of going on after it: the
 * folio it has just put under writeback (its bio not yet submitted: the batch completes at the
 * end) comes up again at its next index; if a writer dirtied it meanwhile, the writeback locks it
 * and, WB_SYNC_ALL, waits for its writeback: its own I/O, which only it can end.
 */
function* writeCachePagesPerIndex(t: Task, file: number, start: number, end: number): Step<number> {
  const batch: { io: WritebackIo; index: number }[] = [];
  for (let index = start; index < end; index++) {
    const io = yield* writepageStart(t, file, index); // BUG (deliberate): no "index = folio->index + nr"
    if (typeof io !== 'string') batch.push({ io, index });
  }
  return yield* writebackSubmitBatch(t, file, batch);
}

export const wbLargePerIndex: Variant = {
  name: 'wb-large-per-index',
  kind: 'variant',
  summary: 'self-test: write_cache_pages() walks a large folio page by page, meeting the folio it put under writeback again',
  source: 'mutant of write_cache_pages() (6.6 mm/page-writeback.c: filemap_get_folios_tag() hands each folio once; the walk goes on after it)',
  expected: ['DEADLOCK', 'HUNG'],
  reasoning: 'a folio re-dirtied between two of its indices is locked again and waited on for the writeback the same task '
    + 'started and ends only after its loop: the task waits for itself (DEADLOCK in the wait-for graph, HUNG in free mode)',
  hidden: true,
  ops: () => ({ writeback: { writeCachePages: writeCachePagesPerIndex } }),
};

for (const v of [reclaimLargeFreeHead, migrateLargeRestoreHead, folioMkwriteEof, wbLargePerIndex]) registerVariant(v);

/** Large folios up to order 3, readahead growing them (the default --readahead-order), the range
 * clamped at EOF (folio-eof-clamp: v6.6 maps a folio past EOF, src/variants/folio/index.ts). */
const FOLIOS = { 'max-folio-order': 3 } as const;
/** Free mode: a migrator and a reclaimer against faulters (readahead adds the folios), truncation
 * and mappers. */
const FREE_ROLES = 'migrator,faulter,truncator+mapper,reader+zapper+reclaimer';
/** Controlled mode: one file of eight pages, so the migrator and the reclaimer meet the folios the
 * faulter reads ahead and maps. */
const CONTROLLED = {
  workers: 3, opsPerActor: 4, strategy: 'random',
  extra: { ...FOLIOS, roles: 'migrator+reclaimer,faulter+reader,truncator+zapper+mapper', files: 1, 'file-pages': 8 },
} as const;
const SOURCE = '6.6 mm/vmscan.c shrink_folio_list() / __remove_mapping(), mm/migrate.c migrate_pages_batch() / '
  + 'folio_migrate_mapping() / remove_migration_ptes() / try_split_folio(), mm/rmap.c rmap_walk_file(), mm/readahead.c page_cache_ra_order()';

const WB_SOURCE = '6.6 mm/page-writeback.c write_cache_pages() / folio_clear_dirty_for_io(), mm/rmap.c folio_mkclean(), '
  + 'mm/memory.c wp_page_shared(), mm/truncate.c truncate_inode_partial_folio()';

export const LARGE_FOLIO_CELLS: readonly CellSpec[] = [
  ...lockNames().map((lock): CellSpec => ({
    name: `map-truncate/folios-reclaim-migrate=${lock}`, scenario: 'map-truncate',
    cfg: { lock, ...otherInvariantsUnfairness(lock), workers: 4, variants: ['folio-eof-clamp'], extra: { ...FOLIOS, roles: FREE_ROLES } }, controlled: CONTROLLED,
    expected: 'clean', source: `${SOURCE}; ${folioEofClamp.source}`,
    reasoning: 'a large folio is reclaimed or migrated whole under its one lock: every PTE of every page unmapped or turned into a '
      + 'migration entry, the refcount frozen at 1 + nr (any other pin makes it back out), every slot of its range changed '
      + 'under the i_pages lock, every entry restored before the unlock, and the old folio freed at its order',
  })),
  {
    name: 'map-truncate/folios-readahead-uniform', scenario: 'map-truncate',
    cfg: { workers: 4, variants: ['folio-eof-clamp'], extra: { ...FOLIOS, 'readahead-order': 'uniform' } },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: folioEofClamp.source,
    reasoning: 'the order readahead asks for changes only the folio sizes the other paths meet: a uniform draw per fault '
      + '(the op stream\'s) is as clean as v6.6\'s growth',
  },
  // writeback with large folios (src/mm/writeback.ts): v6.6 as it is maps a written page past EOF
  // through a dirty folio truncation could not split (folio-mkwrite-eof above); with the per-page
  // i_size check in ->page_mkwrite and the map_pages clamp, clean under each public lock
  {
    name: 'writeback/folios-6.6-mkwrite-beyond-eof', scenario: 'writeback',
    cfg: { workers: 4, variants: ['folio-eof-clamp'], extra: FOLIOS },
    // explore --scenario writeback --max-folio-order 3 --variant folio-eof-clamp --strategy portfolio finds MAP-EOF at
    // iterations 72 / 1,208 / 10,066 (seeds 1-3; PCT at depth 5 twice, the random walk once): longer than a matrix
    // share on some seeds, so the cell is open and reports what it saw; free mode saw nothing in its runs
    controlled: { workers: 4, opsPerActor: 4, strategy: 'portfolio' }, expected: 'open', modes: ['controlled'],
    source: `${WB_SOURCE}; ${folioMkwriteEof.source}`,
    reasoning: 'a writer whose fault passed filemap_fault()\'s i_size check holds a reference, so truncation cannot split the dirty '
      + 'folio that straddles the new EOF and keeps it whole; v6.6 filemap_page_mkwrite() re-checks only folio->mapping, and '
      + 'finish_fault() maps the page past EOF after the truncation\'s unmaps (MAP-EOF)',
  },
  ...lockNames().map((lock): CellSpec => ({
    name: `writeback/folios=${lock}`, scenario: 'writeback',
    cfg: { lock, ...otherInvariantsUnfairness(lock), workers: 4, variants: ['folio-eof-clamp', 'folio-mkwrite-eof'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: `${WB_SOURCE}; ${folioMkwriteEof.source}`,
    reasoning: 'a large folio is dirtied from a PTE of any of its pages (folio_mark_dirty() on the folio), written back whole '
      + '(page_mkclean() of every page under the folio lock, PG_writeback on the folio), and truncation and reclaim wait for '
      + 'or skip it as for a single page; ' + folioMkwriteEof.reasoning,
  })),
  {
    name: 'writeback/wb-large-per-index', scenario: 'writeback',
    cfg: { workers: 4, variants: ['wb-large-per-index', 'folio-eof-clamp', 'folio-mkwrite-eof'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: { breaks: wbLargePerIndex.expected as readonly InvariantId[] },
    hidden: true, source: wbLargePerIndex.source, reasoning: wbLargePerIndex.reasoning!,
  },
  {
    name: 'map-truncate/reclaim-large-free-head', scenario: 'map-truncate',
    cfg: { workers: 4, variants: ['reclaim-large-free-head', 'folio-eof-clamp'], extra: { ...FOLIOS, roles: FREE_ROLES } },
    controlled: CONTROLLED, expected: { breaks: reclaimLargeFreeHead.expected as readonly InvariantId[] }, hidden: true,
    source: reclaimLargeFreeHead.source, reasoning: reclaimLargeFreeHead.reasoning!,
  },
  {
    name: 'map-truncate/migrate-large-restore-head', scenario: 'map-truncate',
    cfg: { workers: 4, variants: ['migrate-large-restore-head', 'folio-eof-clamp'], extra: { ...FOLIOS, roles: FREE_ROLES } },
    controlled: CONTROLLED, expected: { breaks: migrateLargeRestoreHead.expected as readonly InvariantId[] }, hidden: true,
    source: migrateLargeRestoreHead.source, reasoning: migrateLargeRestoreHead.reasoning!,
  },
];

// writeback --pmd on (6.6): read faults map PMD-sized folios by read-only huge PMDs, a shared write
// fault at a folio's head on a none PMD by a writable, dirty one (do_set_pmd() after page_mkwrite),
// and the write paths meet them: a store through a writable PMD sets its dirty bit, through a
// read-only one it faults and wp_huge_pmd() splits the PMD (cleared for a file VMA, its dirty bit
// handed to the folio) and goes on at the PTE level; page_mkclean() write-protects and cleans it
// under the PMD lock; GUP follows it for a read, and for FOLL_WRITE while it is writable; reclaim
// splits it (TTU_SPLIT_HUGE_PMD); truncation and zaps clear it. Clean only with folio-mkwrite-eof,
// as writeback/folios=<lock> (the 6.6 mkwrite finding above). A table installed in a PMD range
// stays until munmap (6.6 frees none on a zap, and collapses no file open for write), so free mode
// in the default mix maps PMDs in a run's first operations only, if at all (10 s, seed 1: none),
// so it adds the unmapper of WB_PMD_FREE_ROLES, which frees tables and brings PMDs back. (One 60 s
// run of it had ended in FREE-BAD / REF-COUNT: the lockless lookup's folio_try_get() pinned the
// folio around a stale pfn, src/shm/page.ts pageTryGet(), a model bug, not a PMD one.) Controlled
// mode starts every iteration with no table, keeps the default mix, and reaches the PMD paths,
// writable ones included (finish-fault-nonull: PTE-TABLE at iteration 3, random walk, seed 1;
// pmd-mkclean-skip: WB-MKCLEAN at iterations 5, 29, 59, seeds 1-3).
const WB_PMD_SOURCE = `${WB_SOURCE}, mm/memory.c wp_huge_pmd() / do_set_pmd(), mm/huge_memory.c __split_huge_pmd() / `
  + 'follow_trans_huge_pmd() / zap_huge_pmd(), mm/rmap.c page_vma_mkclean_one()';

export const WRITEBACK_PMD_CELLS: readonly CellSpec[] = lockNames().map((lock): CellSpec => ({
  name: `writeback/folios-pmd=${lock}`, scenario: 'writeback',
  cfg: { lock, ...otherInvariantsUnfairness(lock), workers: 4, variants: ['folio-eof-clamp', 'folio-mkwrite-eof'], extra: { pmd: 'on', roles: WB_PMD_FREE_ROLES } },
  controlled: { workers: 4, opsPerActor: 4, strategy: 'random', extra: { roles: WB_PMD_CONTROLLED_ROLES } }, expected: 'clean', source: `${WB_PMD_SOURCE}; ${folioMkwriteEof.source}`,
  reasoning: 'a huge PMD is made writable only by a shared write fault, under the folio lock after page_mkwrite dirtied the folio, '
    + 'and page_mkclean() write-protects and cleans it under the PMD lock before writeback clears PG_dirty (WB-MKCLEAN); a store '
    + 'through a read-only PMD faults and splits it under the PMD lock before the write goes on at the PTE level; a split hands the '
    + 'dirty bit to the folio, and the entire mapcount drops under the PMD lock before truncation can delete the folio',
}));
