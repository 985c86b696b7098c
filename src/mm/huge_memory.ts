// mm/huge_memory.c, the file-THP part the model has (--pmd on): a PMD that maps a PMD-sized
// page-cache folio goes away by zap_huge_pmd() (a zap covering the whole PMD range) or
// __split_huge_pmd() (any other range; truncation's and reclaim's unmaps). For a file folio 6.6
// splits by clearing the PMD: __split_huge_pmd_locked(), "if (!vma_is_anonymous(vma)) { old_pmd =
// pmdp_huge_clear_flush(vma, haddr, pmd); ... page_remove_rmap(page, vma, true); put_page(page);
// ... return; }" — the next access faults and maps the folio again, by a PMD or by PTEs in a
// freshly allocated table. The PMD is mapped by do_set_pmd() (src/mm/memory.ts): read-only for a
// read fault, writable and dirty for a shared write fault.
//
// The PMD's dirty bit (a store through a writable PMD, src/scenarios/writeback.ts userStore(); GUP's
// touch_pmd()): the split hands it to the folio ("if (!PageDirty(page) && pmd_dirty(old_pmd))
// set_page_dirty(page)"), and so does set_pmd_migration_entry(); 6.6 zap_huge_pmd() does not (its
// file branch only drops the rmap and the counter). A dirty PMD is writable or was, and a PMD
// becomes writable only under the folio lock after ->page_mkwrite dirtied the folio, and loses
// write and dirty (page_mkclean()) before writeback clears PG_dirty: the folio is dirty whenever
// its PMD is, so the zap loses nothing the folio does not carry.
import { putPage } from './page_alloc.ts';
import { PMD_NONE, pmdLock, pmdUnlock } from './pgtable.ts';
import { pageFile } from '../shm/files.ts';
import {
  PMD_DIRTY, PMD_WRITE, hugePmdPfn, isPmdMigrationEntry, mkHugePmd, mkPmdMigrationEntry, pmdBits, pmdDirty, pmdMigrationPfn, pmdTransHuge, ptlSlot, ptlSpan,
} from '../shm/mm.ts';
import { PageDirty, getPage } from '../shm/page.ts';
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
 * A split (`split`) hands the cleared PMD's dirty bit to the folio before the rmap drops
 * (__split_huge_pmd_locked(): "if (!PageDirty(page) && pmd_dirty(old_pmd)) set_page_dirty(page)");
 * zap_huge_pmd() does not (header). Returns true if it cleared one.
 */
function* clearHugePmd(t: Task, vma: number, index: number, folio: number, label: string, split: boolean): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  t.page = folio;
  t.aux = index;
  const mm = yield* pmdLock(t, vma, label);
  const pmd = Atomics.load(shm.pmd, slot);
  if (isPmdMigrationEntry(pmd) && folio === NIL) {
    // 6.6 zap_huge_pmd(): "else if (thp_migration_supported()) { ... entry = pmd_to_swp_entry(orig_pmd);
    // page = pfn_swap_entry_to_page(entry); flush_needed = 0; }", and __split_huge_pmd_locked() of a
    // file VMA: "if (unlikely(is_pmd_migration_entry(old_pmd))) { ... page = pfn_swap_entry_to_page(entry); }"
    // — the entry is cleared, and it held no mapcount or reference: nothing to drop. The migration
    // finds no entry to restore. (With a folio, __split_huge_pmd()'s "folio != page_folio(pmd_page())"
    // is always true here: the caller holds its folio locked, the migrator holds the entry's.)
    t.page = pmdMigrationPfn(pmd);
    yield 'pmd_clear_migration_entry';
    Atomics.store(shm.pmd, slot, PMD_NONE);
    pmdUnlock(t, mm);
    return true;
  }
  if (!pmdTransHuge(pmd) || (folio !== NIL && hugePmdPfn(pmd) !== folio)) {
    pmdUnlock(t, mm);
    return false;
  }
  const head = hugePmdPfn(pmd), file = shm.vmaFile[vma], [start] = ptlSpan(shm, vma, index);
  t.page = head;
  t.aux = start;
  yield 'pmdp_huge_get_and_clear';
  // the PMD as cleared, with the dirty bit a store may have set since it was read (one RMW, as the
  // MMU's: src/scenarios/writeback.ts userStore())
  const old = Atomics.exchange(shm.pmd, slot, PMD_NONE);
  if (pageFile(shm, head) !== file || Atomics.load(shm.index, head) !== start) t.violation('MAP-CACHE', head, file, start, vma);
  if (split && pmdDirty(old) && !PageDirty(shm, head)) {
    yield 'set_page_dirty';
    t.ops.writeback.setPageDirty(t, head);
  }
  yield* t.ops.rmap.pageRemoveRmap(t, head, true);
  pmdUnlock(t, mm);
  yield* putPage(t, head);
  t.stat('pmdZapped');
  return true;
}

/** zap_huge_pmd() (6.6): __pmd_trans_huge_lock() (the PMD lock, if the PMD is still huge or a
 * migration entry), clear it, page_remove_rmap(page, vma, true), the reference (a migration entry
 * holds neither). False when it was neither any more. */
export function* zapHugePmd(t: Task, vma: number, index: number): Step<boolean> {
  return yield* clearHugePmd(t, vma, index, NIL, 'pmd_trans_huge_lock', false);
}

/** __split_huge_pmd() of a file folio's PMD (6.6: pmd_lock(), "if (pmd_trans_huge(*pmd) ...)
 * __split_huge_pmd_locked()": for a file folio the PMD is cleared, not split into PTEs).
 * split_huge_pmd_address(vma, address, freeze, folio) passes the folio it unmaps. */
export function* splitHugePmd(t: Task, vma: number, index: number, folio = NIL): Step<boolean> {
  return yield* clearHugePmd(t, vma, index, folio, 'pmd_lock', true);
}

/** split_huge_pmd_address() (6.6 mm/huge_memory.c), as try_to_unmap_one() calls it with
 * TTU_SPLIT_HUGE_PMD: split the PMD of `vma` at `index` if it maps `folio`. */
export function* splitHugePmdAddress(t: Task, vma: number, index: number, folio: number): Step<boolean> {
  return yield* splitHugePmd(t, vma, index, folio);
}

/**
 * set_pmd_migration_entry() (6.6 mm/huge_memory.c), as try_to_migrate_one() calls it for a
 * PMD-mapped folio ("if (!pvmw.pte) { ... if (set_pmd_migration_entry(&pvmw, subpage)) ..."): under
 * the PMD lock page_vma_mapped_walk() took ("if (pmd_trans_huge(pmde) || is_pmd_migration_entry(pmde))
 * { pvmw->ptl = pmd_lock(mm, pvmw->pmd); ... check_pmd(pmd_pfn(pmde), pvmw)"), pmdp_invalidate(),
 * set_pmd_at() of the migration entry, page_remove_rmap(page, vma, true) (the folio's
 * _entire_mapcount) and folio_put() (the PMD's reference; the migrator's keeps the folio). The
 * entry keeps the PMD's write and dirty bits ("if (pmd_write(pmdval)) entry =
 * make_writable_migration_entry(...)", "if (pmd_dirty(pmdval)) entry = make_migration_entry_dirty(entry)")
 * and the dirty bit goes to the folio: "if (pmd_dirty(pmdval)) folio_mark_dirty(folio)". No step
 * when the PMD does not map `head` (read lockless first, as the walk does). Returns true if it set
 * one.
 */
export function* setPmdMigrationEntry(t: Task, vma: number, index: number, head: number): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  const pmdval = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmdval) || hugePmdPfn(pmdval) !== head) return false;
  const [start] = ptlSpan(shm, vma, index);
  t.page = head;
  t.aux = start;
  const mm = yield* pmdLock(t, vma);
  const pmd = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmd) || hugePmdPfn(pmd) !== head) { // zapped or split meanwhile: not_found()
    pmdUnlock(t, mm);
    return false;
  }
  yield 'pmdp_invalidate';
  // pmdp_invalidate() returns the PMD with the dirty bit a store may have set meanwhile: one RMW
  let old = pmd;
  while (Atomics.compareExchange(shm.pmd, slot, old, mkPmdMigrationEntry(head, pmdBits(old))) !== old) old = Atomics.load(shm.pmd, slot);
  if (pmdDirty(old)) {
    yield 'folio_mark_dirty';
    t.ops.writeback.setPageDirty(t, head);
  }
  yield* t.ops.rmap.pageRemoveRmap(t, head, true);
  pmdUnlock(t, mm);
  yield* putPage(t, head); // folio_put(): 6.6 under the PMD lock; the migrator's reference keeps it either way
  t.stat('pmdMigrationEntries');
  return true;
}

/**
 * remove_migration_pmd() (6.6 mm/huge_memory.c), as remove_migration_pte() calls it ("if (!pvmw.pte)
 * { ... remove_migration_pmd(&pvmw, new); continue; }"): under the PMD lock, a PMD migration entry
 * naming `src` (page_vma_mapped_walk() with PVMW_MIGRATION matches only an entry of the old folio)
 * becomes a huge PMD of `dst` — folio_get(), mk_huge_pmd(), "if (is_writable_migration_entry(entry))
 * pmde = pmd_mkwrite(pmde, vma)", "if (PageDirty(new) && is_migration_entry_dirty(entry)) pmde =
 * pmd_mkdirty(pmde)", page_add_file_rmap(new, vma, true), set_pmd_at(). `dst` is `src` itself when
 * the migration failed (migrate_folio_undo_src()).
 * Anything else there (none: a zap removed the entry) is left alone.
 */
export function* removeMigrationPmd(t: Task, vma: number, index: number, src: number, dst: number): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, index);
  const pmdval = Atomics.load(shm.pmd, slot);
  if (!isPmdMigrationEntry(pmdval) || pmdMigrationPfn(pmdval) !== src) return false;
  const [start] = ptlSpan(shm, vma, index);
  t.page = dst;
  t.aux = start;
  const mm = yield* pmdLock(t, vma);
  const pmd = Atomics.load(shm.pmd, slot);
  if (!isPmdMigrationEntry(pmd) || pmdMigrationPfn(pmd) !== src) {
    pmdUnlock(t, mm);
    return false;
  }
  getPage(shm, dst);
  const bits = pmdBits(pmd);
  yield* t.ops.rmap.pageAddRmap(t, dst, true);
  yield 'set_pmd_at';
  Atomics.store(shm.pmd, slot, mkHugePmd(dst, (bits & PMD_WRITE) | (PageDirty(shm, dst) ? bits & PMD_DIRTY : 0)));
  const file = shm.vmaFile[vma];
  // as every PMD install: the folio is the page cache's at the range (folio_migrate_mapping() moved
  // the slots to dst before; on failure they are still src's)
  if (pageFile(shm, dst) !== file || Atomics.load(shm.index, dst) !== start) t.violation('MAP-CACHE', dst, file, start, vma);
  pmdUnlock(t, mm);
  t.stat('mapped', shm.sizes.ptesPerPtl);
  return true;
}
