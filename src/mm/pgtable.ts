// The page-table lock (split PTLs: one per group of PTEs, src/shm/mm.ts ptlSlot()), and the PTE
// tables themselves: allocated on demand with --pte-alloc (below).
import { hpagePmdOrder, ptlSlot, ptlSpan, pteWrite } from '../shm/mm.ts';
import { folioOrder } from '../shm/page.ts';
import { NIL, type Shm } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import { allocPage, putPage } from './page_alloc.ts';
import { LD_PTL, type Task } from '../kernel/task.ts';
import type { Step } from '../kernel/step.ts';

/** pte_offset_map_lock(): take the PTL covering `index` in `vma`. Returns the PTL slot. */
export function* pteLock(t: Task, vma: number, index: number): Step<number> {
  const ptl = ptlSlot(t.shm, vma, index);
  if (t.lockdep !== null) t.lockdep.check(t, LD_PTL, ptl);
  yield* spinLock(t, t.shm.ptl, ptl, 'pte_offset_map_lock');
  Atomics.store(t.shm.ptlOwner, ptl, t.id + 1);
  if (t.lockdep !== null) t.lockdep.ptlAcquired(t, ptl);
  return ptl;
}

/**
 * pte_offset_map_lock() (6.6, since 0d940a9b270b "mm/pgtable: allow pte_offset_map[_lock]() to
 * fail"): __pte_offset_map() reads the PMD once and returns NULL when it holds no PTE table (none,
 * or pmd_trans_huge(): a huge PMD); else take the PTL and "if (likely(pmd_same(pmdval,
 * pmdp_get_lockless(pmd))))" keep it, otherwise drop it and try again. Returns the PTL slot, or -1
 * for NULL: the caller bails out as 6.6 does (nothing is mapped by PTEs there). Without --pte-alloc
 * and --pmd every table is there from the start, and this is pteLock().
 */
export function* pteOffsetMapLock(t: Task, vma: number, index: number): Step<number> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  for (;;) {
    const pmdval = Atomics.load(shm.pmd, slot);
    if (pmdval < 0) return -1; // PMD_NONE or a huge PMD
    const ptl = yield* pteLock(t, vma, index);
    if (Atomics.load(shm.pmd, slot) === pmdval) return ptl;
    pteUnlock(t, ptl);
  }
}

/** pte_unmap_unlock() */
export function pteUnlock(t: Task, ptl: number): void {
  if (t.lockdep !== null) t.lockdep.ptlReleased(ptl);
  Atomics.store(t.shm.ptlOwner, ptl, 0);
  spinUnlock(t.shm.ptl, ptl);
}

// ---- PTE tables allocated on demand (6.6 mm/memory.c: __pte_alloc(), pmd_install()) ------------
//
// A page table covers one PTL group of a VMA (src/shm/mm.ts ptlSlot()). Its PMD entry (shm.pmd)
// is 0 for the tables the model sets up with the VMA (outside the page allocator: every scenario
// without --pte-alloc), PMD_NONE when the table is missing, else the pfn + 1 of the page
// pte_alloc_one() took from the page allocator for it. A table is allocated by the first path that
// needs to set a PTE in it: do_fault_around() and __do_fault() preallocate one (vmf->prealloc_pte)
// before the page lock, finish_fault() installs it, or allocates under the page lock when it has
// none (pte_alloc()). The allocation is alloc_page(): it can fall into direct reclaim.
//
// Freeing: 6.6 frees PTE tables only in free_pgtables() (munmap, exit: with the mmap lock held for
// writing, so no fault runs in the VMA) and khugepaged's retract_page_tables(); a zap
// (MADV_DONTNEED, unmap_mapping_range()) leaves the empty table in place (freeing empty tables on
// MADV_DONTNEED came later, CONFIG_PT_RECLAIM). The model's VMAs are never unmapped, so an
// installed table stays for the run: it holds one reference on its page (the quiescent check
// counts it, src/check/quiescent.ts).
//
// With --pmd on a PMD has a third state: a huge PMD mapping a PMD-sized folio (src/shm/mm.ts
// mkHugePmd(), src/mm/huge_memory.ts). It is set on a none PMD only (do_set_pmd()), and a zap or
// split of it makes the PMD none again (zap_huge_pmd(), __split_huge_pmd_locked() for a file
// folio: no table is deposited for file THPs on x86), so the next fault there allocates a table:
// tables missing in the middle of a run.

/** A PMD entry with no PTE table (pmd_none()). */
export const PMD_NONE = -1;

/** pmd_none(*pmd) for the table that holds `index` in `vma`. */
export const pmdNone = (shm: Shm, vma: number, index: number): boolean => Atomics.load(shm.pmd, ptlSlot(shm, vma, index)) === PMD_NONE;

/** No PTE table holds `index` in `vma`: its PMD is none or huge (__pte_offset_map() would return NULL). */
export const pmdNoTable = (shm: Shm, vma: number, index: number): boolean => Atomics.load(shm.pmd, ptlSlot(shm, vma, index)) < 0;

/** pte_alloc_one() (GFP_PGTABLE_USER: GFP_KERNEL, so the allocator may enter direct reclaim in the
 * caller's context): a zeroed page for a PTE table, or NIL. */
export function* pteAllocOne(t: Task): Step<number> {
  return yield* allocPage(t);
}

/** pte_free(): a table that was not installed goes back to the allocator. */
export function* pteFree(t: Task, pfn: number): Step {
  yield* putPage(t, pfn);
}

/** pmd_populate(): point the PMD entry at the fresh table `pfn`: every PTE of the range it covers is
 * the new table's, all none (pte_alloc_one() zeroes it). Only done on a none PMD, so on mainline the
 * PTE words it clears are none already; a table populated over a live one loses that one's PTEs. */
export function pmdPopulate(shm: Shm, vma: number, index: number, pfn: number): void {
  const [start, end] = ptlSpan(shm, vma, index);
  for (let i = start; i < end; i++) pteWrite(shm, vma, i, 0);
  Atomics.store(shm.pmd, ptlSlot(shm, vma, index), pfn + 1);
}

/**
 * pmd_install() (6.6): under pmd_lock() (mm->page_table_lock here) "Has another populated it ?":
 * populate only a PMD that is still none. Returns true if table `pfn` was installed (the caller's
 * *pte = NULL), false if another task's table got there first (the caller frees its own).
 */
export function* pmdInstall(t: Task, vma: number, index: number, pfn: number): Step<boolean> {
  const shm = t.shm, mm = Math.floor(vma / shm.sizes.vmasPerProcess);
  t.page = pfn;
  t.aux = index;
  yield* spinLock(t, shm.pageTableLock, mm, 'pmd_lock');
  yield 'pmd_none';
  let installed = false;
  if (pmdNone(shm, vma, index)) {
    yield 'pmd_populate'; // mm_inc_nr_ptes(); smp_wmb(); pmd_populate()
    pmdPopulate(shm, vma, index, pfn);
    installed = true;
  }
  spinUnlock(shm.pageTableLock, mm);
  return installed;
}

/**
 * pte_alloc() (6.6 include/linux/mm.h, mm/memory.c __pte_alloc()): if the PMD is none, allocate a
 * table (pte_alloc_one(): the allocator, maybe direct reclaim, under whatever the caller holds)
 * and pmd_install() it, freeing it if another task installed one first. False is -ENOMEM.
 */
export function* pteAlloc(t: Task, vma: number, index: number): Step<boolean> {
  if (!pmdNone(t.shm, vma, index)) return true;
  const pfn = yield* pteAllocOne(t);
  if (pfn === NIL) return false;
  if (!(yield* t.ops.fault.pmdInstall(t, vma, index, pfn))) yield* pteFree(t, pfn);
  return true;
}

/** Scenario init with --pte-alloc: the mm starts with no PTE table (a fresh mm after mmap()). */
export function pmdClearAll(shm: Shm): void {
  shm.pmd.fill(PMD_NONE);
}

// ---- the PMD level (--pmd on): PMD-sized folios mapped by a huge PMD (src/mm/huge_memory.ts) -------

/** Whether file THPs can be mapped by a PMD: --pmd on. Off is CONFIG_TRANSPARENT_HUGEPAGE=n for
 * file mappings: folio_test_pmd_mappable() is false and do_set_pmd() returns VM_FAULT_FALLBACK,
 * and no PMD path adds a step. */
export const thpPmdEnabled = (t: Task): boolean => t.options.pmd === 'on';

/** folio_test_pmd_mappable() (6.6 include/linux/huge_mm.h): "folio_order(folio) >=
 * HPAGE_PMD_ORDER"; false without THP. */
export const folioTestPmdMappable = (t: Task, pfn: number): boolean => {
  const order = hpagePmdOrder(t.shm);
  return thpPmdEnabled(t) && order > 0 && folioOrder(t.shm, pfn) >= order;
};

/** transhuge_vma_suitable(vma, haddr) (6.6): the VMA maps file and virtual addresses congruent
 * modulo a PMD ("(vma->vm_start >> PAGE_SHIFT) - vma->vm_pgoff" aligned to HPAGE_PMD_NR: here the
 * VMA's pgoff, since a page table starts every ptesPerPtl pages from vm_start) and the PMD range
 * holding `index` lies inside the VMA. */
export function transhugeVmaSuitable(shm: Shm, vma: number, index: number): boolean {
  const per = shm.sizes.ptesPerPtl, [start, end] = ptlSpan(shm, vma, index);
  return shm.vmaPgoff[vma] % per === 0 && end - start === per;
}

/** pmd_lock(): the PMD's lock; the model's PMDs share their mm's page_table_lock (as pmd_install()
 * takes it: !USE_SPLIT_PMD_PTLOCKS). */
export function* pmdLock(t: Task, vma: number, label = 'pmd_lock'): Step<number> {
  const mm = Math.floor(vma / t.shm.sizes.vmasPerProcess);
  yield* spinLock(t, t.shm.pageTableLock, mm, label);
  return mm;
}

export function pmdUnlock(t: Task, mm: number): void {
  spinUnlock(t.shm.pageTableLock, mm);
}
