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
