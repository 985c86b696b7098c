// mm: processes x VMAs, each VMA mapping a file at a page offset (VM_SHARED or private), one PTE
// word per page of the VMA, and split page-table locks: one PTL per `ptesPerPtl` PTEs of a VMA
// (the model's page table; fault-around never crosses one, as the kernel's never crosses a PMD).
//
// PTE word: 0 = pte_none, else pfn + 1 | PTE_WRITE | PTE_ANON. Every present PTE holds one page
// reference and one mapcount of the page it maps.
//
// A migration entry (PTE_MIGRATION, below) is neither present nor none: the swap-type entry
// try_to_migrate_one() leaves (make_{readable,writable}_migration_entry(), 6.6
// include/linux/swapops.h), carrying the old page's pfn and the PTE's write and dirty bits. It holds
// no reference and no mapcount (try_to_migrate_one() dropped both): whoever meets it must not use
// the page it names, only wait on that page's lock (migration_entry_wait()).
import { PTE_ANON, PTE_DIRTY, PTE_PFN_MASK, PTE_WRITE, VM_SHARED, type Shm } from './shm.ts';

export const vmaCount = (shm: Shm): number => shm.sizes.processes * shm.sizes.vmasPerProcess;
export const vmaOf = (shm: Shm, process: number, v: number): number => process * shm.sizes.vmasPerProcess + v;
export const ptlsPerVma = (shm: Shm): number => Math.ceil(shm.sizes.ptesPerVma / shm.sizes.ptesPerPtl);

export const vmaFile = (shm: Shm, vma: number): number => shm.vmaFile[vma];
export const vmaPgoff = (shm: Shm, vma: number): number => shm.vmaPgoff[vma];
export const vmaLen = (shm: Shm, vma: number): number => shm.vmaLen[vma];
/** vm_end as a file index: the VMA maps indices [pgoff, pgoff + len). */
export const vmaEnd = (shm: Shm, vma: number): number => shm.vmaPgoff[vma] + shm.vmaLen[vma];
export const vmaShared = (shm: Shm, vma: number): boolean => (shm.vmaFlags[vma] & VM_SHARED) !== 0;
export const vmaContains = (shm: Shm, vma: number, index: number): boolean =>
  index >= shm.vmaPgoff[vma] && index < vmaEnd(shm, vma);

/** Set up a VMA (scenario init). */
export function setupVma(shm: Shm, vma: number, file: number, pgoff: number, len: number, flags: number): void {
  if (len > shm.sizes.ptesPerVma) throw new Error(`vma ${vma}: ${len} pages > ptesPerVma ${shm.sizes.ptesPerVma}`);
  if (pgoff + len > shm.sizes.pagesPerFile) throw new Error(`vma ${vma}: maps beyond the largest file`);
  shm.vmaFile[vma] = file;
  shm.vmaPgoff[vma] = pgoff;
  shm.vmaLen[vma] = len;
  shm.vmaFlags[vma] = flags;
}

/** The PTE word's slot for file index `index` in `vma`. */
export const pteSlot = (shm: Shm, vma: number, index: number): number =>
  vma * shm.sizes.ptesPerVma + (index - shm.vmaPgoff[vma]);

/** The PTL guarding that PTE. */
export const ptlSlot = (shm: Shm, vma: number, index: number): number =>
  vma * ptlsPerVma(shm) + Math.floor((index - shm.vmaPgoff[vma]) / shm.sizes.ptesPerPtl);

/** The file indices [start, end) whose PTEs share `index`'s PTL (its page table), within the VMA. */
export function ptlSpan(shm: Shm, vma: number, index: number): [number, number] {
  const pgoff = shm.vmaPgoff[vma], per = shm.sizes.ptesPerPtl;
  const start = pgoff + Math.floor((index - pgoff) / per) * per;
  return [start, Math.min(start + per, vmaEnd(shm, vma))];
}

export const mkPte = (pfn: number, bits = 0): number => (pfn + 1) | bits;
export const pteNone = (pte: number): boolean => pte === 0;

/** The migration entry bit of a PTE word (above PTE_WRITE, PTE_ANON, PTE_DIRTY of shm.ts). */
export const PTE_MIGRATION = 1 << 27;
/** make_readable_migration_entry() / make_writable_migration_entry() (+ make_migration_entry_dirty())
 * and swp_entry_to_pte(): the entry that replaces a present PTE of page `pfn`, keeping of `bits`
 * its PTE_WRITE and PTE_DIRTY (remove_migration_pte() gives them back to the restored PTE). */
export const mkMigrationEntry = (pfn: number, bits = 0): number => (pfn + 1) | PTE_MIGRATION | (bits & (PTE_WRITE | PTE_DIRTY));
/** is_swap_pte() && is_migration_entry(): the model's only non-present, non-none PTE. */
export const isMigrationEntry = (pte: number): boolean => (pte & PTE_MIGRATION) !== 0;
/** pte_present(): maps a page (holds its reference and mapcount). */
export const ptePresent = (pte: number): boolean => pte !== 0 && (pte & PTE_MIGRATION) === 0;
/** pte_pfn() of a present PTE, or pfn_swap_entry_to_page() of a migration entry. */
export const ptePfn = (pte: number): number => (pte & PTE_PFN_MASK) - 1;
export const pteAnon = (pte: number): boolean => (pte & PTE_ANON) !== 0;

export const pteRead = (shm: Shm, vma: number, index: number): number => Atomics.load(shm.ptes, pteSlot(shm, vma, index));
export function pteWrite(shm: Shm, vma: number, index: number, pte: number): void {
  Atomics.store(shm.ptes, pteSlot(shm, vma, index), pte);
}

// ---- the PMD entry of a page table (shm.pmd, one per PTL group: src/mm/pgtable.ts) ----------------
//
// A PMD entry is 0 for a table set up with the VMA, PMD_NONE (-1, src/mm/pgtable.ts) for none, the
// table page's pfn + 1 for a table from the page allocator, or a huge PMD (pmd_trans_huge(), 6.6
// do_set_pmd()): -2 - (pfn of the PMD-sized folio's head it maps | PMD_WRITE | PMD_DIRTY). A read
// fault and fault-around map it read-only and clean (-2 - pfn, the encoding before the PMD had
// bits); a shared write fault maps it writable and dirty (do_set_pmd(): "if (write) entry =
// maybe_pmd_mkwrite(pmd_mkdirty(entry), vma)"), a store through a writable PMD sets PMD_DIRTY, and
// page_mkclean() clears both (page_vma_mkclean_one()). A huge PMD maps the whole PTL group; the PTE
// words of that group are all none meanwhile (no table: __pte_offset_map() returns NULL for it).

//
// A fourth state (6.6 CONFIG_ARCH_ENABLE_THP_MIGRATION): the PMD migration entry that
// set_pmd_migration_entry() leaves while a PMD-mapped folio migrates, PMD_MIGRATION_BASE - pfn of
// the folio's head (below every huge PMD: pfns stay under 2^30). Like a PTE migration entry it is
// neither none nor present (is_swap_pmd()), holds no reference and no _entire_mapcount, and its
// range has no table (__pte_offset_map() returns NULL for it: !pmd_present()).

/** pmd_write() / pmd_dirty() of a huge PMD or a PMD migration entry (is_writable_migration_entry(),
 * is_migration_entry_dirty()): bits of the value the entry is made from (a pfn stays below 2^24,
 * PTE_PFN_MASK, so the bits and the pfn never meet, and every huge PMD stays above
 * PMD_MIGRATION_BASE). */
export const PMD_WRITE = 1 << 28;
export const PMD_DIRTY = 1 << 29;
/** mk_huge_pmd() (+ pmd_mkwrite() / pmd_mkdirty() for `bits`): the entry that maps folio `head` by
 * the PMD. Without bits, the read-only clean PMD. */
export const mkHugePmd = (head: number, bits = 0): number => -2 - (head | (bits & (PMD_WRITE | PMD_DIRTY)));
/** The PMD migration entries lie at and below this value. */
export const PMD_MIGRATION_BASE = -(2 ** 30);
/** pmd_trans_huge(): false for a migration entry (not present). */
export const pmdTransHuge = (pmd: number): boolean => pmd <= -2 && pmd > PMD_MIGRATION_BASE;
/** swp_entry_to_pmd(make_{readable,writable}_migration_entry(pfn)) (+ make_migration_entry_dirty()):
 * the entry replacing the huge PMD of folio `head`, keeping of `bits` its PMD_WRITE and PMD_DIRTY
 * (set_pmd_migration_entry(); remove_migration_pmd() gives them back). */
export const mkPmdMigrationEntry = (head: number, bits = 0): number => PMD_MIGRATION_BASE - (head | (bits & (PMD_WRITE | PMD_DIRTY)));
/** is_pmd_migration_entry() */
export const isPmdMigrationEntry = (pmd: number): boolean => pmd <= PMD_MIGRATION_BASE;
/** pfn_swap_entry_to_page(pmd_to_swp_entry()) of a PMD migration entry: the old folio's head. */
export const pmdMigrationPfn = (pmd: number): number => (PMD_MIGRATION_BASE - pmd) & PTE_PFN_MASK;
/** pmd_page() of a huge PMD: its folio's head. */
export const hugePmdPfn = (pmd: number): number => (-2 - pmd) & PTE_PFN_MASK;
/** The PMD_WRITE and PMD_DIRTY bits of a huge PMD or a PMD migration entry (0 for anything else). */
export const pmdBits = (pmd: number): number =>
  pmdTransHuge(pmd) ? (-2 - pmd) & (PMD_WRITE | PMD_DIRTY) : isPmdMigrationEntry(pmd) ? (PMD_MIGRATION_BASE - pmd) & (PMD_WRITE | PMD_DIRTY) : 0;
/** pmd_write() of a huge PMD. */
export const pmdWrite = (pmd: number): boolean => pmdTransHuge(pmd) && (pmdBits(pmd) & PMD_WRITE) !== 0;
/** pmd_dirty() of a huge PMD. */
export const pmdDirty = (pmd: number): boolean => pmdTransHuge(pmd) && (pmdBits(pmd) & PMD_DIRTY) !== 0;
/** The PTE bits (PTE_WRITE, PTE_DIRTY) a PMD's bits stand for at each page it maps. */
const pmdPteBits = (pmd: number): number => (pmdBits(pmd) & PMD_WRITE ? PTE_WRITE : 0) | (pmdBits(pmd) & PMD_DIRTY ? PTE_DIRTY : 0);
/** pmdp_get_lockless() of the PMD entry covering `index` in `vma`. */
export const pmdRead = (shm: Shm, vma: number, index: number): number => Atomics.load(shm.pmd, ptlSlot(shm, vma, index));

/** HPAGE_PMD_ORDER of the model: a PMD covers a PTL group of ptesPerPtl pages, so the order is
 * log2(ptesPerPtl) when that is a power of two >= 2, else -1 (no folio is PMD-mappable). */
export function hpagePmdOrder(shm: Shm): number {
  const per = shm.sizes.ptesPerPtl;
  return per >= 2 && (per & (per - 1)) === 0 ? Math.log2(per) : -1;
}

/** What a user access at `index` of `vma` goes through: the PTE word, or for a huge PMD the PTE
 * word it stands for (the folio's page at that index, with the PMD's write and dirty bits; for a
 * PMD migration entry, the PTE migration entry of that page). */
export function mappingWordAt(shm: Shm, vma: number, index: number): number {
  const pmd = pmdRead(shm, vma, index);
  const [start] = ptlSpan(shm, vma, index);
  // a PMD migration entry: the access faults as at a PTE migration entry of that page
  if (isPmdMigrationEntry(pmd)) return mkMigrationEntry(pmdMigrationPfn(pmd) + index - start, pmdPteBits(pmd));
  if (!pmdTransHuge(pmd)) return pteRead(shm, vma, index);
  return mkPte(hugePmdPfn(pmd) + index - start, pmdPteBits(pmd));
}
