// mm/huge_memory.c, the file-THP part the model has (--pmd on): a PMD that maps a PMD-sized
// page-cache folio goes away by zap_huge_pmd() (a zap covering the whole PMD range) or
// __split_huge_pmd() (any other range; truncation's and reclaim's unmaps). For a file folio 6.6
// splits by clearing the PMD: __split_huge_pmd_locked(), "if (!vma_is_anonymous(vma)) { old_pmd =
// pmdp_huge_clear_flush(vma, haddr, pmd); ... page_remove_rmap(page, vma, true); put_page(page);
// ... return; }" — the next access faults and maps the folio again, by a PMD or by PTEs in a
// freshly allocated table. The PMD is mapped by do_set_pmd() (src/mm/memory.ts).
import { putPage } from './page_alloc.ts';
import { PMD_NONE, pmdLock, pmdUnlock } from './pgtable.ts';
import { pageFile } from '../shm/files.ts';
import { hugePmdPfn, pmdTransHuge, ptlSlot, ptlSpan } from '../shm/mm.ts';
import { NIL } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/**
 * Clear the huge PMD covering `index` in `vma` under the PMD lock, if it is still huge (and maps
 * `folio`, when one is given: __split_huge_pmd()'s "if (folio && folio != page_folio(pmd_page(*pmd)))
 * goto out"); drop the folio's entire mapping (page_remove_rmap(page, vma, true)) and the PMD's
 * reference. The mapcount drops before the PMD lock is released: zap_pmd_range()'s take-and-drop of
 * that lock relies on it (below). As zap_pte_range() checks a PTE it clears, the PMD must map the
 * page cache's folio at that range (MAP-CACHE). 6.6 drops the reference after the unlock
 * (zap_huge_pmd(): tlb_remove_page_size()) or before it (the split's put_page()); here after.
 * Returns true if it cleared one.
 */
function* clearHugePmd(t: Task, vma: number, index: number, folio: number, label: string): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  t.page = folio;
  t.aux = index;
  const mm = yield* pmdLock(t, vma, label);
  const pmd = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmd) || (folio !== NIL && hugePmdPfn(pmd) !== folio)) {
    pmdUnlock(t, mm);
    return false;
  }
  const head = hugePmdPfn(pmd), file = shm.vmaFile[vma], [start] = ptlSpan(shm, vma, index);
  t.page = head;
  t.aux = start;
  yield 'pmdp_huge_get_and_clear';
  Atomics.store(shm.pmd, slot, PMD_NONE);
  if (pageFile(shm, head) !== file || Atomics.load(shm.index, head) !== start) t.violation('MAP-CACHE', head, file, start, vma);
  yield* t.ops.rmap.pageRemoveRmap(t, head, true);
  pmdUnlock(t, mm);
  yield* putPage(t, head);
  t.stat('pmdZapped');
  return true;
}

/** zap_huge_pmd() (6.6): __pmd_trans_huge_lock() (the PMD lock, if the PMD is still huge), clear
 * it, page_remove_rmap(page, vma, true), the reference. False when it was no longer huge. */
export function* zapHugePmd(t: Task, vma: number, index: number): Step<boolean> {
  return yield* clearHugePmd(t, vma, index, NIL, 'pmd_trans_huge_lock');
}

/** __split_huge_pmd() of a file folio's PMD (6.6: pmd_lock(), "if (pmd_trans_huge(*pmd) ...)
 * __split_huge_pmd_locked()": for a file folio the PMD is cleared, not split into PTEs).
 * split_huge_pmd_address(vma, address, freeze, folio) passes the folio it unmaps. */
export function* splitHugePmd(t: Task, vma: number, index: number, folio = NIL): Step<boolean> {
  return yield* clearHugePmd(t, vma, index, folio, 'pmd_lock');
}

/** split_huge_pmd_address() (6.6 mm/huge_memory.c), as try_to_unmap_one() calls it with
 * TTU_SPLIT_HUGE_PMD: split the PMD of `vma` at `index` if it maps `folio`. */
export function* splitHugePmdAddress(t: Task, vma: number, index: number, folio: number): Step<boolean> {
  return yield* splitHugePmd(t, vma, index, folio);
}
