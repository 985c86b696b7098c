// mm/vmscan.c: reclaim of one clean page-cache page (shrink_folio_list -> __remove_mapping).
//
// Reclaim does not rely on the page lock alone: it freezes the refcount from the exact count it
// expects to zero. Any other reference — a PTE's, or a speculative lookup's folio_try_get() —
// makes the freeze fail, and a lookup that comes after the freeze fails its try_get. This is
// what Linus pointed at as the real guard against map_pages (Msg-ID
// CAHk-=wgNooZpC8G4=0dB-OBT5PYuv9d=sqzUXS9Ea_acjrAi_A@mail.gmail.com).
import { freePage, putPage } from './page_alloc.ts';
import { PageDirty, PageWriteback, folioNrPages, pageMapped, pageRefFreeze, pageRefUnfreeze } from '../shm/page.ts';
import { __ClearPageLocked } from '../locks/common.ts';
import { NIL, PG_dirty, PG_writeback } from '../shm/shm.ts';
import { CTL } from '../shm/layout.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/**
 * The refcount __remove_mapping() freezes for an order-0 page: 1 for the page cache + 1 for the
 * reclaimer's own reference. In the kernel the second is isolate_lru_page()'s LRU isolation
 * reference (`refcount = 1 + compound_nr(page)`); here the reclaimer's lookup reference stands in
 * for it.
 */
export const RECLAIM_FREEZE_REFS = 2;

/** v6.6 __remove_mapping(): "refcount = 1 + folio_nr_pages(folio)": the isolation reference and
 * the page cache's one per page. */
export const reclaimFreezeRefs = (nr: number): number => 1 + nr;

/**
 * shrink_folio_list() (v6.6) for the clean page-cache page at (file, index), in its order:
 * folio_trylock(); a page under writeback: Case 3 ("legacy memcg", t.options
 * 'reclaim-wait-writeback': the writeback scenario's flag, on by default there) unlocks it, folio_wait_writeback() without the page lock
 * and tries the page again (once here), else Case 2 keeps it; a mapped page: try_to_unmap(), and
 * "if (folio_mapped(folio)) goto activate_locked"; a dirty page is kept (pageout() of file pages is
 * kswapd's, not modelled); then __remove_mapping() freezes the refcount, the page is unlocked
 * non-atomically (__folio_clear_locked: nobody can reach it now) and freed. Returns true if freed.
 *
 * A large folio is reclaimed whole (v6.6 shrink_folio_list() of a file folio): one lock, try_to_unmap()
 * over every PTE of its pages (rmapWalkFile()), __remove_mapping() freezing 1 + nr references and
 * emptying every slot of its range, and free_unref_folios() of the whole folio at its order
 * (freePage() frees what compound[] says the head heads).
 *
 * The page freed must carry nothing unwritten (RECLAIM-DIRTY): with the refcount frozen nobody
 * can dirty it any more, so PG_dirty (and a dirty PTE: it must be unmapped) is checked here, on
 * whatever __remove_mapping() left.
 */
export function* shrinkPage(t: Task, file: number, index: number): Step<boolean> {
  const shm = t.shm;
  const pfn = yield* t.ops.pagecache.findGetPage(t, file, index); // isolate_lru_folio()'s reference
  if (pfn === NIL) return false;
  let locked = false;
  for (let pass = 0; (locked = yield* t.ops.lock.trylockPage(t, pfn)); pass++) {
    t.page = pfn;
    t.aux = index;
    yield 'page->mapping';
    if (Atomics.load(shm.mapping, pfn) !== file + 1) break;
    yield 'folio_test_writeback';
    if (PageWriteback(shm, pfn)) {
      if (t.options['reclaim-wait-writeback'] !== true || pass > 0) break; // Case 2: keep it
      // Case 3: "folio_unlock(folio); folio_wait_writeback(folio); ... try same folio again"
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* t.ops.lock.waitOnPageWriteback(t, pfn);
      continue;
    }
    yield 'folio_mapped';
    if (pageMapped(shm, pfn)) {
      yield* t.ops.rmap.tryToUnmap(t, pfn);
      t.page = pfn;
      yield 'folio_mapped';
      if (pageMapped(shm, pfn)) break; // activate_locked
    }
    yield 'folio_test_dirty';
    if (PageDirty(shm, pfn)) break; // keep_locked: only kswapd writes file pages out
    yield 'folio_needs_release'; // no buffers or private data to release here
    if (yield* t.ops.reclaim.removeMapping(t, pfn, file)) {
      const flags = Atomics.load(shm.flags, pfn);
      if ((flags & (PG_dirty | PG_writeback)) !== 0 || pageMapped(shm, pfn)) t.violation('RECLAIM-DIRTY', pfn, file, index, flags);
      __ClearPageLocked(t, pfn);
      yield* freePage(t, pfn);
      t.stat('reclaimed');
      return true;
    }
    break;
  }
  if (locked) yield* t.ops.lock.unlockPage(t, pfn); // every break above holds the lock
  yield* putPage(t, pfn);
  return false;
}

/** __remove_mapping() (v6.6): under the i_pages lock, folio_ref_freeze(folio, 1 + nr) or give up
 * ("cannot_free"); then, the freeze done, "if (unlikely(folio_test_dirty(folio))) {
 * folio_ref_unfreeze(folio, refcount); goto cannot_free; }": somebody who held a reference (a
 * get_user_pages() pin) may have dirtied the page and dropped it after reclaim's own dirty test,
 * and only once the count is frozen can no one dirty it any more. Then delete from the page
 * cache: page_cache_delete() stores NULL in every slot of a large folio's range (xas_set_order();
the kernel stores a shadow entry, the model has none). The folio's refcount is left at 0. */
export function* removeMapping(t: Task, pfn: number, file: number): Step<boolean> {
  const shm = t.shm;
  t.page = pfn;
  yield 'i_lock'; // spin_lock(&mapping->host->i_lock) (inode LRU accounting): uncontended here
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_ref_freeze';
  const refcount = reclaimFreezeRefs(folioNrPages(shm, pfn));
  if (!pageRefFreeze(shm, pfn, refcount)) {
    spinUnlock(shm.iPagesLock, file);
    return false;
  }
  yield 'folio_test_dirty';
  if (PageDirty(shm, pfn)) {
    pageRefUnfreeze(shm, pfn, refcount);
    spinUnlock(shm.iPagesLock, file);
    return false;
  }
  t.ops.pagecache.pageCacheDelete(t, pfn, file); // __filemap_remove_folio()
  spinUnlock(shm.iPagesLock, file);
  return true;
}

/** SWAP_CLUSTER_MAX: the pages one direct-reclaim pass looks at (scan_control.nr_to_reclaim). */
export const SWAP_CLUSTER_MAX = 32;

/**
 * try_to_free_pages() (v6.6) -> do_try_to_free_pages() -> shrink_node() -> shrink_folio_list():
 * the allocator's direct reclaim, run by the allocating task with whatever it holds (a page lock
 * for a caller that allocates under one: lockdep sees what a Case 3 writeback wait then depends
 * on). The LRU is the page cache here: up to SWAP_CLUSTER_MAX pages from a starting point that
 * moves with the allocation counter, stopping at the first folio freed (nr_to_reclaim for one
 * order-0 allocation; a large folio is freed whole, by the same shrinkPage()). Returns the folios
 * freed (0 or 1).
 */
export function* tryToFreePages(t: Task): Step<number> {
  const shm = t.shm, files = shm.sizes.files, per = shm.sizes.pagesPerFile;
  if (files === 0) return 0;
  const total = files * per, start = Atomics.load(shm.ctl, CTL.ALLOC_GEN) % total;
  for (let i = 0; i < Math.min(SWAP_CLUSTER_MAX, total); i++) {
    const s = (start + i) % total;
    t.aux = s % per;
    if (yield* t.ops.reclaim.shrinkPage(t, Math.floor(s / per), s % per)) return 1;
  }
  return 0;
}
