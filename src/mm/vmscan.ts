// mm/vmscan.c: reclaim of one clean page-cache page (shrink_folio_list -> __remove_mapping).
//
// Reclaim does not rely on the page lock alone: it freezes the refcount from the exact count it
// expects to zero. Any other reference — a PTE's, or a speculative lookup's folio_try_get() —
// makes the freeze fail, and a lookup that comes after the freeze fails its try_get. This is
// what Linus pointed at as the real guard against map_pages (Msg-ID
// CAHk-=wgNooZpC8G4=0dB-OBT5PYuv9d=sqzUXS9Ea_acjrAi_A@mail.gmail.com).
import { freePage, putPage } from './page_alloc.ts';
import { PageDirty, PageWriteback, pageMapped, pageRefFreeze } from '../shm/page.ts';
import { __ClearPageLocked } from '../locks/common.ts';
import { NIL } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/**
 * The refcount __remove_mapping() freezes: 1 for the page cache + 1 for the reclaimer's own
 * reference. In the kernel the second is isolate_lru_page()'s LRU isolation reference
 * (`refcount = 1 + compound_nr(page)`); here the reclaimer's lookup reference stands in for it.
 */
export const RECLAIM_FREEZE_REFS = 2;

/**
 * Try to reclaim the page at (file, index): find it, trylock, unmap it through the rmap if
 * mapped, freeze its refcount 2 -> 0 under the i_pages lock, delete it, unlock (non-atomically:
 * nobody can reach it now), free it. Returns true if the page was freed.
 */
export function* shrinkPage(t: Task, file: number, index: number): Step<boolean> {
  const shm = t.shm;
  const pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
  if (pfn === NIL) return false;
  let freed = false;
  if (yield* t.ops.lock.trylockPage(t, pfn)) {
    t.page = pfn;
    t.aux = index;
    yield 'page->mapping';
    if (Atomics.load(shm.mapping, pfn) === file + 1 && !PageWriteback(shm, pfn) && !PageDirty(shm, pfn)) {
      yield 'page_mapped';
      const unmapped = !pageMapped(shm, pfn) || (yield* t.ops.rmap.tryToUnmap(t, pfn));
      if (unmapped) freed = yield* t.ops.reclaim.removeMapping(t, pfn, file);
    }
    if (freed) {
      __ClearPageLocked(t, pfn);
      yield* freePage(t, pfn);
      t.stat('reclaimed');
      return true;
    }
    yield* t.ops.lock.unlockPage(t, pfn);
  }
  yield* putPage(t, pfn);
  return false;
}

/** __remove_mapping(): under the i_pages lock, page_ref_freeze(page, 2) or give up
 * ("cannot_free"); then delete from the page cache. The page's refcount is left at 0. */
export function* removeMapping(t: Task, pfn: number, file: number): Step<boolean> {
  const shm = t.shm;
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_ref_freeze';
  if (!pageRefFreeze(shm, pfn, RECLAIM_FREEZE_REFS)) {
    spinUnlock(shm.iPagesLock, file);
    return false;
  }
  t.ops.pagecache.pageCacheDelete(t, pfn, file); // __filemap_remove_folio()
  spinUnlock(shm.iPagesLock, file);
  return true;
}
