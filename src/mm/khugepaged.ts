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
// WITH ORDER-0 PAGES ONLY (the default; with large folios 6.6's collapseFileFolio() below runs and
// installs a real PMD-sized folio) THERE IS NO HUGE PAGE: a collapse here is exactly that per-page protocol — lock, unmap if
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
import { allocPage, folioAlloc, putPage } from './page_alloc.ts';
import { vmasOfFile } from './rmap.ts';
import { __ClearPageLocked, __SetPageLocked } from '../locks/common.ts';
import { iSizeRead, maxIndex, xaLoad, xaStore } from '../shm/files.ts';
import { PageDirty, PageUptodate, PageWriteback, SetPageUptodate, folioNrPages, folioRefAdd, getPage, pageMapped, pageRefFreeze, pageRefUnfreeze } from '../shm/page.ts';
import { NIL } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import { PMD_NONE, pmdLock, pmdUnlock, pteFree, pteLock, pteOffsetMapLock, pteUnlock, transhugeVmaSuitable } from './pgtable.ts';
import { hpagePmdOrder, pmdRead, pmdTransHuge, pteAnon, ptePfn, ptePresent, pteRead, pteWrite, ptlSlot, ptlSpan, vmaContains, vmaShared } from '../shm/mm.ts';
import { PTE_DIRTY, PTE_WRITE } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, ScanResult } from '../kernel/task.ts';

/** page_ref_freeze(page, 3) in 5.9, page_count(page) != 3 in 6.6: pin + page cache + isolate_lru_page; no LRU here. */
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

// ---- collapse_file() with large folios (6.6) ---------------------------------------------------
//
// 6.6 mm/khugepaged.c collapse_file() for a regular file (!is_shmem, CONFIG_READ_ONLY_THP_FOR_FS),
// once the model has folios of the PMD order (the collapse scenario with --max-folio-order at least
// log2(--ptes-per-ptl), or --pmd on). Since ac492b9c70ca "mm/khugepaged: maintain page cache uptodate
// flag" (v6.3) the old pages stay in the page cache, locked, until the new folio replaces them in one
// multi-index store, and their refcounts are checked, not frozen: "We control three references to
// the page ... If those are the only references, then any new usage of the page will have to fetch
// it from the page cache. That requires locking the page to handle truncate, so any new usage will
// be blocked until we unlock page after collapse/during rollback." Steps:
//
//   alloc_charge_hpage() (SCAN_ALLOC_HUGE_PAGE_FAIL); __SetPageLocked(hpage); hpage->index, ->mapping
//   xas_lock_irq (xas_create_range); for each index of [start, start + HPAGE_PMD_NR), the i_pages
//   lock held at the top of each iteration:
//     xas_load; a hole: page_cache_sync_readahead() + find_lock_page() (the model: SCAN_FAIL);
//     PageDirty / PageWriteback: SCAN_FAIL; trylock_page() else SCAN_PAGE_LOCK; get_page(); unlock
//     !PageUptodate: SCAN_FAIL; PageTransCompound(): SCAN_PTE_MAPPED_HUGEPAGE when it is a folio of
//     HPAGE_PMD_ORDER at `start` ("Maybe PMD-mapped": the caller hands over to
//     collapse_pte_mapped_thp()), else SCAN_PAGE_COMPOUND; folio_mapping() != mapping:
//     SCAN_TRUNCATED; dirty / writeback: SCAN_FAIL
//     folio_isolate_lru(), filemap_release_folio() (no LRU, no private data here)
//     if (folio_mapped(folio)) try_to_unmap(folio, TTU_IGNORE_MLOCK | TTU_BATCH_FLUSH)
//     xas_lock_irq; VM_BUG_ON_PAGE(page != xa_load()); page_count(page) != 3: SCAN_PAGE_COUNT
//     list_add_tail(&page->lru, &pagelist) -- the i_pages lock stays held into the next index
//   xas_unlock_irq; copy_mc_highpage() of every old page into the new folio (its data stamps)
//   xas_lock_irq; folio_mark_uptodate(); folio_ref_add(folio, HPAGE_PMD_NR - 1); xas_set_order() +
//   xas_store(): one multi-index entry; xas_unlock_irq
//   retract_page_tables(mapping, start); folio_unlock(hpage)
//   each old page: page->mapping = NULL; unlock_page(); folio_put_refs(folio, 3)
// rollback: each old page unlock_page(), putback_lru_page(), put_page(); hpage->mapping = NULL,
// unlock_page(hpage), put_page(hpage).
// The model has no LRU: the count check expects 2 (our pin + the page cache's), as the 5.9 freeze
// above; the old pages are freed with folio_put_refs(folio, 2). No assertion of page_mapped() here:
// Hugh Dickins deleted 5.9's VM_BUG_ON_PAGE(page_mapped(page)) in 2021 (the count check covers it).

/**
 * collapse_file(mm, addr, file, start, cc) (6.6) over the PMD-sized range at `start` (a multiple of
 * HPAGE_PMD_NR, --ptes-per-ptl pages here) of `file`. Returns SCAN_SUCCEED with the new folio in the
 * page cache and the range's PTE tables retracted, or why it rolled back.
 */
export function* collapseFileFolio(t: Task, file: number, start: number): Step<ScanResult> {
  const shm = t.shm, L = t.ops.lock, order = hpagePmdOrder(shm), nr = 1 << order, end = start + nr;
  if (order < 1 || start % nr !== 0) throw new Error(`collapse_file: range ${start} is not PMD-aligned (order ${order})`); // VM_BUG_ON(start & (HPAGE_PMD_NR - 1))
  // alloc_charge_hpage(): khugepaged's GFP_TRANSHUGE_LIGHT does no direct reclaim (defrag off)
  const hpage = yield* folioAlloc(t, order);
  if (hpage === NIL) return 'SCAN_ALLOC_HUGE_PAGE_FAIL';
  // __SetPageLocked(hpage); "hpage->index = start; hpage->mapping = mapping;": the model sets both
  // at the store (collapseReplace()): nobody can see the folio before it, and a new page with no
  // mapping has no place in lockdep's page order (src/check/lockdep.ts rule 3), as it has none in
  // the kernel (lockdep does not track page locks); with its mapping set, holding it while
  // lock_page() waits on the old page at the same index would read as a lock taken out of order
  __SetPageLocked(t, hpage);
  const pagelist: number[] = [];
  let result: ScanResult = 'SCAN_SUCCEED';
  t.page = -1;
  t.aux = start;
  yield* spinLock(t, shm.iPagesLock, file, 'xas_lock_irq'); // xas_create_range(): the slots exist
  let xaLocked = true;
  for (let index = start; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_load';
    let page = xaLoad(shm, file, index); // the folio (its multi-index entry) holding `index`
    t.page = page;
    if (page === NIL) {
      spinUnlock(shm.iPagesLock, file);
      xaLocked = false;
      page = yield* collapseReadHole(t, file, index);
      if (page === NIL) { // "if (unlikely(page == NULL)) { result = SCAN_FAIL; goto xa_unlocked; }"
        result = 'SCAN_FAIL';
        break;
      }
    } else if (PageDirty(shm, page) || PageWriteback(shm, page)) { // "khugepaged only works on read-only fd": filemap_flush()
      result = 'SCAN_FAIL';
      break;
    } else if (!(yield* L.trylockPage(t, page))) {
      result = 'SCAN_PAGE_LOCK';
      break;
    } else {
      getPage(shm, page);
      spinUnlock(shm.iPagesLock, file);
      xaLocked = false;
    }

    // "The page must be locked, so we can drop the i_pages lock without racing with truncate."
    yield 'PageUptodate';
    if (!PageUptodate(shm, page)) result = 'SCAN_FAIL';
    else if (shm.compound[page] > 0) // PageTransCompound(): "a THP might be there already"
      result = shm.compound[page] === order && Atomics.load(shm.index, page) === start ? 'SCAN_PTE_MAPPED_HUGEPAGE' : 'SCAN_PAGE_COMPOUND';
    else if (Atomics.load(shm.mapping, page) !== file + 1) result = 'SCAN_TRUNCATED';
    else if (PageDirty(shm, page) || PageWriteback(shm, page)) result = 'SCAN_FAIL';
    if (result !== 'SCAN_SUCCEED') {
      yield* L.unlockPage(t, page); // out_unlock:
      yield* putPage(t, page);
      break;
    }
    yield 'folio_mapped';
    if (pageMapped(shm, page)) yield* t.ops.rmap.tryToUnmap(t, page); // try_to_unmap(folio, TTU_IGNORE_MLOCK | TTU_BATCH_FLUSH)

    t.page = page;
    t.aux = index;
    yield* spinLock(t, shm.iPagesLock, file, 'xas_lock_irq');
    xaLocked = true;
    yield 'page_count';
    if (xaLoad(shm, file, index) !== page) t.violation('MAP-CACHE', page, file, index); // VM_BUG_ON_PAGE(page != xa_load(xas.xa, index))
    if (Atomics.load(shm.refcount, page) !== COLLAPSE_FREEZE_REFS) { // page_count(page) != 3
      result = 'SCAN_PAGE_COUNT';
      spinUnlock(shm.iPagesLock, file);
      xaLocked = false;
      yield* L.unlockPage(t, page); // out_unlock:
      yield* putPage(t, page);
      break;
    }
    pagelist.push(page); // "Accumulate the pages that are being collapsed."
  }
  if (xaLocked) spinUnlock(shm.iPagesLock, file); // xa_locked:

  if (result === 'SCAN_SUCCEED') {
    yield* collapseCopy(t, hpage, file, start, pagelist);
    yield* t.ops.collapse.collapseFinish(t, file, start, hpage, pagelist);
    t.stat('collapsed');
    return result;
  }
  // rollback: "Something went wrong: roll back page cache changes"
  for (const page of pagelist) {
    yield* L.unlockPage(t, page);
    yield* putPage(t, page); // putback_lru_page(); put_page()
  }
  t.page = hpage;
  yield 'hpage->mapping = NULL';
  for (let i = nr - 1; i >= 0; i--) Atomics.store(shm.mapping, hpage + i, 0);
  yield* L.unlockPage(t, hpage);
  yield* putPage(t, hpage);
  return result;
}

/**
 * hpage_collapse_scan_file(mm, addr, file, start, cc) (6.6), the caller of collapse_file() for
 * khugepaged (khugepaged_scan_mm_slot()) and MADV_COLLAPSE (madvise_collapse()): under
 * rcu_read_lock() only, xas_for_each() over the range's page-cache entries. A large folio stops it
 * ("TODO: khugepaged should compact smaller compound pages into a PMD sized page"):
 * SCAN_PTE_MAPPED_HUGEPAGE for a PMD-sized one at `start` ("further processing by the caller won't
 * touch the page cache"), else SCAN_PAGE_COMPOUND; "page_count(page) != 1 + page_mapcount(page) +
 * page_has_private(page)" is SCAN_PAGE_COUNT (a reference beyond the page cache's and the PTEs'; no
 * LRU, no private data here). Then khugepaged wants "present >= HPAGE_PMD_NR -
 * khugepaged_max_ptes_none" (the default max_ptes_none is HPAGE_PMD_NR - 1: one page) or
 * SCAN_EXCEED_NONE_PTE; MADV_COLLAPSE takes any. Then collapse_file(). The reads are racy, as the
 * kernel's: collapse_file() decides again under the locks.
 */
export function* hpageCollapseScanFile(t: Task, file: number, start: number, khugepaged: boolean): Step<ScanResult> {
  const shm = t.shm, order = hpagePmdOrder(shm), nr = 1 << order;
  let present = 0;
  t.page = -1;
  t.aux = start;
  yield 'rcu_read_lock';
  for (let index = start; index < start + nr; index++) {
    const page = xaLoad(shm, file, index);
    if (page === NIL) continue;
    t.page = page;
    t.aux = index;
    yield 'xas_for_each';
    const c = shm.compound[page];
    if (c > 0) return c === order && Atomics.load(shm.index, page) === start ? 'SCAN_PTE_MAPPED_HUGEPAGE' : 'SCAN_PAGE_COMPOUND';
    if (Atomics.load(shm.refcount, page) !== 1 + Atomics.load(shm.mapcount, page) + 1) return 'SCAN_PAGE_COUNT';
    present++;
  }
  if (khugepaged && present < 1) return 'SCAN_EXCEED_NONE_PTE';
  return yield* t.ops.collapse.collapseFileFolio(t, file, start);
}

/**
 * A hole in the range (!is_shmem): "page_cache_sync_readahead(mapping, &file->f_ra, file, index,
 * end - index); ... page = find_lock_page(mapping, index);". Readahead of the one page at `index`
 * if it lies inside i_size
 * (order 0: the files READ_ONLY_THP_FOR_FS collapses have no large folio support; a page added
 * meanwhile by someone else is -EEXIST and left to them), then find_lock_page(): a blocking lock,
 * and the mapping re-checked under it (the lookup is retried if the page was truncated or
 * reclaimed meanwhile). The page is returned locked with a reference, or NIL.
 */
function* collapseReadHole(t: Task, file: number, index: number): Step<number> {
  const shm = t.shm, L = t.ops.lock;
  // do_page_cache_ra(): "if (index > end_index) return": nothing is read at or beyond EOF
  const pfn = index < maxIndex(iSizeRead(shm, file)) ? yield* allocPage(t) : NIL;
  if (pfn !== NIL) {
    __SetPageLocked(t, pfn);
    if (yield* t.ops.pagecache.filemapAddFolio(t, pfn, file, index)) {
      yield* t.ops.pagecache.readPage(t, pfn, file, index);
      yield* L.unlockPage(t, pfn); // the read's completion
    } else {
      __ClearPageLocked(t, pfn);
    }
    yield* putPage(t, pfn); // readahead's reference
  }
  for (;;) { // find_lock_page()
    const page = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (page === NIL) return NIL;
    yield* L.lockPage(t, page);
    t.page = page;
    yield 'page->mapping';
    if (Atomics.load(shm.mapping, page) === file + 1 && xaLoad(shm, file, index) === page) return page;
    yield* L.unlockPage(t, page);
    yield* putPage(t, page);
  }
}

/** copy_mc_highpage() of each old page into its page of the new folio: the data stamps. "The old
 * pages are locked, so they won't change anymore." (No hole reaches here: clear_highpage() has
 * nothing to do.) */
function* collapseCopy(t: Task, hpage: number, file: number, start: number, pagelist: readonly number[]): Step {
  const shm = t.shm;
  t.page = hpage;
  yield 'copy_mc_highpage';
  for (const page of pagelist) {
    const index = Atomics.load(shm.index, page), dst = hpage + index - start;
    // what is copied must be the file's data at that index: the old page is locked and in the cache
    if (shm.stampFile[page] !== file || shm.stampIndex[page] !== index) t.violation('DATA-STAMP', page, file, index, shm.stampFile[page], shm.stampIndex[page]);
    shm.stampFile[dst] = shm.stampFile[page];
    shm.stampIndex[dst] = shm.stampIndex[page];
    shm.stampEnd[dst] = shm.stampEnd[page];
  }
}

/**
 * The end of a successful 6.6 collapse_file(): the new folio replaces the old pages in the page
 * cache (collapseReplace()), retract_page_tables() while the new folio is still locked ("Huge page
 * lock is still held, so normally the page table must remain empty"), folio_unlock(), and the old
 * pages freed (collapseFreeOld()).
 */
export function* collapseFinish(t: Task, file: number, start: number, hpage: number, pagelist: readonly number[]): Step {
  yield* collapseReplace(t, file, start, hpage);
  yield* t.ops.collapse.retractPageTables(t, file, start); // "Remove pte page tables, so we can re-fault the page as huge."
  yield* t.ops.lock.unlockPage(t, hpage);
  yield* collapseFreeOld(t, pagelist);
}

/** Under the i_pages lock: folio_mark_uptodate(), folio_ref_add(folio, HPAGE_PMD_NR - 1) (the
 * allocation's reference and these are the page cache's nr), then xas_set_order() + xas_store():
 * "Join all the small entries into a single multi-index entry." nrpages does not change. */
export function* collapseReplace(t: Task, file: number, start: number, hpage: number): Step {
  const shm = t.shm, nr = folioNrPages(shm, hpage);
  t.page = hpage;
  t.aux = start;
  yield* spinLock(t, shm.iPagesLock, file, 'xas_lock_irq');
  for (let i = 0; i < nr; i++) { // hpage->index, hpage->mapping (every page here: src/shm/page.ts)
    Atomics.store(shm.index, hpage + i, start + i);
    Atomics.store(shm.mapping, hpage + i, file + 1);
  }
  SetPageUptodate(shm, hpage);
  folioRefAdd(shm, hpage, nr - 1);
  yield 'xas_store';
  for (let i = 0; i < nr; i++) xaStore(shm, file, start + i, hpage);
  spinUnlock(shm.iPagesLock, file);
}

/** "The collapse has succeeded, so free the old pages": page->mapping = NULL (a task that pinned
 * one and waits for its lock sees it and looks again), unlock_page(), folio_put_refs(folio, 3). */
export function* collapseFreeOld(t: Task, pagelist: readonly number[]): Step {
  for (const page of pagelist) {
    t.page = page;
    yield 'page->mapping = NULL';
    Atomics.store(t.shm.mapping, page, 0);
    yield* t.ops.lock.unlockPage(t, page);
    yield* putPage(t, page, COLLAPSE_FREEZE_REFS);
  }
}

/**
 * retract_page_tables(mapping, pgoff) (6.6, Hugh Dickins' rewrite for 6.6: no mmap_lock, pmd_lock()
 * and the PTL): for each VMA mapping the file at `start` whose PMD range there lies inside it and
 * holds a PTE table (find_pmd_or_thp_or_none()), clear the PMD (pmdp_collapse_flush()) and free the
 * table (pte_free_defer()). The PTEs are not looked at: the new folio's lock keeps the table empty.
 * "Check vma->anon_vma to exclude MAP_PRIVATE mappings that got written to": the model keeps no
 * anon_vma, and its private VMAs take COW faults from the first operations, so every private VMA is
 * skipped (a COW copy in the table would be lost otherwise).
 */
export function* retractPageTables(t: Task, file: number, start: number): Step {
  const shm = t.shm;
  t.page = -1;
  t.aux = start;
  yield 'i_mmap_lock_read';
  for (const vma of vmasOfFile(shm, file)) {
    if (!vmaShared(shm, vma) || !vmaContains(shm, vma, start) || !transhugeVmaSuitable(shm, vma, start)) continue;
    yield 'find_pmd_or_thp_or_none';
    if (Atomics.load(shm.pmd, ptlSlot(shm, vma, start)) < 0) continue; // none or huge: SCAN_PMD_NULL / SCAN_PMD_MAPPED
    const mm = yield* pmdLock(t, vma);
    const ptl = yield* pteLock(t, vma, start); // spin_lock_nested(ptl, SINGLE_DEPTH_NESTING)
    yield 'pmdp_collapse_flush';
    const table = Atomics.load(shm.pmd, ptlSlot(shm, vma, start));
    Atomics.store(shm.pmd, ptlSlot(shm, vma, start), PMD_NONE);
    pteUnlock(t, ptl);
    pmdUnlock(t, mm);
    if (table > 0) yield* pteFree(t, table - 1); // pte_free_defer(); 0: a table the mm started with, no page
  }
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
