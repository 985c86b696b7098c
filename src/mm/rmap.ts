// Reverse mapping (mm/rmap.c): which PTEs may map a file page, adding and removing a mapping's
// mapcount, and try_to_unmap() for reclaim.
//
// The model's i_mmap is static: every VMA is set up at init (zapping clears PTEs, as MADV_DONTNEED
// does, but keeps the VMA). Only the 'unmapper' role (src/mm/mmap.ts) takes i_mmap_rwsem for
// writing, to free a VMA's page tables; without it the read side (rmap_walk_file()'s
// i_mmap_lock_read()) never waits and is a schedule point only (iMmapLockRead()). Its place in the
// lock order: mm/rmap.c folio_lock -> i_mmap_rwsem -> the PTL.
//
// Followed: v6.6. Zapping or unmapping a PTE hands its hardware dirty bit to the page
// (zap_present_pte(): "if (pte_dirty(ptent)) folio_mark_dirty(folio)"; try_to_unmap_one():
// "if (pte_dirty(pteval)) folio_mark_dirty(folio)") before the mapcount drops: the data the PTE
// let a store put there is then the page's to write back.
import { putPage } from './page_alloc.ts';
import { pageFile } from '../shm/files.ts';
import { COMPOUND_MAPPED, entireMapcountAdd, folioHead, folioNrPages, pageMapped } from '../shm/page.ts';
import { pmdRead, pmdTransHuge, ptlSlot, pteAnon, ptePfn, ptePresent, pteRead, pteSlot, vmaContains, vmaCount, vmaEnd } from '../shm/mm.ts';
import { PTE_DIRTY } from '../shm/shm.ts';
import { pteOffsetMapLock, pteUnlock } from './pgtable.ts';
import { splitHugePmdAddress } from './huge_memory.ts';
import type { Shm } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { iMmapLockRead, iMmapUnlockRead } from './mmap.ts';

/** vma_interval_tree_foreach over mapping->i_mmap: the VMAs of `file`. */
export function vmasOfFile(shm: Shm, file: number): number[] {
  const out: number[] = [];
  for (let vma = 0, n = vmaCount(shm); vma < n; vma++) if (shm.vmaFile[vma] === file) out.push(vma);
  return out;
}

/** page_add_file_rmap() / page_add_new_anon_rmap(): one more mapping of this page (PTL held).
 * A page of a large folio that becomes mapped counts in its folio's _nr_pages_mapped (6.6
 * folio_add_file_rmap_range(): "if (atomic_inc_and_test(&page->_mapcount)) nr++" then
 * atomic_add_return_relaxed(nr, mapped)). */
export function* pageAddRmap(t: Task, pfn: number, compound = false): Step {
  yield 'page_add_file_rmap';
  if (compound) return addEntireMapping(t.shm, pfn);
  const first = Atomics.add(t.shm.mapcount, pfn, 1) === -1; // atomic_inc_and_test(&page->_mapcount): -1 -> 0 is the first
  if (first && t.shm.compound[pfn] !== 0) Atomics.add(t.shm.nrPagesMapped, folioHead(t.shm, pfn), 1);
}

/** page_remove_rmap(): one mapping fewer (PTL held). Below -1 is the kernel's "Bad page map". A
 * page of a large folio that is no longer mapped leaves its folio's _nr_pages_mapped (6.6
 * page_remove_rmap(): "last = atomic_add_negative(-1, &page->_mapcount)"). */
export function* pageRemoveRmap(t: Task, pfn: number, compound = false): Step {
  yield 'page_remove_rmap';
  if (compound) return removeEntireMapping(t, pfn);
  const n = Atomics.sub(t.shm.mapcount, pfn, 1) - 1;
  if (n < -1) t.violation('MAP-COUNT', pfn, n);
  else if (n === -1 && t.shm.compound[pfn] !== 0) {
    const head = folioHead(t.shm, pfn);
    if (Atomics.sub(t.shm.nrPagesMapped, head, 1) - 1 < 0) t.violation('MAP-COUNT', head, -1);
  }
}

/** page_add_file_rmap(page, vma, true) of PMD-sized folio `head` (6.6 folio_add_file_rmap_range(),
 * the folio_test_pmd_mappable() branch): "first = atomic_inc_and_test(&folio->_entire_mapcount);
 * if (first) nr = atomic_add_return_relaxed(COMPOUND_MAPPED, mapped)". */
function addEntireMapping(shm: Shm, head: number): void {
  if (entireMapcountAdd(shm, head, 1) === 0) Atomics.add(shm.nrPagesMapped, head, COMPOUND_MAPPED);
}

/** page_remove_rmap(page, vma, true) (6.6): "last = atomic_add_negative(-1,
 * &folio->_entire_mapcount); if (last) nr = atomic_sub_return_relaxed(COMPOUND_MAPPED, mapped)".
 * Below -1 is zap_huge_pmd()'s VM_BUG_ON_PAGE(page_mapcount(page) < 0). */
function removeEntireMapping(t: Task, head: number): void {
  const shm = t.shm, n = entireMapcountAdd(shm, head, -1);
  if (n < -1) t.violation('MAP-COUNT', head, n);
  else if (n === -1 && Atomics.sub(shm.nrPagesMapped, head, COMPOUND_MAPPED) < COMPOUND_MAPPED) t.violation('MAP-COUNT', head, -1);
}

/**
 * Clear one present PTE and drop what it held: mapcount and the page reference (PTL held).
 * zap_pte_range() also checks the page it unmaps, as print_bad_pte() does: a file PTE must map
 * the page the page cache has at that file and index (MAP-CACHE). That holds at every instant on
 * mainline: a page leaves the cache only when unmapped, under its lock, and a file PTE is only
 * installed under the page lock.
 */
export function* zapPte(t: Task, vma: number, index: number, pte: number): Step {
  const shm = t.shm;
  const pfn = ptePfn(pte);
  t.page = pfn;
  t.aux = index;
  yield 'ptep_get_and_clear';
  // the PTE as cleared, with the dirty bit a store may have set since the caller read it
  const cleared = Atomics.exchange(shm.ptes, pteSlot(shm, vma, index), 0);
  if (!pteAnon(pte)) {
    const file = shm.vmaFile[vma];
    if (pageFile(shm, pfn) !== file || Atomics.load(shm.index, pfn) !== index)
      t.violation('MAP-CACHE', pfn, file, index, vma);
    if (cleared & PTE_DIRTY) {
      yield 'folio_mark_dirty';
      t.ops.writeback.setPageDirty(t, pfn);
    }
  }
  yield* t.ops.rmap.pageRemoveRmap(t, pfn);
  yield* putPage(t, pfn); // the kernel defers this to the TLB flush (mmu_gather): same order here
}

/** An rwc->rmap_one: called by rmapWalkFile() with the PTL held, for the PTE `pte` it read at
 * (vma, index); `pfn` is the walked page (of a large folio: its page at that index), `arg` the
 * walk's caller's (remove_migration_ptes(): src). */
export type RmapOne = (t: Task, vma: number, index: number, pte: number, pfn: number, arg: number) => Step;

/**
 * rmap_walk_file() (v6.6) of a locked file page: under i_mmap_lock_read(), for each VMA that maps
 * its file at its index, `rmapOne` under the PTL (page_vma_mapped_walk() takes it and re-checks the
 * PTE there); with `untilUnmapped` (rwc->done = folio_not_mapped), after each VMA "if (rwc->done &&
 * rwc->done(folio)) goto done": the walk stops as soon as nothing maps the page any more.
 */
export function* rmapWalkFile(t: Task, pfn: number, rmapOne: RmapOne, untilUnmapped: boolean, arg = 0, splitHugePmd = false): Step {
  const shm = t.shm;
  const file = pageFile(shm, pfn), index = Atomics.load(shm.index, pfn);
  if (file < 0) return;
  if (shm.compound[pfn] > 0) return yield* rmapWalkFolio(t, pfn, file, index, rmapOne, untilUnmapped, arg, splitHugePmd);
  t.page = pfn;
  t.aux = index;
  yield* iMmapLockRead(t, file);
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaContains(shm, vma, index)) continue;
    t.page = pfn;
    t.aux = index;
    // TTU_SPLIT_HUGE_PMD (6.6 try_to_unmap_one(): "if (flags & TTU_SPLIT_HUGE_PMD)
    // split_huge_pmd_address(vma, address, false, folio)"): a PMD mapping this folio goes first
    if (splitHugePmd && pmdTransHuge(pmdRead(shm, vma, index))) yield* splitHugePmdAddress(t, vma, index, folioHead(shm, pfn));
    const ptl = yield* pteOffsetMapLock(t, vma, index); // page_vma_mapped_walk(): no table, no PTE
    if (ptl >= 0) {
      yield* rmapOne(t, vma, index, pteRead(shm, vma, index), pfn, arg);
      pteUnlock(t, ptl);
    }
    if (!untilUnmapped) continue;
    t.page = pfn;
    yield 'folio_not_mapped';
    if (!pageMapped(shm, pfn)) break; // rwc->done(folio)
  }
  yield* iMmapUnlockRead(t, file);
}

/**
 * rmap_walk_file() (v6.6) of a locked large file folio (head `pfn`, first index `first`): the VMAs
 * that map any of its pages ("pgoff_start = folio_pgoff(folio); pgoff_end = pgoff_start +
 * folio_nr_pages(folio) - 1"), and in each, page_vma_mapped_walk() over the folio's PTEs: the PTL of
 * each page table the range crosses, held while `rmapOne` runs for each PTE of that table, with
 * the page of the folio at that index (what the PTE must name to be this folio's). rwc->done is
 * tested after each VMA, as for a single page.
 */
function* rmapWalkFolio(t: Task, pfn: number, file: number, first: number, rmapOne: RmapOne, untilUnmapped: boolean, arg: number, splitHugePmd: boolean): Step {
  const shm = t.shm, nr = folioNrPages(shm, pfn);
  t.page = pfn;
  t.aux = first;
  yield* iMmapLockRead(t, file);
  for (const vma of vmasOfFile(shm, file)) {
    const from = Math.max(first, shm.vmaPgoff[vma]), to = Math.min(first + nr, vmaEnd(shm, vma));
    if (from >= to) continue;
    let ptl = -1, table = -1;
    for (let index = from; index < to; index++) {
      t.page = pfn;
      t.aux = index;
      if (table !== ptlSlot(shm, vma, index)) { // the walk steps into the next page table
        if (ptl >= 0) pteUnlock(t, ptl);
        table = ptlSlot(shm, vma, index);
        // TTU_SPLIT_HUGE_PMD: a PMD mapping this folio is split first (as rmapWalkFile() does)
        if (splitHugePmd && pmdTransHuge(pmdRead(shm, vma, index))) yield* splitHugePmdAddress(t, vma, index, pfn);
        ptl = yield* pteOffsetMapLock(t, vma, index); // page_vma_mapped_walk(): no table, no PTE of it here
      }
      if (ptl >= 0) yield* rmapOne(t, vma, index, pteRead(shm, vma, index), pfn + index - first, arg);
    }
    if (ptl >= 0) pteUnlock(t, ptl);
    if (!untilUnmapped) continue;
    t.page = pfn;
    yield 'folio_not_mapped';
    if (!pageMapped(shm, pfn)) break; // rwc->done(folio)
  }
  yield* iMmapUnlockRead(t, file);
}

/** try_to_unmap_one() for a PTE read under the PTL: page_vma_mapped_walk() without PVMW_MIGRATION
 * matches present PTEs only, and only the PTE that maps this very page (not COW copies: they are
 * other pages); the dirty bit goes to the page (zapPte). */
function* tryToUnmapOne(t: Task, vma: number, index: number, pte: number, pfn: number): Step {
  if (ptePresent(pte) && !pteAnon(pte) && ptePfn(pte) === pfn) yield* t.ops.rmap.zapPte(t, vma, index, pte);
}

/**
 * try_to_unmap() of a locked file page (v6.6): rmap_walk_file() with rwc->done = folio_not_mapped
 * and try_to_unmap_one(), handing each PTE's dirty bit to the page. Returns !page_mapped()
 * afterwards (the kernel's returns void: shrink_folio_list() tests folio_mapped() itself).
 */
export function* tryToUnmap(t: Task, pfn: number): Step<boolean> {
  yield* rmapWalkFile(t, pfn, tryToUnmapOne, true, 0, true);
  return !pageMapped(t.shm, pfn);
}
