// mm/truncate.c: truncate_setsize() -> truncate_pagecache() -> truncate_inode_pages_range()
// (kernel-protocols §4.1-4.3).
//
// The order is the guarantee: i_size is written first, so a faulter that locks a page after the
// truncator sees the new i_size (or mapping == NULL) and backs off; a faulter that locked it
// before has its PTE seen (page_mapped) and zapped by truncate_cleanup_folio(). The second
// unmap_mapping_range() catches private COW copies made meanwhile: they are other pages, not
// covered by the file page's lock.
import { putPage } from './page_alloc.ts';
import { PAGE_SIZE, maxIndex } from '../shm/files.ts';
import { CTL } from '../shm/layout.ts';
import { PageWriteback, pageMapped } from '../shm/page.ts';
import { NIL } from '../shm/shm.ts';
import { mutexLock, mutexUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/**
 * truncate_setsize() as do_truncate() runs it: under i_rwsem, i_size first, then
 * truncate_pagecache(). Growing a file (newsize > i_size) removes nothing. CTL.TRUNCATING counts
 * truncations in flight (MAP-EOF holds only when none is), CTL.TRUNC_SEQ the ones started.
 */
export function* truncateSetsize(t: Task, file: number, newsize: number): Step {
  const shm = t.shm, ctl = shm.ctl;
  t.page = -1;
  t.aux = maxIndex(newsize);
  yield* mutexLock(t, shm.iRwsem, file, 'inode_lock');
  Atomics.add(ctl, CTL.TRUNCATING, 1);
  Atomics.add(ctl, CTL.TRUNC_SEQ, 1);
  yield 'i_size_write';
  Atomics.store(shm.iSize, file, newsize);
  yield* t.ops.truncate.truncatePagecache(t, file, newsize);
  Atomics.sub(ctl, CTL.TRUNCATING, 1);
  yield* mutexUnlock(shm.iRwsem, file);
  t.stat('truncations');
}

/** truncate_pagecache(): unmap, truncate, unmap again ("for correctness": COWed private pages). */
export function* truncatePagecache(t: Task, file: number, newsize: number): Step {
  const holebegin = maxIndex(newsize), end = t.shm.sizes.pagesPerFile;
  const R = t.ops.rmap;
  yield* R.unmapMappingRange(t, file, holebegin, end, true);
  yield* t.ops.truncate.truncateInodePagesRange(t, file, newsize);
  yield* R.unmapMappingRange(t, file, holebegin, end, true);
}

/** page->mapping and page->index still say `file` and `index` (the re-check after the lock). */
export function pageInFile(t: Task, pfn: number, file: number, index: number): boolean {
  return Atomics.load(t.shm.mapping, pfn) === file + 1 && Atomics.load(t.shm.index, pfn) === index;
}

/** truncate_cleanup_folio(): if a PTE maps the locked page (a faulter that held the lock before
 * us), unmap it. */
export function* truncateCleanupFolio(t: Task, pfn: number): Step {
  yield 'folio_mapped';
  if (pageMapped(t.shm, pfn)) yield* t.ops.rmap.unmapMappingFolio(t, pfn);
}

/**
 * truncate_inode_folio() on a locked page, after the caller's 'page->mapping' step: if truncation
 * took it meanwhile (folio->mapping != mapping) nothing to do (-EIO); else
 * truncate_cleanup_folio(), filemap_remove_folio(), and drop the page cache's reference
 * (filemap_free_folio()).
 */
export function* truncateInodeFolio(t: Task, pfn: number, file: number, index: number): Step {
  if (!pageInFile(t, pfn, file, index)) return;
  yield* t.ops.truncate.truncateCleanupFolio(t, pfn);
  yield* t.ops.pagecache.filemapRemoveFolio(t, pfn, file);
  yield* putPage(t, pfn);
}

/**
 * truncate_inode_partial_folio() (6.6 mm/truncate.c) for an order-0 page, locked: the part from
 * `lstart` to the page end goes (offset = lstart - folio_pos, length = the rest of the page):
 * folio_wait_writeback(), then folio_zero_range(folio, offset, length), so the bytes beyond the
 * new EOF read as zeros through a PTE now and stay zeros if the file grows again (EOF-ZERO). The
 * page stays in the cache and stays mapped: truncate_pagecache() unmaps from the next page on.
 */
export function* truncateInodePartialFolio(t: Task, pfn: number, lstart: number): Step {
  const shm = t.shm;
  yield* t.ops.lock.waitOnPageWriteback(t, pfn);
  // folio_zero_range(): no schedule point of its own. It runs under the page lock, and EOF-ZERO is
  // judged only while no truncation is in flight, so a point here would add no interleaving the
  // check can tell apart; without one, recorded schedules through this path (the repro files of
  // docs/findings) replay step for step.
  const offset = lstart % PAGE_SIZE;
  if (shm.stampEnd[pfn] > offset) shm.stampEnd[pfn] = offset;
}

/**
 * truncate_inode_pages_range(mapping, lstart, end of file):
 *  - pass 1 (find_lock_entries): trylock only; skip pages locked by others, under writeback, or
 *    truncated meanwhile;
 *  - the partial page at lstart: blocking lock, truncate_inode_partial_folio() (zero the tail);
 *  - pass 2: blocking lock_page, wait for writeback, truncate what is still ours; restart from the
 *    start until a walk finds nothing ("Otherwise restart to make sure all gone").
 */
export function* truncateInodePagesRange(t: Task, file: number, lstart: number): Step {
  const shm = t.shm, L = t.ops.lock, T = t.ops.truncate, pc = t.ops.pagecache;
  const start = maxIndex(lstart), end = shm.sizes.pagesPerFile;

  for (let index = start; index < end; index++) {
    const pfn = yield* pc.findGetPage(t, file, index);
    if (pfn === NIL) continue;
    if (yield* L.trylockPage(t, pfn)) {
      t.page = pfn;
      t.aux = index;
      yield 'page->mapping';
      // find_lock_entries() skips a page under writeback
      if (!PageWriteback(shm, pfn)) yield* T.truncateInodeFolio(t, pfn, file, index);
      yield* L.unlockPage(t, pfn);
    }
    yield* putPage(t, pfn);
  }

  if (lstart % PAGE_SIZE !== 0) {
    const index = Math.floor(lstart / PAGE_SIZE);
    const pfn = yield* pc.findGetPage(t, file, index);
    if (pfn !== NIL) {
      yield* L.lockPage(t, pfn); // __filemap_get_folio(FGP_LOCK)
      yield* T.truncateInodePartialFolio(t, pfn, lstart);
      yield* L.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
  }

  for (let found = true; found;) {
    found = false;
    for (let index = start; index < end; index++) {
      const pfn = yield* pc.findGetPage(t, file, index);
      if (pfn === NIL) continue;
      found = true;
      yield* L.lockPage(t, pfn);
      yield* L.waitOnPageWriteback(t, pfn);
      t.page = pfn;
      t.aux = index;
      yield 'page->mapping';
      yield* T.truncateInodeFolio(t, pfn, file, index);
      yield* L.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
  }
}
