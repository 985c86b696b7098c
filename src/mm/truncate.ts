// mm/truncate.c: truncate_setsize() -> truncate_pagecache() -> truncate_inode_pages_range()
// (kernel-protocols §4.1-4.3).
//
// The order is the guarantee: i_size is written first, so a faulter that locks a page after the
// truncator sees the new i_size (or mapping == NULL) and backs off; a faulter that locked it
// before has its PTE seen (page_mapped) and zapped by truncate_cleanup_folio(). The second
// unmap_mapping_range() catches private COW copies made meanwhile: they are other pages, not
// covered by the file page's lock.
import { putPage } from '../shm/alloc.ts';
import { PAGE_SIZE, maxIndex } from '../shm/files.ts';
import { CTL } from '../shm/layout.ts';
import { PageWriteback, pageMapped } from '../shm/page.ts';
import { NIL } from '../shm/shm.ts';
import { mutexLock, mutexUnlock } from '../shm/spinlock.ts';
import type { Step } from '../sched/step.ts';
import type { Task } from '../sched/task.ts';
import { filemapRemoveFolio, findGetPage } from './filemap.ts';
import { unmapMappingFolio, unmapMappingRange } from './memory.ts';
import { mapPagesOf } from '../variants/map-pages/index.ts';

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
  yield* truncatePagecache(t, file, newsize);
  Atomics.sub(ctl, CTL.TRUNCATING, 1);
  yield* mutexUnlock(shm.iRwsem, file);
  t.stat('truncations');
}

/** truncate_pagecache(): unmap, truncate, unmap again ("for correctness": COWed private pages). */
export function* truncatePagecache(t: Task, file: number, newsize: number): Step {
  const holebegin = maxIndex(newsize), end = t.shm.sizes.pagesPerFile;
  yield* unmapMappingRange(t, file, holebegin, end, true);
  yield* truncateInodePagesRange(t, file, newsize);
  yield* unmapMappingRange(t, file, holebegin, end, true);
}

/**
 * truncate_cleanup_folio() + truncate_inode_folio() on a locked page that is still in `file`:
 * if a PTE maps it (a faulter that held the lock before us), unmap it; then delete it from the
 * page cache and drop the cache's reference. A map_pages protocol with its own truncate side
 * (MapPagesVariant.truncateFolio, chosen by --map-pages) runs that instead.
 */
function* truncateInodeFolio(t: Task, pfn: number, file: number): Step {
  const variant = mapPagesOf(t).truncateFolio;
  if (variant) return yield* variant(t, pfn, file);
  yield 'folio_mapped';
  if (pageMapped(t.shm, pfn)) yield* unmapMappingFolio(t, pfn);
  yield* filemapRemoveFolio(t, pfn, file);
  yield* putPage(t, pfn); // filemap_free_folio(): the page cache's reference
}

/**
 * truncate_inode_pages_range(mapping, lstart, end of file):
 *  - pass 1 (find_lock_entries): trylock only; skip pages locked by others, under writeback, or
 *    truncated meanwhile;
 *  - the partial page at lstart: blocking lock, wait for writeback, (zero the tail: no data model);
 *  - pass 2: blocking lock_page, wait for writeback, truncate what is still ours; restart from the
 *    start until a walk finds nothing ("Otherwise restart to make sure all gone").
 */
export function* truncateInodePagesRange(t: Task, file: number, lstart: number): Step {
  const shm = t.shm, L = t.lock;
  const start = maxIndex(lstart), end = shm.sizes.pagesPerFile;
  const inFile = (pfn: number, index: number) =>
    Atomics.load(shm.mapping, pfn) === file + 1 && Atomics.load(shm.index, pfn) === index;

  for (let index = start; index < end; index++) {
    const pfn = yield* findGetPage(t, file, index);
    if (pfn === NIL) continue;
    if (yield* L.trylockPage(t, pfn)) {
      t.page = pfn;
      t.aux = index;
      yield 'page->mapping';
      if (inFile(pfn, index) && !PageWriteback(shm, pfn)) yield* truncateInodeFolio(t, pfn, file);
      yield* L.unlockPage(t, pfn);
    }
    yield* putPage(t, pfn);
  }

  if (lstart % PAGE_SIZE !== 0) {
    const index = Math.floor(lstart / PAGE_SIZE);
    const pfn = yield* findGetPage(t, file, index);
    if (pfn !== NIL) {
      yield* L.lockPage(t, pfn); // truncate_inode_partial_folio()
      yield* L.waitOnPageWriteback(t, pfn);
      yield* L.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
  }

  for (let found = true; found;) {
    found = false;
    for (let index = start; index < end; index++) {
      const pfn = yield* findGetPage(t, file, index);
      if (pfn === NIL) continue;
      found = true;
      yield* L.lockPage(t, pfn);
      yield* L.waitOnPageWriteback(t, pfn);
      t.page = pfn;
      t.aux = index;
      yield 'page->mapping';
      if (inFile(pfn, index)) yield* truncateInodeFolio(t, pfn, file); // else -EIO: already gone
      yield* L.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
  }
}
