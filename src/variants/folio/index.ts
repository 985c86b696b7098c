// Large folios (--max-folio-order): the self-test mutants of the folio paths, one per function
// family (mapping a folio range, splitting a folio, truncating through one), registered hidden
// (--variant NAME accepts them), and the matrix cells: map-truncate with large folios clean under
// every public lock algorithm, and each mutant with what it must trip.
import { registerVariant, type Variant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { VmFault } from '../../kernel/fault.ts';
import { VM_FAULT_FALLBACK, VM_FAULT_NOPAGE } from '../../kernel/fault.ts';
import { PMD_NONE, pmdLock, pmdUnlock, pteLock, pteUnlock } from '../../mm/pgtable.ts';
import { putPage } from '../../mm/page_alloc.ts';
import { finishFaultPmd } from '../../mm/memory.ts';
import { hugePmdPfn, pmdTransHuge, ptlSlot } from '../../shm/mm.ts';
import { folioRefAdd } from '../../shm/page.ts';
import { pteNone, pteRead } from '../../shm/mm.ts';
import { PAGE_SIZE, iSizeRead, maxIndex } from '../../shm/files.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import { lockNames, otherInvariantsUnfairness } from '../../locks/index.ts';

/**
 * filemap_map_folio_range() that takes one folio reference for a whole run of PTEs instead of one
 * per PTE (folio_ref_add(folio, 1) for `count`): the 5.12 order-0 habit, "the lookup reference
 * passes to the PTE", carried over to a range. Zapping those PTEs puts one reference each, so the
 * folio's count falls below its users and it is freed while still mapped and cached.
 */
function* mapFolioRangeOneRef(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step<number> {
  const shm = t.shm;
  let ret = 0;
  for (let index = from, count = 0; index <= from + nr; index++) {
    let none = false;
    if (index < from + nr) {
      t.aux = index;
      yield 'pte_none';
      none = pteNone(pteRead(shm, vmf.vma, index));
    }
    if (none) {
      count++;
      continue;
    }
    if (count) {
      yield* t.ops.vmOps.setPteRange(t, vmf, folio, index - count, count);
      yield 'folio_ref_add';
      folioRefAdd(shm, folio, 1); // BUG (deliberate): one reference for `count` PTEs
      if (vmf.index >= index - count && vmf.index < index) ret = VM_FAULT_NOPAGE;
      count = 0;
    }
  }
  return ret;
}

export const folioMapOneRef: Variant = {
  name: 'folio-map-one-ref',
  kind: 'variant',
  summary: 'self-test: filemap_map_folio_range() takes one folio reference for a run of PTEs, not one per PTE',
  source: 'mutant of filemap_map_folio_range() (6.6 mm/filemap.c: folio_ref_add(folio, count))',
  expected: ['REF-COUNT', 'FREE-BAD', 'MAP-CACHE', 'MAP-COUNT', 'DATA-STAMP', 'DEL-LOCKED'],
  reasoning: 'each zapped PTE puts a reference the mapping never took: the folio\'s refcount falls below its page-cache and PTE '
    + 'users (REF-COUNT at the next quiescent check) and it is freed while still cached or mapped (FREE-BAD)',
  hidden: true,
  ops: () => ({ vmOps: { filemapMapFolioRange: mapFolioRangeOneRef } }),
};

/**
 * split_huge_page_to_list() without folio_ref_freeze(): the refcount is set to 0 whatever it is,
 * as if the freeze had succeeded. A lookup that pinned the folio since can_split_folio() (a
 * mapper's next_uptodate_folio(), a fault's filemap_get_entry()) then holds a reference the split
 * does not know of: its folio_put() takes the head below its page-cache and caller references.
 */
function* splitFreezeIgnoringPins(t: Task, pfn: number, _count: number): Step<boolean> {
  Atomics.store(t.shm.refcount, pfn, 0); // BUG (deliberate): no compare: pins taken meanwhile are lost
  return true;
}

export const folioSplitNoFreeze: Variant = {
  name: 'folio-split-nofreeze',
  kind: 'variant',
  summary: 'self-test: split_folio() without the refcount freeze (pins taken since can_split_folio() are overwritten)',
  source: 'mutant of split_huge_page_to_list() (6.6 mm/huge_memory.c: folio_ref_freeze(folio, 1 + extra_pins))',
  expected: ['REF-COUNT', 'FREE-BAD', 'MAP-CACHE', 'MAP-COUNT', 'DATA-STAMP', 'DEL-LOCKED'],
  reasoning: 'a lookup that pinned the folio while truncation split it drops a reference the split overwrote: the head\'s count '
    + 'goes below its users (REF-COUNT) or to zero while it is cached, and the page is freed and reused under the page cache (FREE-BAD)',
  hidden: true,
  ops: () => ({ truncate: { splitFreeze: splitFreezeIgnoringPins } }),
};

/**
 * truncate_inode_partial_folio() that zeroes the tail of a large folio but neither splits it nor
 * removes it: what 6.6 does with a dirty folio whose split failed, here for every large folio.
 * The folio then straddles EOF with pages beyond it in the page cache, and v6.6
 * filemap_map_pages() checks only the first index it finds against i_size (next_uptodate_folio())
 * before mapping the rest of the folio's range: PTEs beyond EOF, and a fault beyond EOF that
 * fault-around satisfies instead of SIGBUS.
 */
function* partialFolioKeep(t: Task, pfn: number, lstart: number): Step<boolean> {
  const shm = t.shm;
  yield* t.ops.lock.waitOnPageWriteback(t, pfn);
  const first = Atomics.load(shm.index, pfn), nr = 1 << shm.compound[pfn];
  for (let i = 0; i < nr; i++) {
    const offset = Math.max(0, lstart - (first + i) * PAGE_SIZE);
    if (offset < PAGE_SIZE && shm.stampEnd[pfn + i] > offset) shm.stampEnd[pfn + i] = offset;
  }
  return false; // BUG (deliberate): kept whole, as a dirty folio that could not be split
}

export const folioPartialKeep: Variant = {
  name: 'folio-partial-keep',
  kind: 'variant',
  summary: 'self-test: truncation keeps a large folio that straddles the new EOF whole (no split, no removal)',
  source: 'mutant of truncate_inode_partial_folio() (6.6 mm/truncate.c: the dirty folio whose split_folio() failed)',
  expected: ['MAP-EOF', 'FAULT-SIGBUS'],
  reasoning: 'pages beyond EOF stay cached in a folio that begins before it; v6.6 filemap_map_pages() maps the folio\'s range '
    + 'after checking only its first index against i_size, so PTEs appear beyond EOF with no truncation in flight (MAP-EOF) and '
    + 'fault-around answers a fault beyond EOF that must be SIGBUS (FAULT-SIGBUS)',
  hidden: true,
  // wraps the entry below it for order-0 pages
  ops: (base) => ({
    truncate: {
      *truncateInodePartialFolio(t: Task, pfn: number, lstart: number): Step<boolean> {
        if (t.shm.compound[pfn] === 0) return (yield* base.truncate.truncateInodePartialFolio(t, pfn, lstart)) !== false;
        return yield* partialFolioKeep(t, pfn, lstart);
      },
    },
  }),
};

/**
 * filemap_map_pages() that does not map a folio's pages at or beyond EOF: the range is clamped to
 * i_size as upstream did in 2025 ("mm/memory: do not populate page table entries beyond i_size":
 * "file_end = DIV_ROUND_UP(i_size_read(mapping->host), PAGE_SIZE) - 1", end_pgoff clamped to it).
 * v6.6 checks only the first index it finds in a folio against i_size (next_uptodate_folio()), so a
 * folio that reaches past EOF — readahead sized it from an i_size it read before a truncation
 * (page_cache_ra_order() reads it before taking the invalidate lock) — is mapped past EOF.
 */
export const folioEofClamp: Variant = {
  name: 'folio-eof-clamp',
  kind: 'variant',
  summary: 'filemap_map_pages() clamps a folio\'s range at EOF (the 2025 upstream fix; v6.6 checks only the first index)',
  source: 'upstream 2025, "mm/memory: do not populate page table entries beyond i_size" (mm/filemap.c filemap_map_pages())',
  expected: 'clean',
  reasoning: 'no PTE is installed at or beyond the i_size read under the PTL and the folio lock; a truncation still in flight '
    + 'unmaps what was mapped before its i_size write (its second unmap_mapping_range() and split_folio()\'s unmap)',
  ops: (base) => ({
    vmOps: {
      *filemapMapFolioRange(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step<number> {
        yield 'i_size_read';
        const fileEnd = maxIndex(iSizeRead(t.shm, vmf.file));
        return yield* base.vmOps.filemapMapFolioRange(t, vmf, folio, from, Math.max(0, Math.min(nr, fileEnd - from)));
      },
    },
    // --pmd on: the same change keeps a PMD from mapping a folio across i_size ("Do not allow to map
    // with PMD across i_size to preserve SIGBUS semantics": filemap_map_pages() calls
    // filemap_map_pmd() only "if (file_end >= folio_next_index(folio) - 1 ...)", and finish_fault()
    // falls back to a PTE likewise): do_set_pmd() falls back for a folio that reaches past EOF
    fault: {
      *doSetPmd(t: Task, vmf: VmFault, page: number): Step<number> {
        yield 'i_size_read';
        const fileEnd = maxIndex(iSizeRead(t.shm, vmf.file));
        if (Atomics.load(t.shm.index, page) + (1 << Math.max(0, t.shm.compound[page])) > fileEnd) return VM_FAULT_FALLBACK;
        return yield* base.fault.doSetPmd(t, vmf, page);
      },
    },
  }),
};

/**
 * finish_fault() taking the PTL as before 6.5, when pte_offset_map_lock() could not fail: a PMD
 * read as not none before the page lock was taken may have become a huge PMD mapping the folio
 * (filemap_map_pmd() of a mapper that held the folio lock first), and the fault sets a PTE under it.
 * 6.6: "vmf->pte = pte_offset_map_lock(...); if (!vmf->pte) return VM_FAULT_NOPAGE;".
 */
function* finishFaultNoNull(t: Task, vmf: VmFault, pfn: number, anon = false, write = false): Step<number> {
  const shm = t.shm;
  const done = yield* finishFaultPmd(t, vmf, pfn, anon);
  if (done !== null) return done;
  const ptl = yield* pteLock(t, vmf.vma, vmf.index); // BUG (deliberate): no NULL for a huge PMD
  yield 'pte_none';
  let ret = VM_FAULT_NOPAGE;
  if (pteNone(pteRead(shm, vmf.vma, vmf.index))) {
    yield* t.ops.fault.doSetPte(t, vmf, pfn, anon, write);
    ret = 0;
  }
  pteUnlock(t, ptl);
  return ret;
}

export const finishFaultNonull: Variant = {
  name: 'finish-fault-nonull',
  kind: 'variant',
  summary: 'self-test: finish_fault() takes the PTL without pte_offset_map_lock()\'s NULL for a PMD that is no table (--pmd on)',
  source: 'mutant of finish_fault() (6.6 mm/memory.c: "if (!vmf->pte) return VM_FAULT_NOPAGE"; 0d940a9b270b)',
  expected: ['PTE-TABLE', 'MAP-COUNT', 'REF-COUNT', 'FREE-BAD', 'MAP-CACHE', 'DEL-LOCKED'],
  reasoning: 'a fault that waited for the folio lock while a mapper mapped the folio by a PMD sets a PTE in a range the huge PMD '
    + 'maps, where no table is (PTE-TABLE at the set, and at the next quiescent check); that PTE\'s mapping and reference are '
    + 'then counted by nothing a zap of the PMD undoes',
  hidden: true,
  ops: () => ({ fault: { finishFault: finishFaultNoNull } }),
};

/**
 * zap_huge_pmd() that drops the PMD lock as soon as the PMD is clear, before page_remove_rmap():
 * zap_pmd_range()'s take-and-drop of the PMD lock on a none PMD ("so that we cannot return
 * prematurely, while zap_huge_pmd() has cleared *pmd, but not yet decremented compound_mapcount()")
 * then no longer waits for the mapcount, so truncation's unmap_mapping_folio() returns while the
 * folio is still PMD-mapped and deletes it from the page cache.
 */
function* zapHugePmdEarlyUnlock(t: Task, vma: number, index: number): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  t.page = -1;
  t.aux = index;
  const mm = yield* pmdLock(t, vma, 'pmd_trans_huge_lock');
  const pmd = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmd)) {
    pmdUnlock(t, mm);
    return false;
  }
  const head = hugePmdPfn(pmd);
  t.page = head;
  yield 'pmdp_huge_get_and_clear';
  Atomics.store(shm.pmd, slot, PMD_NONE);
  pmdUnlock(t, mm); // BUG (deliberate): the entire mapcount is dropped after the PMD lock
  yield* t.ops.rmap.pageRemoveRmap(t, head, true);
  yield* putPage(t, head);
  return true;
}

export const zapHugePmdEarlyUnlockMutant: Variant = {
  name: 'zap-huge-pmd-early-unlock',
  kind: 'variant',
  summary: 'self-test: zap_huge_pmd() drops the PMD lock before page_remove_rmap() (--pmd on)',
  source: 'mutant of zap_huge_pmd() (6.6 mm/huge_memory.c) against zap_pmd_range()\'s take-and-drop of the PMD lock (mm/memory.c)',
  expected: ['DEL-LOCKED', 'MAP-COUNT', 'REF-COUNT', 'FREE-BAD'],
  reasoning: 'truncation unmapping a PMD-sized folio finds the PMD none while a zapper has cleared it but not yet dropped the '
    + 'folio\'s entire mapcount; it takes and drops the PMD lock, which no longer waits for that, and deletes the folio from the '
    + 'page cache while folio_mapped() is still true (DEL-LOCKED)',
  hidden: true,
  ops: () => ({ rmap: { zapHugePmd: zapHugePmdEarlyUnlock } }),
};

for (const v of [folioMapOneRef, folioSplitNoFreeze, folioPartialKeep, folioEofClamp, finishFaultNonull, zapHugePmdEarlyUnlockMutant]) registerVariant(v);

/** map-truncate with large folios up to order 3 in 16-page files. */
const FOLIOS = { 'max-folio-order': 3 } as const;
const SOURCE = '6.6 mm/filemap.c next_uptodate_folio() / filemap_map_folio_range(), mm/memory.c set_pte_range() / finish_fault(), '
  + 'mm/truncate.c truncate_inode_partial_folio(), mm/huge_memory.c split_huge_page_to_list(), mm/readahead.c page_cache_ra_order()';

/** Two faulters (readahead sizes its folio from the i_size it read) against a truncator, one small file. */
const BEYOND_EOF = { workers: 3, extra: { ...FOLIOS, roles: 'faulter,faulter,truncator', files: 1, 'file-pages': 8 } } as const;

export const FOLIO_CELLS: readonly CellSpec[] = [
  // v6.6 as it is: readahead can add a folio sized from an i_size read before a truncation (the
  // order is chosen before the folio is added; v6.6 page_cache_ra_order() reads i_size before it
  // takes the invalidate lock), and filemap_map_pages() maps such a folio's pages past EOF
  {
    name: 'map-truncate/folios-6.6-beyond-eof', scenario: 'map-truncate', cfg: BEYOND_EOF,
    controlled: { workers: 3, opsPerActor: 4, strategy: 'random' }, expected: { breaks: ['FAULT-SIGBUS', 'MAP-EOF'] }, source: SOURCE,
    // free mode has not caught it on this workload (seeds 1 and 2, 30 s each); with the default
    // roles it was seen once in 3 x 60 s (seed 1, at 46.6 s): too rare for a matrix share
    modes: ['controlled'],
    reasoning: 'a fault\'s readahead sizes its folio from i_size, a truncation to a smaller size runs to its end, then the folio '
      + 'is added reaching past the new EOF; v6.6 next_uptodate_folio() checks only the first index it finds against i_size and '
      + 'filemap_map_folio_range() maps the rest: a PTE past EOF (MAP-EOF), and a fault past EOF that fault-around answers '
      + 'instead of SIGBUS (FAULT-SIGBUS). Found by explore --roles faulter,faulter,truncator --files 1 --file-pages 8 '
      + '--max-folio-order 3 --strategy random --seed 1 at iteration 904',
  },
  ...lockNames().map((lock): CellSpec => ({
    name: `map-truncate/folios=${lock}`, scenario: 'map-truncate', cfg: { lock, ...otherInvariantsUnfairness(lock), variants: ['folio-eof-clamp'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: `${SOURCE}; ${folioEofClamp.source}`,
    reasoning: 'a folio is mapped only under its lock after next_uptodate_folio()\'s checks, one reference per PTE, never past '
      + 'the i_size read under the PTL (the 2025 clamp); truncation splits the folio holding the new EOF (unmapped, refcount '
      + 'frozen) or removes it whole, and unmaps again at its end',
  })),
  {
    name: 'map-truncate/folios-eof-clamp-race', scenario: 'map-truncate', cfg: { ...BEYOND_EOF, variants: ['folio-eof-clamp'] },
    controlled: { workers: 3, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: folioEofClamp.source,
    reasoning: 'the workload that shows v6.6 mapping past EOF, with the range clamped at i_size: a folio that reaches past EOF '
      + 'stays in the page cache, but none of its pages past EOF is mapped',
  },
  // the 2020 proposals (lockless ->map_pages) on large folios: never merged, never proved: open
  ...['linus-recheck', 'willy-uptodate'].map((mp): CellSpec => ({
    name: `map-truncate/folios-${mp}`, scenario: 'map-truncate', cfg: { extra: { ...FOLIOS, 'map-pages': mp } },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'open', source: `src/variants/map-pages/${mp}.ts; docs/proposals.md`,
    reasoning: 'the handshake raises the mapcount of the folio\'s page at that index without the folio lock; truncation tests '
      + 'folio_mapped() (any page of the folio) under the folio lock before it unmaps and deletes the whole folio, and split_folio() '
      + 'unmaps and freezes it: whether the handshake still closes the race over a folio is what the cell reports',
  })),
  {
    name: 'map-truncate/folio-map-one-ref', scenario: 'map-truncate', cfg: { variants: ['folio-map-one-ref', 'folio-eof-clamp'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: { breaks: folioMapOneRef.expected as readonly InvariantId[] },
    hidden: true, source: folioMapOneRef.source, reasoning: folioMapOneRef.reasoning!,
  },
  {
    name: 'map-truncate/folio-split-nofreeze', scenario: 'map-truncate', cfg: { variants: ['folio-split-nofreeze', 'folio-eof-clamp'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: { breaks: folioSplitNoFreeze.expected as readonly InvariantId[] },
    hidden: true, source: folioSplitNoFreeze.source, reasoning: folioSplitNoFreeze.reasoning!,
  },
  {
    name: 'map-truncate/folio-partial-keep', scenario: 'map-truncate', cfg: { variants: ['folio-partial-keep'], extra: FOLIOS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: { breaks: folioPartialKeep.expected as readonly InvariantId[] },
    hidden: true, source: folioPartialKeep.source, reasoning: folioPartialKeep.reasoning!,
  },
];

/** --pmd on: PMD-sized folios (order 3: --ptes-per-ptl 8) mapped by huge PMDs, tables on demand,
 * and a collapser (collapse_pte_mapped_thp()) that retracts tables during the run: without it a PMD
 * range keeps the first table a fault installs there (6.6 frees none on a zap), and PMD mappings
 * stop after a run's first operations (free 60 s, default roles: 1-3 per run). */
// --readahead-order uniform: v6.6's growth (grow) reaches the PMD order only on sequential runs; a
// uniform draw made 7x more PMD mappings (free 20 s, seed 4: 756 against 111)
const FOLIOS_PMD = { pmd: 'on', 'readahead-order': 'uniform', roles: 'mapper,faulter,truncator,reader+zapper+reclaimer+collapser' } as const;
const PMD_SOURCE = '6.6 mm/filemap.c filemap_map_pages() / filemap_map_pmd(), mm/memory.c do_set_pmd() / finish_fault() / '
  + 'zap_pmd_range(), mm/huge_memory.c zap_huge_pmd() / __split_huge_pmd(), mm/rmap.c folio_add_file_rmap_range() / '
  + 'page_remove_rmap(), mm/pgtable-generic.c __pte_offset_map_lock()';

/**
 * A PMD-heavy workload for zap-huge-pmd-early-unlock: PMDs of 2 PTEs (PMD-sized folios of order 1,
 * which readahead's uniform draw makes often), a 4-page file in one VMA (two PMD ranges; a zap
 * covers a whole range 3/8 or 3/16 of the time, and a truncation to at most 2 pages deletes the
 * second range's folio whole, unmapping one VMA only), and collapsers that retract the tables and
 * map the folios by PMD again (without them 0-3 PMD mappings in 10 s, free, seeds 1-3; with them
 * 15,000-20,000, and mainline clean). Free 10 s, seeds 1-3: DEL-LOCKED at 1.9 / 2.9 / 5.1 s
 * (--perturb low, load ~11); controlled PCT at iterations 334 / 716 / 85, the random walk at
 * 5,848 / 7,445 / 2,432.
 */
const ZAP_PMD_EARLY = {
  pmd: 'on', 'ptes-per-ptl': 2, files: 1, 'file-pages': 4, processes: 1, vmas: 1, 'readahead-order': 'uniform',
  roles: 'faulter+zapper+collapser,truncator,faulter+zapper+collapser',
} as const;

export const PMD_CELLS: readonly CellSpec[] = [
  ...lockNames().map((lock): CellSpec => ({
    name: `map-truncate/folios-pmd=${lock}`, scenario: 'map-truncate', cfg: { lock, ...otherInvariantsUnfairness(lock), variants: ['folio-eof-clamp'], extra: FOLIOS_PMD },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: `${PMD_SOURCE}; ${folioEofClamp.source}`,
    reasoning: 'a PMD maps a PMD-sized folio only on a none PMD under the PMD lock, with the folio locked and its range inside '
      + 'EOF; zaps and truncation clear it whole (zap_huge_pmd()) or split it (__split_huge_pmd(): cleared for a file folio) '
      + 'with the entire mapcount dropped under the PMD lock; every PTL taker meets a PMD that is no table as 6.6 does',
  })),
  {
    name: 'map-truncate/finish-fault-nonull', scenario: 'map-truncate', cfg: { variants: ['finish-fault-nonull', 'folio-eof-clamp'], extra: FOLIOS_PMD },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: { breaks: finishFaultNonull.expected as readonly InvariantId[] },
    hidden: true, source: finishFaultNonull.source, reasoning: finishFaultNonull.reasoning!,
  },
  // the race needs a truncation to unmap and delete a PMD-mapped folio while a zapper sits between
  // clearing the PMD and dropping the entire mapcount: ZAP_PMD_EARLY below makes that common. On one
  // 8-page file with PMDs of 8 and no collapser, PCT needed 7,217 / 20,142 / 4,965 iterations (seeds
  // 1-3) and free mode caught nothing in 10 s: the file's PMD-sized folio is gone after the first
  // truncations and every range keeps the table a fault installs (free 10 s: 0-1 PMD mappings)
  {
    name: 'map-truncate/zap-huge-pmd-early-unlock', scenario: 'map-truncate',
    cfg: { workers: 3, variants: ['zap-huge-pmd-early-unlock', 'folio-eof-clamp'], extra: ZAP_PMD_EARLY },
    controlled: { workers: 3, opsPerActor: 4, strategy: 'pct' }, expected: { breaks: zapHugePmdEarlyUnlockMutant.expected as readonly InvariantId[] },
    hidden: true, source: zapHugePmdEarlyUnlockMutant.source, reasoning: zapHugePmdEarlyUnlockMutant.reasoning!,
  },
];
