// mm/truncate.c: truncate_setsize() -> truncate_pagecache() -> truncate_inode_pages_range()
// (kernel-protocols §4.1-4.3).
//
// The order is the guarantee: i_size is written first, so a faulter that locks a page after the
// truncator sees the new i_size (or mapping == NULL) and backs off; a faulter that locked it
// before has its PTE seen (page_mapped) and zapped by truncate_cleanup_folio(). The second
// unmap_mapping_range() catches private COW copies made meanwhile: they are other pages, not
// covered by the file page's lock.
import { putPage } from './page_alloc.ts';
import { PAGE_SIZE, maxIndex, xaLoad, xaStore } from '../shm/files.ts';
import { CTL } from '../shm/layout.ts';
import { PageDirty, PageWriteback, entireMapcount, folioNrPages, pageMapped, pageRefFreeze } from '../shm/page.ts';
import { NIL, PG_dirty, PG_readahead, PG_uptodate, type Shm } from '../shm/shm.ts';
import { mutexLock, mutexUnlock, spinLock, spinUnlock } from '../locks/spinlock.ts';
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
 * truncate_inode_folio() on a locked folio, after the caller's 'page->mapping' step: if truncation
 * took it meanwhile (folio->mapping != mapping) nothing to do (-EIO); else
 * truncate_cleanup_folio(), filemap_remove_folio(), and drop the page cache's references
 * (filemap_free_folio(): folio_put_refs(folio, nr)). `index` is the folio's first index.
 */
export function* truncateInodeFolio(t: Task, pfn: number, file: number, index: number): Step {
  if (!pageInFile(t, pfn, file, index)) return;
  yield* t.ops.truncate.truncateCleanupFolio(t, pfn);
  yield* t.ops.pagecache.filemapRemoveFolio(t, pfn, file);
  yield* putPage(t, pfn, folioNrPages(t.shm, pfn));
}

/** folio_zero_range() of the bytes from `lstart` to the folio's end: each page's data ends at or
 * before its part of `lstart` (EOF-ZERO). No schedule point of its own: it runs under the folio
 * lock, and EOF-ZERO is judged only while no truncation is in flight, so a point here would add no
 * interleaving the check can tell apart; without one, recorded schedules through this path (the
 * repro files of docs/findings) replay step for step. */
function folioZeroTail(shm: Shm, pfn: number, lstart: number): void {
  const nr = folioNrPages(shm, pfn);
  if (nr === 1) {
    const offset = lstart % PAGE_SIZE;
    if (shm.stampEnd[pfn] > offset) shm.stampEnd[pfn] = offset;
    return;
  }
  const pos = Atomics.load(shm.index, pfn) * PAGE_SIZE;
  for (let i = 0; i < nr; i++) {
    const offset = Math.max(0, lstart - pos - i * PAGE_SIZE);
    if (offset < PAGE_SIZE && shm.stampEnd[pfn + i] > offset) shm.stampEnd[pfn + i] = offset;
  }
}

/**
 * truncate_inode_partial_folio() (6.6 mm/truncate.c) on a folio locked and referenced by the
 * caller that holds byte `lstart` (the new EOF) and goes on past it: folio_wait_writeback(); if
 * the whole folio goes (it starts at `lstart`), truncate_inode_folio(); else folio_zero_range()
 * from `lstart` to the folio's end, so the bytes beyond the new EOF read as zeros through a PTE now
 * and stay zeros if the file grows again (EOF-ZERO). An order-0 page stays in the cache and stays
 * mapped: truncate_pagecache() unmaps from the next page on. A large folio is split
 * (split_folio(): its pages beyond EOF leave the cache); if the split fails, a dirty folio stays
 * whole (returns false: the caller's walks start after it) and a clean one is truncated whole.
 */
export function* truncateInodePartialFolio(t: Task, pfn: number, lstart: number): Step<boolean> {
  const shm = t.shm;
  yield* t.ops.lock.waitOnPageWriteback(t, pfn);
  if (shm.compound[pfn] === 0) {
    folioZeroTail(shm, pfn, lstart);
    return true;
  }
  const first = Atomics.load(shm.index, pfn), file = Atomics.load(shm.mapping, pfn) - 1;
  if (first * PAGE_SIZE >= lstart) { // "if (length == folio_size(folio))"
    if (file >= 0) yield* t.ops.truncate.truncateInodeFolio(t, pfn, file, first);
    return true;
  }
  folioZeroTail(shm, pfn, lstart);
  if ((yield* t.ops.truncate.splitFolio(t, pfn)) === 0) return true;
  t.page = pfn;
  yield 'folio_test_dirty';
  if (PageDirty(shm, pfn)) return false;
  if (file >= 0) yield* t.ops.truncate.truncateInodeFolio(t, pfn, file, first);
  return true;
}

/** -EAGAIN: split_folio() could not freeze the folio's refcount (someone holds a pin), or it was
 * removed from the page cache meanwhile. */
export const SPLIT_EAGAIN = -11;

/**
 * split_folio() -> split_huge_page_to_list() (6.6 mm/huge_memory.c) of a locked page-cache folio
 * the caller holds one reference to, into order-0 pages. i_mmap_lock_read(); "end =
 * DIV_ROUND_UP(i_size_read(mapping->host), PAGE_SIZE)"; can_split_folio() (racy: no pins beyond
 * the page cache's, the PTEs' and the caller's), else -EAGAIN; unmap_folio() (try_to_unmap() of
 * every PTE of the folio: nobody can map it again while we hold its lock); then under the i_pages
 * lock, if the slot still holds the folio, folio_ref_freeze(folio, 1 + nr): a lookup that pinned
 * it meanwhile makes the freeze fail (-EAGAIN; a file folio is not remapped: the next fault maps
 * it). With the count frozen no lookup can pin it: __split_huge_page() makes each page its own
 * folio (flags copied from the head, two references: the page cache's and one the splitter drops
 * after), stores each in its own slot, and drops the pages at or beyond EOF from the page cache
 * ("Some pages can be beyond EOF: drop them from page cache"); the head gets its two references
 * back (page_ref_add(head, 2)). After the unlock, each tail's extra reference is put
 * (free_page_and_swap_cache()): a tail that left the cache is freed. Simplified: the tails come
 * out of the split unlocked (the kernel copies PG_locked to them and unlocks each after the split;
 * the model's page lock keeps a shadow owner only for pages locked through the lock table).
 * Returns 0 or SPLIT_EAGAIN.
 */
export function* splitFolio(t: Task, pfn: number): Step<number> {
  const shm = t.shm, nr = folioNrPages(shm, pfn), first = Atomics.load(shm.index, pfn);
  const file = Atomics.load(shm.mapping, pfn) - 1;
  t.page = pfn;
  if (file < 0) return SPLIT_EAGAIN; // "if (!mapping) { ret = -EBUSY; goto out; }": truncated meanwhile
  yield 'i_mmap_lock_read';
  const end = maxIndex(Atomics.load(shm.iSize, file));
  yield 'can_split_folio';
  if (!canSplitFolio(shm, pfn, nr)) {
    t.stat('splitFailed');
    return SPLIT_EAGAIN;
  }
  yield* t.ops.rmap.unmapMappingFolio(t, pfn); // unmap_folio()
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock');
  t.page = pfn;
  yield 'folio_ref_freeze';
  if (xaLoad(shm, file, first) !== pfn || !(yield* t.ops.truncate.splitFreeze(t, pfn, 1 + nr))) {
    spinUnlock(shm.iPagesLock, file);
    t.stat('splitFailed');
    return SPLIT_EAGAIN; // fail: remap_page() does nothing for a file folio
  }
  yield '__split_huge_page';
  const flags = Atomics.load(shm.flags, pfn) & (PG_uptodate | PG_dirty | PG_readahead);
  for (let i = nr - 1; i >= 1; i--) {
    const tail = pfn + i;
    // __split_huge_page_tail(): the tail's own flags and two references, its own folio
    Atomics.store(shm.flags, tail, flags);
    Atomics.store(shm.nrPagesMapped, tail, 0);
    shm.compound[tail] = 0;
    Atomics.store(shm.refcount, tail, 2);
    if (first + i >= end) { // __filemap_remove_folio(tail, NULL); folio_put(tail)
      xaStore(shm, file, first + i, NIL);
      Atomics.store(shm.mapping, tail, 0);
      Atomics.sub(shm.nrpages, file, 1);
      Atomics.sub(shm.refcount, tail, 1);
      Atomics.and(shm.flags, tail, ~PG_dirty); // folio_test_clear_dirty(tail)
    } else {
      xaStore(shm, file, first + i, tail); // __xa_store(&mapping->i_pages, head[i].index, head + i, 0)
    }
  }
  shm.compound[pfn] = 0;
  Atomics.store(shm.nrPagesMapped, pfn, 0);
  Atomics.add(shm.refcount, pfn, 2); // "Additional pin to page cache": page_ref_add(head, 2)
  spinUnlock(shm.iPagesLock, file);
  for (let i = 1; i < nr; i++) yield* putPage(t, pfn + i); // free_page_and_swap_cache(subpage)
  t.stat('splits');
  return 0;
}

/** can_split_folio(): "folio_mapcount(folio) == folio_ref_count(folio) - extra_pins - 1", with
 * extra_pins the page cache's nr references: nobody but the PTEs, the PMDs, the cache and the caller
 * holds it (6.6 folio_total_mapcount(): folio_entire_mapcount() plus each page's). */
function canSplitFolio(shm: Shm, pfn: number, nr: number): boolean {
  let mapcount = entireMapcount(shm, pfn) + 1;
  for (let i = 0; i < nr; i++) mapcount += Atomics.load(shm.mapcount, pfn + i) + 1;
  return mapcount === Atomics.load(shm.refcount, pfn) - nr - 1;
}

/** folio_ref_freeze(folio, count) in split_huge_page_to_list(): refcount `count` -> 0 in one step,
 * or fail (a pin taken since can_split_folio()). */
export function* splitFreeze(t: Task, pfn: number, count: number): Step<boolean> {
  return pageRefFreeze(t.shm, pfn, count);
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
  let start = maxIndex(lstart);
  const end = shm.sizes.pagesPerFile;

  for (let index = start; index < end; index++) {
    const pfn = yield* pc.findGetPage(t, file, index);
    if (pfn === NIL) continue;
    if (shm.compound[pfn] > 0) {
      // find_lock_entries() (6.6) takes only folios wholly inside the range: one that starts
      // before it is the partial folio's
      const first = Atomics.load(shm.index, pfn), last = first + folioNrPages(shm, pfn) - 1;
      if (first >= start && last < end && (yield* L.trylockPage(t, pfn))) {
        t.page = pfn;
        t.aux = index;
        yield 'page->mapping';
        if (!PageWriteback(shm, pfn)) yield* T.truncateInodeFolio(t, pfn, file, first);
        yield* L.unlockPage(t, pfn);
      }
      yield* putPage(t, pfn);
      index = Math.max(index, last);
      continue;
    }
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

  // the folio holding lstart: a page cut inside, or a large folio that goes on past lstart (a peek
  // without a schedule point: an order-0 page at a page-aligned lstart is pass 1's)
  const pindex = Math.floor(lstart / PAGE_SIZE);
  const peek = pindex < end ? xaLoad(shm, file, pindex) : NIL;
  if (lstart % PAGE_SIZE !== 0 || (peek !== NIL && shm.compound[peek] > 0)) {
    const index = pindex;
    const pfn = yield* pc.findGetPage(t, file, index);
    if (pfn !== NIL) {
      yield* L.lockPage(t, pfn); // __filemap_get_folio(FGP_LOCK)
      const next = Atomics.load(shm.index, pfn) + folioNrPages(shm, pfn);
      if ((yield* T.truncateInodePartialFolio(t, pfn, lstart)) === false) start = Math.max(start, next); // folio_next_index()
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
      // "We rely upon deletion not changing page->index": a large folio goes whole
      const first = shm.compound[pfn] > 0 ? Atomics.load(shm.index, pfn) : index;
      const last = first + folioNrPages(shm, pfn) - 1;
      yield* T.truncateInodeFolio(t, pfn, file, first);
      yield* L.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      index = Math.max(index, last);
    }
  }
}
