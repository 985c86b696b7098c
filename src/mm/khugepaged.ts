// mm/khugepaged.c: collapse_file() for a regular file (!is_shmem) as in 5.9 — the page-by-page
// protocol that replaces small page-cache pages by one huge page. kernel-protocols §1.7 (end),
// §4.5, §7. For each small page of the range:
//
//   xas_lock_irq; page = xas_next(); dirty -> SCAN_FAIL; trylock_page() or SCAN_PAGE_LOCK;
//   get_page(); xas_unlock_irq
//   "The page must be locked, so we can drop the i_pages lock without racing with truncate."
//   !PageUptodate, page->mapping != mapping (SCAN_TRUNCATED), dirty/writeback -> out_unlock
//   isolate_lru_page()
//   if (page_mapped(page)) unmap_mapping_pages(mapping, index, 1, false);
//   xas_lock_irq; VM_BUG_ON_PAGE(page != xas_load(&xas), page);
//   VM_BUG_ON_PAGE(page_mapped(page), page);                       <- Hugh's hit under patch 4
//   page_ref_freeze(page, 3) or SCAN_PAGE_COUNT ("we hold a pin on it; one reference from page
//   cache; one from isolate_lru_page")
//   xas_store(new_page); xas_unlock_irq
//
// then copies the small pages into the huge page, or on failure puts them back:
// page_ref_unfreeze(page, 2), unlock_page(), put_page().
//
// THE MODEL HAS NO HUGE PAGES: a collapse here is exactly that per-page protocol — lock, unmap if
// mapped, the VM_BUG_ON_PAGE(page_mapped) assertion (COLLAPSE-MAPPED), freeze the refcount from
// the expected value or back off — over each small page of the range, followed by the failure
// path (unfreeze, unlock, put) for every page it froze. The frozen page stays in its slot instead
// of a locked new huge page, so a lookup meanwhile fails folio_try_get() and retries (where in the
// kernel it would find the new page locked and sleep on it): either way it waits for the collapse.
// The model has no LRU, so the reference isolate_lru_page() would hold is not there: the freeze
// expects 2 (our pin + the page cache's), where the kernel expects 3.
//
// Why the assertion holds on mainline: every path that maps a page-cache page takes the page lock
// first (filemap_map_pages trylocks, filemap_fault locks), and collapse holds it from before the
// unmap to after the assertion. Patch 4 maps private-VMA pages without the lock, so a fault-around
// that passed its checks before the trylock can install its PTE between the unmap and the
// assertion (Hugh Dickins, Msg-ID alpine.LSU.2.11.2010132230060.2516@eggly.anvils). Data stays
// safe: that mapper's reference makes the freeze fail; Hugh later deleted the assertion for that
// reason ("the page_ref_freeze() just below already handles the case adequately", 2021).
import { putPage } from './page_alloc.ts';
import { xaLoad } from '../shm/files.ts';
import { PageDirty, PageUptodate, PageWriteback, getPage, pageMapped, pageRefFreeze, pageRefUnfreeze } from '../shm/page.ts';
import { NIL } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import { PMD_NONE, pmdLock, pmdUnlock, pteFree, pteLock, pteOffsetMapLock, pteUnlock, transhugeVmaSuitable } from './pgtable.ts';
import { hpagePmdOrder, pmdRead, pmdTransHuge, pteAnon, ptePfn, ptePresent, pteRead, pteWrite, ptlSlot, ptlSpan } from '../shm/mm.ts';
import { PTE_DIRTY, PTE_WRITE } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, ScanResult } from '../kernel/task.ts';

/** page_ref_freeze(page, 3) in the kernel: pin + page cache + isolate_lru_page; no LRU here. */
export const COLLAPSE_FREEZE_REFS = 2;

/**
 * collapse_file(mapping, start) over file indices [start, start + nr): the per-page protocol
 * above, then (no huge page to install) the rollback of every frozen page. Returns how far it got:
 * 'SCAN_SUCCEED' if every small page was locked, unmapped, checked and frozen.
 */
export function* collapseFile(t: Task, file: number, start: number, nr: number): Step<ScanResult> {
  const shm = t.shm, L = t.ops.lock;
  const frozen: number[] = []; // the kernel's pagelist
  let result: ScanResult = 'SCAN_SUCCEED';
  for (let index = start; index < start + nr && result === 'SCAN_SUCCEED'; index++) {
    t.page = -1;
    t.aux = index;
    yield* spinLock(t, shm.iPagesLock, file, 'xas_lock_irq');
    yield 'xas_next';
    const pfn = xaLoad(shm, file, index);
    t.page = pfn;
    if (pfn === NIL) {
      // no readahead in the model: a hole fails the collapse (page_cache_sync_readahead, then
      // find_lock_page() failing, is SCAN_FAIL in the kernel)
      spinUnlock(shm.iPagesLock, file);
      result = 'SCAN_FAIL';
      break;
    }
    if (PageDirty(shm, pfn)) { // "khugepaged only works on read-only fd": filemap_flush(), fail
      spinUnlock(shm.iPagesLock, file);
      result = 'SCAN_FAIL';
      break;
    }
    if (!(yield* L.trylockPage(t, pfn))) {
      spinUnlock(shm.iPagesLock, file);
      result = 'SCAN_PAGE_LOCK';
      break;
    }
    getPage(shm, pfn); // under the i_pages lock a page in the xarray is not freed
    spinUnlock(shm.iPagesLock, file);

    // "The page must be locked, so we can drop the i_pages lock without racing with truncate."
    t.page = pfn;
    yield 'PageUptodate';
    if (!PageUptodate(shm, pfn)) result = 'SCAN_FAIL';
    else if (Atomics.load(shm.mapping, pfn) !== file + 1) result = 'SCAN_TRUNCATED';
    else if (PageDirty(shm, pfn) || PageWriteback(shm, pfn)) result = 'SCAN_FAIL';
    if (result !== 'SCAN_SUCCEED') {
      yield* L.unlockPage(t, pfn); // out_unlock:
      yield* putPage(t, pfn);
      break;
    }

    yield 'page_mapped';
    if (pageMapped(shm, pfn)) yield* t.ops.rmap.unmapMappingRange(t, file, index, index + 1, false); // unmap_mapping_pages(mapping, index, 1, false)

    t.page = pfn;
    t.aux = index;
    yield* spinLock(t, shm.iPagesLock, file, 'xas_lock_irq');
    yield 'xas_load';
    if (xaLoad(shm, file, index) !== pfn) t.violation('MAP-CACHE', pfn, file, index); // VM_BUG_ON_PAGE(page != xas_load(&xas))
    yield 'VM_BUG_ON_PAGE(page_mapped)';
    const mapcount = Atomics.load(shm.mapcount, pfn);
    if (mapcount >= 0) t.violation('COLLAPSE-MAPPED', pfn, mapcount, file, index);
    yield 'page_ref_freeze';
    if (!pageRefFreeze(shm, pfn, COLLAPSE_FREEZE_REFS)) {
      spinUnlock(shm.iPagesLock, file);
      result = 'SCAN_PAGE_COUNT';
      yield* L.unlockPage(t, pfn); // out_unlock:
      yield* putPage(t, pfn);
      break;
    }
    frozen.push(pfn); // list_add_tail(&page->lru, &pagelist); xas_store(&xas, new_page): not modelled
    spinUnlock(shm.iPagesLock, file);
  }

  // the failure path of collapse_file() for every page on the list (see the file comment)
  for (const pfn of frozen) {
    t.page = pfn;
    yield 'page_ref_unfreeze';
    pageRefUnfreeze(shm, pfn, COLLAPSE_FREEZE_REFS);
    yield* L.unlockPage(t, pfn);
    yield* putPage(t, pfn);
  }
  return result;
}

// ---- collapse_pte_mapped_thp() (6.6, --pmd on) -------------------------------------------------

/**
 * collapse_pte_mapped_thp(mm, addr, install_pmd) (6.6 mm/khugepaged.c; MADV_COLLAPSE passes
 * install_pmd, khugepaged does not): a PMD-sized folio the page cache holds at a VMA's PMD range and
 * that PTEs of its table map is given the range back as one PMD: the table is retracted and freed,
 * so the PMD is none again in the middle of a run (the table comes back with the next fault that
 * maps by PTEs). Steps:
 *  - "Fast check before locking page if already PMD-mapped" (SCAN_PMD_MAPPED);
 *  - filemap_lock_folio() at the range's index; not a PMD-sized folio: SCAN_PAGE_COMPOUND;
 *  - find_pmd_or_thp_or_none(): a huge PMD stops; a none PMD skips to step 5;
 *  - step 1, under pte_offset_map_lock(): every PTE is none or maps the folio's page at its index;
 *  - step 2, under pmd_lock() and the PTL: again ("We dropped ptl after the first scan"), then
 *    ptep_clear() and page_remove_rmap() of each; step 3 folio_ref_sub(folio, nr_ptes);
 *  - step 4: pmdp_collapse_flush() (the PMD is none), pte_free_defer() of the table;
 *  - step 5, with install_pmd: set_huge_pmd(): do_set_pmd(), and get_page() for it.
 * A PTE that is writable or dirty aborts: 6.6 collapses file THPs of shmem or of read-only files
 * (CONFIG_READ_ONLY_THP_FOR_FS: "PTE dirty? Shmem page is already dirty; file is read-only"), and
 * the model's writable shared mappings are neither. The mmap_lock the kernel holds for read has no
 * counterpart (nothing here takes it for writing). True for SCAN_SUCCEED: the PMD was none or its
 * table was retracted.
 */
export function* collapsePteMappedThp(t: Task, vma: number, index: number, installPmd: boolean): Step<boolean> {
  const shm = t.shm, file = shm.vmaFile[vma], L = t.ops.lock;
  if (!transhugeVmaSuitable(shm, vma, index)) return false; // SCAN_VMA_CHECK
  const [start, end] = ptlSpan(shm, vma, index);
  t.page = -1;
  t.aux = start;
  yield 'find_pmd_or_thp_or_none';
  if (pmdTransHuge(pmdRead(shm, vma, start))) return false; // SCAN_PMD_MAPPED
  const folio = yield* t.ops.pagecache.findGetPage(t, file, start); // filemap_lock_folio()
  if (folio === NIL) return false;
  yield* L.lockPage(t, folio);
  let retracted = false;
  t.page = folio;
  yield 'page->mapping';
  if (Atomics.load(shm.mapping, folio) === file + 1 && shm.compound[folio] === hpagePmdOrder(shm) && Atomics.load(shm.index, folio) === start) {
    const pmd = pmdRead(shm, vma, start);
    if (pmd === PMD_NONE) retracted = true; // "All pte entries have been removed and pmd cleared": step 5
    else if (!pmdTransHuge(pmd) && (yield* collapseCheckPtes(t, vma, start, end, folio))) retracted = yield* retractTable(t, vma, start, end, folio);
    if (retracted && installPmd) {
      // set_huge_pmd(): do_set_pmd() takes over a reference, get_page() gives the caller its own back
      if ((yield* t.ops.fault.doSetPmd(t, { vma, file, index: start }, folio)) === 0) getPage(shm, folio);
    }
  }
  yield* L.unlockPage(t, folio); // drop_folio:
  yield* putPage(t, folio);
  return retracted;
}

/** Step 1: under pte_offset_map_lock(), every PTE of [start, end) is none or a clean, read-only
 * PTE of `folio`'s page at that index. */
function* collapseCheckPtes(t: Task, vma: number, start: number, end: number, folio: number): Step<boolean> {
  const shm = t.shm;
  const ptl = yield* pteOffsetMapLock(t, vma, start);
  if (ptl < 0) return false; // "mmap_lock + page lock should prevent this"
  yield 'collapse_check_ptes';
  let ok = true;
  for (let i = start; i < end && ok; i++) ok = pteNoneOrOfFolio(pteRead(shm, vma, i), folio + i - start);
  pteUnlock(t, ptl);
  return ok;
}

/** "if (folio_page(folio, i) != page) goto abort": the PTE is none, or maps `page` (clean and
 * read-only: see above). */
const pteNoneOrOfFolio = (pte: number, page: number): boolean =>
  pte === 0 || (ptePresent(pte) && !pteAnon(pte) && ptePfn(pte) === page && (pte & (PTE_WRITE | PTE_DIRTY)) === 0);

/** Steps 2-4: under pmd_lock() and the PTL, clear the folio's PTEs (page_remove_rmap(), then
 * folio_ref_sub() of their references), pmdp_collapse_flush() and free the table. A PTE that changed
 * since step 1 aborts after what was cleared ("abort": its references are dropped all the same). */
function* retractTable(t: Task, vma: number, start: number, end: number, folio: number): Step<boolean> {
  const shm = t.shm, slot = ptlSlot(shm, vma, start);
  const mm = yield* pmdLock(t, vma);
  const table = Atomics.load(shm.pmd, slot);
  if (table < 0) { // pte_offset_map_nolock(): no table any more
    pmdUnlock(t, mm);
    return false;
  }
  const ptl = yield* pteLock(t, vma, start); // spin_lock_nested(ptl, SINGLE_DEPTH_NESTING)
  let nrPtes = 0, ok = true;
  for (let i = start; i < end && ok; i++) {
    const pte = pteRead(shm, vma, i);
    if (pte === 0) continue;
    if (!pteNoneOrOfFolio(pte, folio + i - start)) {
      ok = false;
      break;
    }
    t.aux = i;
    yield 'ptep_clear';
    pteWrite(shm, vma, i, 0);
    yield* t.ops.rmap.pageRemoveRmap(t, ptePfn(pte));
    nrPtes++;
  }
  if (nrPtes > 0) Atomics.sub(shm.refcount, folio, nrPtes); // folio_ref_sub(): the caller's pin stays
  if (ok) {
    yield 'pmdp_collapse_flush';
    Atomics.store(shm.pmd, slot, PMD_NONE);
  }
  pteUnlock(t, ptl);
  pmdUnlock(t, mm);
  if (ok && table > 0) yield* pteFree(t, table - 1); // pte_free_defer()
  return ok;
}
