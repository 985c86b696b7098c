// The page-table lock (split PTLs: one per group of PTEs, src/shm/mm.ts ptlSlot()), and the PTE
// tables themselves: allocated on demand with --pte-alloc (below).
import { ptlSlot, ptlSpan, pteWrite } from '../shm/mm.ts';
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

/** A PMD entry with no PTE table (pmd_none()). */
export const PMD_NONE = -1;

/** pmd_none(*pmd) for the table that holds `index` in `vma`. */
export const pmdNone = (shm: Shm, vma: number, index: number): boolean => Atomics.load(shm.pmd, ptlSlot(shm, vma, index)) === PMD_NONE;

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
