// PTE tables allocated on demand (--pte-alloc, src/mm/pgtable.ts) and freed again by the unmapper
// (src/mm/mmap.ts), allocation falling into direct reclaim, GUP's FOLL_NOWAIT fault (FAULT_FLAG_RETRY_NOWAIT), and the lockless dirtying and
// rmap walk of reclaim caught in both modes: their self-test mutants, registered hidden (--variant
// NAME accepts them), and the matrix cells (PTE_ALLOC_CELLS, registered by src/matrix): each
// mutant with what it must trip, and each setting clean on mainline under every public lock.
import { registerVariant } from '../registry.ts';
import { lockNames, otherInvariantsUnfairness } from '../../locks/index.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import { pteAllocUnderLock } from './pte-alloc-under-lock.ts';
import { pmdInstallNoRecheckMutant } from './pmd-install-norecheck.ts';
import { rmapUnmapStalePte } from './rmap-unmap-stale-pte.ts';
import { reclaimNoDirtyRecheck } from './reclaim-nodirty-recheck.ts';
import { munmapReadLocked } from './munmap-read-locked.ts';

registerVariant(pteAllocUnderLock);
registerVariant(pmdInstallNoRecheckMutant);
registerVariant(rmapUnmapStalePte);
registerVariant(munmapReadLocked);

/** map-truncate with the mm starting without PTE tables, mainline user faults (ALLOW_RETRY |
 * KILLABLE, no killer: no wait is interrupted) and a GUP FOLL_NOWAIT caller; 40 pages (20 cached
 * at the start) so that COW copies, page-cache refills and tables empty the free list and
 * allocations enter direct reclaim. */
const MT_PTE = {
  workers: 4, pages: 40,
  extra: { 'pte-alloc': true, 'fault-retry': true, 'killable-faults': true, roles: 'mapper,faulter+gup,truncator,reader+zapper+reclaimer' },
} as const;
const MT_PTE_CONTROLLED = { workers: 3, opsPerActor: 4, extra: { roles: 'mapper+gup,faulter,truncator+reader+zapper+reclaimer' } } as const;
const MT_PTE_SOURCE = '6.6 mm/memory.c do_fault_around(), __do_fault(), finish_fault(), pmd_install(), __pte_alloc(); mm/gup.c faultin_page() (FOLL_NOWAIT)';

/** writeback with no PTE tables and 6 pages for a 4-page file: 3 free, 4 tables to allocate, so
 * table allocations reach direct reclaim, whose Case 3 waits for the writeback of the writeback
 * actor's batch (--reclaim-wait-writeback, on in this scenario). */
const WB_PTE = { workers: 3, pages: 6, extra: { 'pte-alloc': true, roles: 'writer,writer,writeback', files: 1, 'file-pages': 4 } } as const;
const WB_PTE_CONTROLLED = { workers: 3, opsPerActor: 4 } as const;
const WB_PTE_SOURCE = '63f3655f9501 "mm, memcg: fix reclaim deadlock with writeback" (v4.18); 6.6 mm/memory.c __do_fault(), mm/vmscan.c shrink_folio_list() Case 3';

/**
 * A pinned writer, writeback (with a zapper) and reclaim on one page mapped by three VMAs (two
 * shared, so pins succeed and the rmap walk has more than one VMA to visit). Why the default
 * lockless cells never caught reclaim-nodirty-recheck: its race needs, inside one pin, writeback to
 * clean the page and reclaim to get past its dirty test, and then the pin's owner to dirty and
 * unpin within reclaim's four schedule points before the refcount freeze. A DMA of 8 schedule
 * points is shorter than writeback's and reclaim's paths together (random walk, 3 actors, 20,000
 * iterations, seeds 1-3: no find on the lockless cells' op mix; with --dma-steps 32 the same mix
 * finds it in 6,000-14,000 iterations); and in that mix the pinner, the reclaimer and writeback each
 * share their actor with other roles over four pages. Here: the roles alone on one page, a DMA of
 * 32 steps in controlled mode, and in free mode 1024 steps with the high perturbation (a real
 * transfer lasts long against the CPU paths racing it).
 */
const PIN_RECLAIM = {
  workers: 3, perturb: 'high',
  extra: { roles: 'pinner,writeback+zapper,reclaimer', files: 1, 'file-pages': 1, processes: 1, vmas: 3, 'dma-steps': 1024 },
} as const;
const PIN_RECLAIM_CONTROLLED = { workers: 3, opsPerActor: 4, extra: { 'dma-steps': 32 } } as const;
const PIN_RECLAIM_SOURCE = '6.6 mm/vmscan.c shrink_folio_list() / __remove_mapping(), mm/rmap.c try_to_unmap(), mm/page_vma_mapped.c, mm/gup.c';

/**
 * The same workloads with an unmapper (src/mm/mmap.ts): mmap(MAP_FIXED) of a VMA over itself frees
 * its PTE tables during the run while the page cache keeps the range's small folios, so faults of
 * different folios meet a none PMD again and again (pmd_install()'s window), and in writeback the
 * write faults that must allocate a table meet direct reclaim waiting on writeback. Without it a
 * table is missing only in a free run's first operations (6.6 frees no table on a zap).
 */
const MT_MUNMAP = { ...MT_PTE, extra: { ...MT_PTE.extra, roles: 'mapper+gup,faulter,truncator+reader+zapper+reclaimer,unmapper' } } as const;
const MT_MUNMAP_CONTROLLED = { workers: 4, opsPerActor: 4 } as const;
const WB_MUNMAP = { ...WB_PTE, workers: 4, extra: { ...WB_PTE.extra, roles: 'writer,writer,writeback,unmapper' } } as const;
const WB_MUNMAP_CONTROLLED = { workers: 4, opsPerActor: 4 } as const;
const MUNMAP_SOURCE = '6.6 mm/mmap.c mmap_region() -> do_vmi_munmap() (mmap_lock held for writing) -> unmap_region(); mm/memory.c free_pgtables(), free_pte_range()';
const MUNMAP_REASONING = 'the tables of a VMA are freed with its mm\'s mmap_lock held for writing (no fault walks them) and the file\'s i_mmap '
  + 'lock for writing (no rmap walk is in the VMA), after the zap cleared every PTE; faults meeting the none PMDs afterwards '
  + 'allocate tables again and install them under the page-table lock with the pmd_none() re-check';

const clean = (name: string, scenario: string, cfg: CellSpec['cfg'], controlled: CellSpec['controlled'], reasoning: string, source: string): CellSpec[] =>
  lockNames().map((lock) => ({ name: `${name}=${lock}`, scenario, cfg: { lock, ...otherInvariantsUnfairness(lock), ...cfg }, controlled, expected: 'clean', reasoning, source }));

export const PTE_ALLOC_CELLS: readonly CellSpec[] = [
  ...clean('map-truncate/pte-alloc', 'map-truncate', MT_PTE, MT_PTE_CONTROLLED,
    'faults and fault-around allocate PTE tables before the page lock and install them under the page-table lock with the '
      + 'pmd_none() re-check; allocations that find the free list empty reclaim with no page lock held; a FOLL_NOWAIT fault '
      + 'meeting a locked page returns VM_FAULT_RETRY holding nothing', MT_PTE_SOURCE),
  ...clean('writeback/pte-alloc', 'writeback', WB_PTE, WB_PTE_CONTROLLED,
    'the write faults preallocate their table before __do_fault() locks the page, so direct reclaim waiting for writeback never '
      + 'holds a page lock the writeback actor may be waiting for', WB_PTE_SOURCE),
  ...clean('writeback/pin-reclaim', 'writeback', PIN_RECLAIM, PIN_RECLAIM_CONTROLLED,
    "__remove_mapping() re-tests PG_dirty once the refcount is frozen, so a pin's late set_page_dirty() keeps the page; "
      + 'try_to_unmap() re-checks each PTE under the PTL and stops once nothing maps the page', PIN_RECLAIM_SOURCE),
  {
    name: 'writeback/pte-alloc-under-lock', scenario: 'writeback', cfg: { variants: ['pte-alloc-under-lock'], ...WB_PTE },
    controlled: WB_PTE_CONTROLLED, expected: { breaks: ['DEADLOCK', 'LOCK-ORDER', 'HUNG'] }, hidden: true,
    // free mode meets a missing table only in a run's first operations here (6.6 frees no PTE
    // table on a zap): caught at the start of some runs (seed 1 of 1-3, 10 s). Free mode's cell is
    // writeback/pte-alloc-under-lock-munmap (tables freed by the unmapper during the run)
    modes: ['controlled'],
    reasoning: pteAllocUnderLock.reasoning!, source: WB_PTE_SOURCE,
  },
  {
    name: 'map-truncate/pmd-install-norecheck', scenario: 'map-truncate', cfg: { variants: ['pmd-install-norecheck'], ...MT_PTE },
    controlled: MT_PTE_CONTROLLED, expected: { breaks: ['MAP-COUNT', 'REF-COUNT'] }, hidden: true,
    // as above: two faults racing for one missing table happen only at a free run's start. With
    // --pmd on and the collapser (collapse_pte_mapped_thp() frees tables during the run) free mode
    // still missed it (seeds 1-3, 10 s, three workloads): every installer of a table holds the lock
    // of a folio in that range, and a range whose table went away holds one PMD-sized folio, so
    // installers serialize on its lock; controlled mode finds it there at iterations 832/2,695/1,033.
    // Free mode's cell is map-truncate/pmd-install-norecheck-munmap (the unmapper frees tables while
    // the range holds small folios)
    modes: ['controlled'],
    reasoning: pmdInstallNoRecheckMutant.reasoning!, source: 'mutant of pmd_install() (6.6 mm/memory.c)',
  },
  ...clean('map-truncate/munmap', 'map-truncate', MT_MUNMAP, MT_MUNMAP_CONTROLLED, MUNMAP_REASONING, MUNMAP_SOURCE),
  ...clean('writeback/munmap', 'writeback', WB_MUNMAP, WB_MUNMAP_CONTROLLED, MUNMAP_REASONING, MUNMAP_SOURCE),
  {
    // both modes: the unmapper frees tables while small folios stay cached (bench detect, seeds 1-3:
    // controlled iterations 130/147/26; free 2.21/0.78/2.19 s, load ~16 on 2 cores)
    name: 'writeback/pte-alloc-under-lock-munmap', scenario: 'writeback', cfg: { variants: ['pte-alloc-under-lock'], ...WB_MUNMAP },
    controlled: WB_MUNMAP_CONTROLLED, expected: { breaks: ['DEADLOCK', 'LOCK-ORDER', 'HUNG'] }, hidden: true,
    reasoning: pteAllocUnderLock.reasoning!, source: WB_PTE_SOURCE,
  },
  {
    // both modes (bench detect, seeds 1-3: controlled iterations 38/2/14; free 0.39/0.33/1.03 s, load ~16)
    name: 'map-truncate/pmd-install-norecheck-munmap', scenario: 'map-truncate', cfg: { variants: ['pmd-install-norecheck'], ...MT_MUNMAP },
    controlled: MT_MUNMAP_CONTROLLED, expected: { breaks: ['MAP-COUNT', 'REF-COUNT'] }, hidden: true,
    reasoning: pmdInstallNoRecheckMutant.reasoning!, source: 'mutant of pmd_install() (6.6 mm/memory.c)',
  },
  {
    // bench detect, seeds 1-3: controlled iterations 29/2/13; free 0.17/0.59/0.38 s (load ~16)
    name: 'map-truncate/munmap-read-locked', scenario: 'map-truncate', cfg: { variants: ['munmap-read-locked'], ...MT_MUNMAP },
    controlled: MT_MUNMAP_CONTROLLED, expected: { breaks: ['PTE-TABLE', 'MAP-COUNT', 'REF-COUNT'] }, hidden: true,
    reasoning: munmapReadLocked.reasoning!, source: munmapReadLocked.source,
  },
  {
    name: 'writeback/reclaim-nodirty-recheck', scenario: 'writeback', cfg: { variants: ['reclaim-nodirty-recheck'], ...PIN_RECLAIM },
    controlled: PIN_RECLAIM_CONTROLLED, expected: { breaks: ['RECLAIM-DIRTY'] }, hidden: true,
    reasoning: reclaimNoDirtyRecheck.reasoning!, source: reclaimNoDirtyRecheck.source,
  },
  {
    name: 'writeback/rmap-unmap-stale-pte', scenario: 'writeback', cfg: { variants: ['rmap-unmap-stale-pte'], ...PIN_RECLAIM },
    controlled: PIN_RECLAIM_CONTROLLED, expected: { breaks: ['MAP-COUNT', 'REF-COUNT', 'FREE-BAD', 'DEL-LOCKED', 'MAP-CACHE', 'DATA-STAMP'] },
    hidden: true, reasoning: rmapUnmapStalePte.reasoning!, source: rmapUnmapStalePte.source,
  },
];
