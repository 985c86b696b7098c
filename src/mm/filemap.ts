// mm/filemap.c: the page-cache lookup (lockless), add and delete, filemap_map_pages() (the
// fault-around ->map_pages) and filemap_fault() (the ->fault), in mainline order.
//
// The guarantee these paths give truncation (kernel-protocols §4.3): a file PTE is installed only
// while the page is locked and after its mapping and i_size were re-checked under that lock; a
// page leaves the cache only while locked and unmapped.
import { allocPage, folioAlloc, putPage } from './page_alloc.ts';
import { PAGE_SIZE, iSizeRead, maxIndex, slotOf, xaLoad, xaLoadPage, xaStore } from '../shm/files.ts';
import { CTL } from '../shm/layout.ts';
import { mkPte, pmdRead, pmdTransHuge, pteNone, pteRead, pteWrite, ptlSlot } from '../shm/mm.ts';
import { pteUnlock } from './pgtable.ts';
import { folioTestPmdMappable, pmdNoTable, pmdNone, pteOffsetMapLock, thpPmdEnabled } from './pgtable.ts';
import { MAX_FOLIO_ORDER, PageLocked, PageReadahead, PageUptodate, SetPageUptodate, folioNrPages, folioPage, folioRefAdd, getPage, pageMapped, pageTryGet } from '../shm/page.ts';
import { __ClearPageLocked } from '../locks/common.ts';
import { __SetPageLocked } from '../locks/common.ts';
import { NIL, PG_locked } from '../shm/shm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, NextPage, VmOps } from '../kernel/task.ts';
import {
  FAULT_FLAG_KILLABLE, FAULT_FLAG_RETRY_NOWAIT, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  faultFlagAllowRetryFirst, type FaultResult, type VmFault,
} from '../kernel/fault.ts';
import { LD_PAGE } from '../kernel/task.ts';
import { mmapReadUnlock } from './mmap.ts';

// (the type lives with the tables; re-exported for the modules and plug-ins that import it here)
export type { NextPage } from '../kernel/task.ts';

// ---- lookup ------------------------------------------------------------------------------

/**
 * filemap_get_entry() / find_get_page(): the lockless lookup (comment above filemap_get_entry):
 * load the slot, folio_try_get() (increment unless zero: a free or frozen page is not pinned),
 * then xas_reload() — the page may have been deleted and even reused before the pin — else put
 * and retry. Returns the page with a reference, or NIL.
 */
export function* findGetPage(t: Task, file: number, index: number): Step<number> {
  const shm = t.shm;
  t.aux = index;
  for (;;) {
    t.page = -1;
    yield 'xas_load';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) return NIL;
    t.page = pfn;
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue; // frozen by reclaim or freed: "goto repeat"
    yield 'xas_reload';
    if (xaLoad(shm, file, index) === pfn) return pfn;
    yield* putPage(t, pfn);
  }
}

// ---- add and delete ----------------------------------------------------------------------

/**
 * __filemap_add_folio() (v6.6): insert a locked new folio at `index` (its first index, a multiple
 * of its size) — the caller's reference stays the caller's; the page cache takes one per page
 * (folio_ref_add(folio, nr)) and stores the folio in every slot of its range (a multi-index
 * entry: xas_set_order()). Returns false if any slot of the range is taken (-EEXIST: xas_find_conflict()).
 */
export function* filemapAddFolio(t: Task, pfn: number, file: number, index: number): Step<boolean> {
  const shm = t.shm, nr = folioNrPages(shm, pfn);
  t.page = pfn;
  t.aux = index;
  if (!PageLocked(shm, pfn)) t.violation('FAULT-LOCKED', pfn, file, index); // VM_BUG_ON_FOLIO(!folio_test_locked)
  folioRefAdd(shm, pfn, nr); // folio_ref_add(folio, nr): the page cache's references
  for (let i = 0; i < nr; i++) {
    Atomics.store(shm.mapping, pfn + i, file + 1);
    Atomics.store(shm.index, pfn + i, index + i);
  }
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  let conflict = false;
  for (let i = 0; i < nr && !conflict; i++) conflict = xaLoad(shm, file, index + i) !== NIL;
  if (conflict) {
    spinUnlock(shm.iPagesLock, file);
    for (let i = 0; i < nr; i++) Atomics.store(shm.mapping, pfn + i, 0);
    Atomics.sub(shm.refcount, pfn, nr); // folio_put_refs(): the caller still holds one
    return false;
  }
  yield 'xas_store';
  for (let i = 0; i < nr; i++) xaStore(shm, file, index + i, pfn);
  Atomics.add(shm.nrpages, file, nr);
  spinUnlock(shm.iPagesLock, file);
  if (nr > 1) t.stat('largeFolios');
  return true;
}

/**
 * page_cache_delete() with the i_pages lock held: clear the folio's slots, folio->mapping = NULL
 * ("Leave page->index set: truncation lookup relies upon it"), nrpages -= nr. DEL-LOCKED: the
 * kernel's VM_BUG_ON_FOLIO(!folio_test_locked) and filemap_unaccount_folio()'s "still mapped when
 * deleted" (folio_mapped(): any page of the folio).
 */
export function pageCacheDelete(t: Task, pfn: number, file: number): void {
  const shm = t.shm, nr = folioNrPages(shm, pfn);
  const flags = Atomics.load(shm.flags, pfn), owner = Atomics.load(shm.owner, pfn);
  const mapcount = Atomics.load(shm.mapcount, pfn);
  if ((flags & PG_locked) === 0 || (owner !== 0 && owner !== t.id + 1) || pageMapped(shm, pfn))
    t.violation('DEL-LOCKED', pfn, flags, mapcount, owner);
  const index = Atomics.load(shm.index, pfn);
  for (let i = 0; i < nr; i++) {
    if (Atomics.load(shm.slots, slotOf(shm, file, index + i)) === pfn + 1) xaStore(shm, file, index + i, NIL);
    else t.violation('MAP-CACHE', pfn, file, index + i); // deleting a page that is not in the cache
  }
  for (let i = nr - 1; i >= 0; i--) Atomics.store(shm.mapping, pfn + i, 0);
  Atomics.sub(shm.nrpages, file, nr);
}

/** filemap_remove_folio(): delete under the i_pages lock. The page cache's reference is the
 * caller's to drop (filemap_free_folio()). */
export function* filemapRemoveFolio(t: Task, pfn: number, file: number): Step {
  t.page = pfn;
  yield* spinLock(t, t.shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_cache_delete';
  t.ops.pagecache.pageCacheDelete(t, pfn, file);
  spinUnlock(t.shm.iPagesLock, file);
}

/** delete_from_page_cache(): remove, then drop the page cache's references. */
export function* deleteFromPageCache(t: Task, pfn: number, file: number): Step {
  yield* t.ops.pagecache.filemapRemoveFolio(t, pfn, file);
  yield* putPage(t, pfn, folioNrPages(t.shm, pfn)); // filemap_free_folio(): folio_put_refs(folio, nr)
}

/**
 * Right after a file PTE is set (PTL held): the page must still be the page cache's page at this
 * file and index (MAP-CACHE). On mainline this holds by construction — the PTE is set under the
 * page lock after page->mapping was re-checked, and a page leaves the cache only under its lock —
 * so a protocol that maps without the lock is caught at the moment it maps a removed page, while
 * the steps of both sides are still in the flight records.
 */
export function checkMappedFilePage(t: Task, vmf: VmFault, pfn: number, index: number): void {
  const shm = t.shm;
  if (Atomics.load(shm.mapping, pfn) !== vmf.file + 1 || Atomics.load(shm.index, pfn) !== index || xaLoadPage(shm, vmf.file, index) !== pfn)
    t.violation('MAP-CACHE', pfn, vmf.file, index, vmf.vma);
}

// ---- filemap_map_pages -------------------------------------------------------------------

/** ->map_pages' page finder: the first page in [from, end) that passes its checks, or null
 * (the type of the vmOps.nextUptodatePage entry). */
export type NextPageFn = VmOps['nextUptodatePage'];

/**
 * next_uptodate_page() / next_uptodate_folio() (5.12+, kernel-protocols §3.4 table steps 1-9):
 * skip if locked -> folio_try_get -> xas_reload -> uptodate && !readahead -> trylock ->
 * mapping -> uptodate -> i_size. Returns the page locked and referenced.
 */
export function* nextUptodatePage(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
  const shm = t.shm, file = vmf.file;
  for (let index = from; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'xas_next_entry';
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    // "Check for a locked page first, as a speculative reference may adversely influence page
    // migration."
    yield 'PageLocked';
    if (PageLocked(shm, pfn)) {
      t.stat('skippedLocked');
      continue;
    }
    yield 'folio_try_get';
    if (!pageTryGet(shm, pfn)) continue;
    yield 'xas_reload'; // "Has the page moved or been split?"
    if (xaLoad(shm, file, index) === pfn) {
      yield 'PageUptodate';
      if (PageUptodate(shm, pfn) && !PageReadahead(shm, pfn)) {
        if (yield* t.ops.lock.trylockPage(t, pfn)) {
          t.page = pfn;
          yield 'page->mapping';
          const ok = Atomics.load(shm.mapping, pfn) === file + 1 && PageUptodate(shm, pfn);
          if (ok) {
            yield 'i_size_read';
            if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked: true };
          }
          yield* t.ops.lock.unlockPage(t, pfn); // unlock:
        }
      }
    }
    yield* putPage(t, pfn); // skip:
  }
  return null;
}

/**
 * filemap_map_pages() as of 5.12 (f9ce0be71d1f): find the first page before taking the PTL, then
 * take the PTL once for the whole range (the caller keeps [start, end) inside one page table) and
 * map each page whose PTE is still none: do_set_pte() (mapcount, then the PTE); the lookup
 * reference passes to the PTE. Returns VM_FAULT_NOPAGE if the faulting index got mapped.
 * The pages come from the running configuration's next_uptodate_page() (vmOps.nextUptodatePage),
 * unless `next` names another finder.
 *
 * A large folio is mapped as v6.6 maps it (filemap_map_pages()'s loop: "nr_pages = min(end,
 * end_pgoff) - xas.xa_index + 1", filemap_map_folio_range()): the pages of the folio from the
 * index found to the folio's end or the range's end, under the one PTL, then folio_unlock() and
 * folio_put() of the lookup reference; the walk goes on after the folio. Only the index found was
 * checked against i_size (next_uptodate_folio()): v6.6 does not clamp the folio's range at EOF.
 *
 * With --pmd on, 6.6's filemap_map_pmd() runs on the first folio found (below) before the PTL is
 * taken, and "vmf->pte = pte_offset_map_lock(...); if (!vmf->pte) { folio_unlock(folio);
 * folio_put(folio); goto out; }": a PMD that became huge meanwhile leaves nothing to map by PTEs.
 */
export function* filemapMapPages(t: Task, vmf: VmFault, start: number, end: number, next?: NextPageFn): Step<number> {
  const find: NextPageFn = next ?? t.ops.vmOps.nextUptodatePage;
  const shm = t.shm, vma = vmf.vma;
  if (end > start && ptlSlot(shm, vma, start) !== ptlSlot(shm, vma, end - 1))
    throw new Error(`filemapMapPages: [${start}, ${end}) crosses a page table`);
  let ret = 0;
  let page: NextPage | null = yield* find(t, vmf, start, end);
  if (!page) return 0;
  if (thpPmdEnabled(t) && (yield* filemapMapPmd(t, vmf, page, start))) return VM_FAULT_NOPAGE;
  const ptl = yield* pteOffsetMapLock(t, vma, start);
  if (ptl < 0) {
    if (page.locked) yield* t.ops.lock.unlockPage(t, page.pfn);
    yield* putPage(t, page.pfn);
    return 0;
  }
  while (page) {
    const pfn: number = page.pfn, index: number = page.index;
    t.page = pfn;
    t.aux = index;
    if (shm.compound[pfn] > 0) {
      const last = Math.min(Atomics.load(shm.index, pfn) + folioNrPages(shm, pfn), end);
      ret |= yield* t.ops.vmOps.filemapMapFolioRange(t, vmf, pfn, index, last - index);
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn); // folio_unlock()
      yield* putPage(t, pfn); // folio_put(): the lookup reference
      page = yield* find(t, vmf, last, end);
      continue;
    }
    yield 'pte_none';
    if (pteNone(pteRead(shm, vma, index))) {
      // do_set_pte(vmf, page, addr): page_add_file_rmap(), then set_pte_at() (read-only)
      yield* t.ops.fault.doSetPte(t, index === vmf.index ? vmf : { ...vmf, index }, pfn, false, false);
      if (index === vmf.index) ret = VM_FAULT_NOPAGE;
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
    } else {
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
    }
    page = yield* find(t, vmf, index + 1, end);
  }
  pteUnlock(t, ptl);
  return ret;
}

/**
 * filemap_map_pmd() (6.6 mm/filemap.c) with the first folio next_uptodate_folio() found (locked,
 * referenced): "Huge page is mapped? No need to proceed." (unlock, put: done); "if
 * (pmd_none(*vmf->pmd) && folio_test_pmd_mappable(folio))" do_set_pmd() of folio_file_page(folio,
 * start) — only the head page maps by a PMD, so only a range that starts at the folio —, and on
 * success "The page is mapped successfully, reference consumed." (unlock: done); else, on a none
 * PMD, pmd_install() of vmf->prealloc_pte (do_fault_around() preallocated it; a caller that did not
 * gets pte_alloc()). False: map by PTEs.
 */
function* filemapMapPmd(t: Task, vmf: VmFault, page: NextPage, start: number): Step<boolean> {
  const shm = t.shm, vma = vmf.vma, pfn = page.pfn;
  if (pmdTransHuge(pmdRead(shm, vma, start))) {
    if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return true;
  }
  if (pmdNone(shm, vma, start) && folioTestPmdMappable(t, pfn)) {
    if ((yield* t.ops.fault.doSetPmd(t, vmf, folioPage(shm, pfn, start))) === 0) {
      if (page.locked) yield* t.ops.lock.unlockPage(t, pfn);
      return true;
    }
  }
  if (pmdNone(shm, vma, start)) {
    if ((vmf.preallocPte ?? NIL) !== NIL) {
      if (yield* t.ops.fault.pmdInstall(t, vma, start, vmf.preallocPte!)) vmf.preallocPte = NIL;
    } else yield* t.ops.fault.pteAlloc(t, vma, start);
  }
  return false;
}

/**
 * filemap_map_folio_range() (v6.6 mm/filemap.c) with the PTL held and the folio locked and
 * referenced by next_uptodate_folio(): over `nr` pages of the folio from file index `from`, each
 * run of none PTEs is mapped by set_pte_range() (folio_add_file_rmap_range(): each page's
 * _mapcount and the folio's _nr_pages_mapped, then set_ptes(): the run's PTEs) and then
 * folio_ref_add(folio, count): one reference per PTE. Returns VM_FAULT_NOPAGE if vmf.index was
 * mapped. The lookup reference and the lock stay the caller's.
 */
export function* filemapMapFolioRange(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step<number> {
  const shm = t.shm, vma = vmf.vma;
  let ret = 0;
  for (let index = from, count = 0; index <= from + nr; index++) {
    let none = false;
    if (index < from + nr) {
      t.aux = index;
      yield 'pte_none';
      none = pteNone(pteRead(shm, vma, index));
    }
    if (none) {
      count++;
      continue;
    }
    if (count) {
      yield* t.ops.vmOps.setPteRange(t, vmf, folio, index - count, count);
      yield 'folio_ref_add';
      folioRefAdd(shm, folio, count);
      if (vmf.index >= index - count && vmf.index < index) ret = VM_FAULT_NOPAGE; // in_range(vmf->address, addr, count * PAGE_SIZE)
      count = 0;
    }
  }
  return ret;
}

/** set_pte_range() (v6.6 mm/memory.c) for `nr` read-only file PTEs of `folio` from file index
 * `from` (PTL held, the PTEs none): folio_add_file_rmap_range(), then set_ptes(). */
export function* setPteRange(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step {
  const shm = t.shm;
  // PTE-TABLE, as do_set_pte() checks it: the run's PTEs lie in one installed table
  if (pmdNoTable(shm, vmf.vma, from)) t.violation('PTE-TABLE', folio, vmf.vma, from);
  for (let i = 0; i < nr; i++) yield* t.ops.rmap.pageAddRmap(t, folioPage(shm, folio, from + i));
  yield 'set_ptes';
  for (let i = 0; i < nr; i++) {
    const page = folioPage(shm, folio, from + i);
    pteWrite(shm, vmf.vma, from + i, mkPte(page));
    checkMappedFilePage(t, vmf, page, from + i);
  }
  t.stat('mapped', nr);
}

// ---- filemap_fault -----------------------------------------------------------------------

/** ->read_folio(): fill the folio from "disk" — each page's data stamp says which file and index
 * it holds — and mark it uptodate. The folio is locked and not yet uptodate; `index` is any index
 * of it. */
export function* readPage(t: Task, pfn: number, file: number, index: number): Step {
  const shm = t.shm, nr = folioNrPages(shm, pfn);
  t.page = pfn;
  yield 'read_folio';
  const first = nr === 1 ? index : Atomics.load(shm.index, pfn), size = iSizeRead(shm, file);
  for (let i = 0; i < nr; i++) {
    shm.stampFile[pfn + i] = file;
    shm.stampIndex[pfn + i] = first + i;
    // what lies beyond i_size is read as zeros (block_read_full_folio(): folio_zero_segment() of
    // the blocks past EOF; iomap_read_folio_sync likewise)
    shm.stampEnd[pfn + i] = Math.max(0, Math.min(PAGE_SIZE, size - (first + i) * PAGE_SIZE));
  }
  yield 'folio_mark_uptodate';
  SetPageUptodate(shm, pfn);
}

/**
 * filemap_create_folio() (page_cache_read): allocate a page, born locked, add it to the page
 * cache, read it, unlock it. Returns the page with the caller's reference, NIL if the slot was
 * taken meanwhile (look up again), or -2 when out of memory.
 */
const CREATE_OOM = -2;

/** VM_READAHEAD_PAGES: the default readahead window, ra->ra_pages (128 KiB of 4 KiB pages). */
export const RA_PAGES = 32;

/** --readahead-order: 'grow' (v6.6 page_cache_ra_order(), the default) or 'uniform' (the order
 * the op stream drew for the fault, t.raOrder). */
export const raOrderMode = (t: Task): 'grow' | 'uniform' => (t.options['readahead-order'] === 'uniform' ? 'uniform' : 'grow');

/**
 * The order of the folio readahead asks for at `index` (v6.6 mm/readahead.c), before the fit:
 *  - read-around, a fault with nothing cached just before it: do_sync_mmap_readahead() sets
 *    "ra->size = ra->ra_pages" and calls page_cache_ra_order(ractl, ra, 0);
 *  - a fault that continues a cached run (the page before it is cached: the async readahead a
 *    sequential reader triggers on the run's PG_readahead folio, ondemand_readahead() ->
 *    page_cache_ra_order(ractl, ra, folio_order(folio))): the order of that folio.
 * Then "if (new_order < MAX_PAGECACHE_ORDER) { new_order += 2; new_order = min(MAX_PAGECACHE_ORDER,
 * new_order); new_order = min(new_order, ilog2(ra->size)); }" with ra->size = RA_PAGES (the window
 * after get_next_ra_size() has grown it to ra_pages: the model's files are smaller), and "ra->size
 * < 4" falls back to order 0 (never here). The folio before `index` is read without a reference:
 * its order is a hint, as the kernel's ra state is, and the fit below re-checks the range.
 */
function raGrowOrder(shm: Task['shm'], file: number, index: number): number {
  let prev = 0;
  if (index > 0) {
    const before = xaLoad(shm, file, index - 1);
    if (before !== NIL) prev = Math.max(0, shm.compound[before]);
  }
  return prev < MAX_FOLIO_ORDER ? Math.min(prev + 2, MAX_FOLIO_ORDER, Math.log2(RA_PAGES)) : prev;
}

/**
 * The order of the folio readahead makes for `index` (v6.6 page_cache_ra_order(), within the
 * model's sizes): the order readahead asks for (raGrowOrder(), or with --readahead-order uniform
 * t.raOrder: the op stream's draw), no larger than the allocator's maximum, lowered until the
 * folio's naturally aligned range lies inside EOF ("Don't allocate pages past EOF", "Align with
 * smaller pages if needed") and its slots are empty (ra_alloc_folio() would meet -EEXIST; the add
 * re-checks under the i_pages lock); 0 is page_cache_ra_order()'s fallback, do_page_cache_ra().
 */
export function raFolioOrder(t: Task, file: number, index: number): number {
  const shm = t.shm;
  const want = raOrderMode(t) === 'uniform' ? t.raOrder : raGrowOrder(shm, file, index);
  let order = Math.min(want, shm.ctl[CTL.MAX_ORDER]);
  const limit = maxIndex(iSizeRead(shm, file));
  for (; order > 0; order--) {
    const start = index - (index % (1 << order)), end = start + (1 << order);
    if (end > limit || end > shm.sizes.pagesPerFile) continue;
    let empty = true;
    for (let i = start; i < end && empty; i++) empty = xaLoad(shm, file, i) === NIL;
    if (empty) break;
  }
  return order;
}

function* filemapCreatePage(t: Task, file: number, index: number): Step<number> {
  // large folios only when the allocator has them (--max-folio-order); with --readahead-order
  // uniform, only when the fault's draw asked for one (the op streams of order 0 stay order 0)
  const large = t.shm.ctl[CTL.MAX_ORDER] > 0 && (raOrderMode(t) === 'grow' || t.raOrder > 0);
  const order = large ? raFolioOrder(t, file, index) : 0;
  let pfn = order > 0 ? yield* folioAlloc(t, order) : NIL;
  if (pfn !== NIL) index -= index % (1 << order); // the folio's first index
  else pfn = yield* allocPage(t); // page_cache_ra_order()'s fallback: do_page_cache_ra(), order 0
  if (pfn === NIL) return CREATE_OOM;
  __SetPageLocked(t, pfn);
  t.aux = index;
  if (!(yield* t.ops.pagecache.filemapAddFolio(t, pfn, file, index))) {
    __ClearPageLocked(t, pfn);
    yield* putPage(t, pfn); // frees it
    return NIL;
  }
  yield* t.ops.pagecache.readPage(t, pfn, file, index);
  yield* t.ops.lock.unlockPage(t, pfn); // folio_end_read(): waiters in lock_page may proceed
  return pfn;
}

/**
 * maybe_unlock_mmap_for_io() (mm/internal.h, 6.6): on the first attempt of a fault that may
 * retry, and not RETRY_NOWAIT, pin the file and drop the mmap lock before sleeping on I/O or a
 * page lock; the fault must then end in VM_FAULT_RETRY (the VMA may be gone once the lock is
 * dropped). The mmap_lock is taken only with an unmapper (src/mm/mmap.ts); `fpin` is what the
 * rest of the fault sees.
 */
function* maybeUnlockMmapForIo(t: Task, vmf: VmFault, fpin: boolean): Step<boolean> {
  if (fpin) return true;
  if (!faultFlagAllowRetryFirst(vmf.flags ?? 0) || ((vmf.flags ?? 0) & FAULT_FLAG_RETRY_NOWAIT)) return false;
  yield 'maybe_unlock_mmap_for_io';
  yield* mmapReadUnlock(t); // held only with an unmapper (src/mm/mmap.ts)
  return true;
}

/**
 * lock_folio_maybe_drop_mmap() (mm/filemap.c, 6.6): folio_trylock() first; with RETRY_NOWAIT a
 * contended page is VM_FAULT_RETRY without waiting ("with the fault lock still held"); else
 * maybe_unlock_mmap_for_io() and __folio_lock_killable() (FAULT_FLAG_KILLABLE: a fatal signal
 * makes it out_retry) or __folio_lock(). Without ALLOW_RETRY and KILLABLE these are lock_page()'s
 * steps exactly.
 */
export function* lockFolioMaybeDropMmap(t: Task, vmf: VmFault, pfn: number, fpin: boolean): Step<{ locked: boolean; fpin: boolean }> {
  const L = t.ops.lock, flags = vmf.flags ?? 0;
  if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn); // a blocking acquisition, whatever path it takes
  if (yield* L.trylockFast(t, pfn)) return { locked: true, fpin };
  if (flags & FAULT_FLAG_RETRY_NOWAIT) return { locked: false, fpin };
  fpin = yield* maybeUnlockMmapForIo(t, vmf, fpin);
  if (flags & FAULT_FLAG_KILLABLE) {
    // -EINTR: "we need to drop the fault lock here and return 0" (release_fault_lock())
    if ((yield* L.__lockPage(t, pfn, true)) !== 0) return { locked: false, fpin };
  } else {
    const r = yield* L.__lockPage(t, pfn, false);
    if (r !== 0) throw new Error(`${L.name}: __folio_lock returned ${r}`);
  }
  return { locked: true, fpin };
}

/**
 * filemap_fault() (6.6 mm/filemap.c; kernel-protocols §4.4): early i_size check -> SIGBUS; find
 * the page, or (do_sync_mmap_readahead(): maybe_unlock_mmap_for_io() before the read) create and
 * read it; lock_folio_maybe_drop_mmap() (not locked: out_retry); "Did it get truncated?" ->
 * retry_find; not uptodate -> read again under the lock; "We've made it this far and we had to
 * drop our mmap_lock": unlock, out_retry; i_size re-check under the page lock -> SIGBUS. Returns
 * VM_FAULT_LOCKED with the page locked and referenced, or VM_FAULT_RETRY with neither
 * (out_retry: folio_put()).
 */
export function* filemapFault(t: Task, vmf: VmFault): Step<FaultResult> {
  const shm = t.shm, { file, index } = vmf;
  let fpin = false;
  t.page = -1;
  t.aux = index;
  yield 'i_size_read';
  if (index >= maxIndex(iSizeRead(shm, file))) return { ret: VM_FAULT_SIGBUS, pfn: NIL };
  for (;;) { // retry_find:
    let pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (pfn === NIL) {
      fpin = yield* maybeUnlockMmapForIo(t, vmf, fpin); // do_sync_mmap_readahead()
      pfn = yield* filemapCreatePage(t, file, index);
      if (pfn === CREATE_OOM) return { ret: fpin ? VM_FAULT_RETRY : VM_FAULT_OOM, pfn: NIL }; // 'if (fpin) goto out_retry'
      if (pfn === NIL) continue;
    }
    const lk: { locked: boolean; fpin: boolean } = yield* t.ops.pagecache.lockFolioMaybeDropMmap(t, vmf, pfn, fpin);
    fpin = lk.fpin;
    if (!lk.locked) { // out_retry:
      yield* putPage(t, pfn);
      return { ret: VM_FAULT_RETRY, pfn: NIL };
    }
    t.page = pfn;
    t.aux = index;
    yield 'page->mapping';
    if (Atomics.load(shm.mapping, pfn) !== file + 1) { // "Did it get truncated?"
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      continue;
    }
    // VM_BUG_ON_FOLIO(!folio_contains(folio, index)): a folio never changes index in the cache
    const first = Atomics.load(shm.index, pfn);
    if (index < first || index >= first + folioNrPages(shm, pfn)) t.violation('MAP-CACHE', pfn, file, index);
    yield 'PageUptodate';
    if (!PageUptodate(shm, pfn)) yield* t.ops.pagecache.readPage(t, pfn, file, index); // page_not_uptodate
    if (fpin) { // "now is the time to return to the upper layer and have it re-find the vma"
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn); // out_retry:
      return { ret: VM_FAULT_RETRY, pfn: NIL };
    }
    // "Found the page and have a reference on it. We must recheck i_size under page lock."
    yield 'i_size_read';
    if (index >= maxIndex(iSizeRead(shm, file))) {
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      return { ret: VM_FAULT_SIGBUS, pfn: NIL };
    }
    return { ret: VM_FAULT_LOCKED, pfn };
  }
}
