// mm/migrate.c (v6.6): migrate_pages() of one page-cache page, and the migration entries it leaves
// in the page tables while it works (try_to_migrate() in mm/rmap.c, migration_entry_wait_on_locked()
// in mm/filemap.c).
//
// The protocol, in the order 6.6 runs it (migrate_pages_batch(): migrate_folio_unmap(), then
// migrate_folio_move()):
//  - the new page (dst) is allocated before anything is locked; the old one (src) is locked
//    (folio_trylock(), or folio_lock() when the mode may block) and its writeback waited for (or
//    the page skipped: -EBUSY); dst is locked too ("Block others from accessing the new page when
//    we get around to establishing additional references");
//  - try_to_migrate() replaces every PTE of src by a migration entry (neither present nor none:
//    src/shm/mm.ts), dropping the PTE's mapcount and reference;
//  - folio_migrate_mapping() freezes src's refcount at exactly the references it expects (the page
//    cache's and the migrator's): any other — a lockless lookup's folio_try_get(), a get_user_pages()
//    pin, a faulter that waits for the lock with its reference — makes the freeze fail (-EAGAIN),
//    and once frozen nobody can take a new one. Only then does dst take the page-cache slot
//    (xas_store) and the copy follow, dst still locked and not yet uptodate;
//  - remove_migration_ptes() turns each entry into a PTE of dst, or of src again on failure;
//  - dst is unlocked and put, src->mapping cleared (move_to_new_folio()), src unlocked and put: freed.
// A faulter that meets a migration entry takes no reference on src: it queues on src's lock under
// the PTL the entry lives in (ffa65753c431 "mm/migrate.c: rework migration_entry_wait() to not take
// a pageref"): src stays allocated while that PTL is held because the migrator holds a reference and
// must take the PTL to remove the entry, and src stays locked until every entry is gone.
import { allocPage, folioAlloc, putPage } from './page_alloc.ts';
import { folioTestPmdMappable, pmdLock, pmdUnlock, pteLock, pteUnlock } from './pgtable.ts';
import { removeMigrationPmd, setPmdMigrationEntry } from './huge_memory.ts';
import { rmapWalkFile, vmasOfFile } from './rmap.ts';
import { pageFile, xaStore } from '../shm/files.ts';
import { isMigrationEntry, isPmdMigrationEntry, mkMigrationEntry, mkPte, pmdMigrationPfn, pmdRead, ptePfn, ptePresent, pteAnon, pteRead, pteSlot, vmaContains } from '../shm/mm.ts';
import { PageLocked, PageUptodate, PageWriteback, SetPageUptodate, folioHead, folioNrPages, folioRefAdd, getPage, pageMapped, pageRefFreeze, pageRefUnfreeze } from '../shm/page.ts';
import { BIT_LOCKED, NIL, PG_dirty, PG_free, PTE_DIRTY, PTE_WRITE, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import { __SetPageLocked } from '../locks/common.ts';
import { spinLock as xaLock, spinUnlock as xaUnlock } from '../locks/spinlock.ts';
import { ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock } from '../locks/waitqueue.ts';
import { LD_PAGE, type MigrateMode, type Task } from '../kernel/task.ts';
import type { Step } from '../kernel/step.ts';

export const MIGRATEPAGE_SUCCESS = 0;
export const ENOENT = -2;
export const EAGAIN = -11;
export const ENOMEM = -12;
export const EBUSY = -16;

/**
 * The refcount folio_migrate_mapping() freezes: folio_expected_refs() (one page-cache reference for
 * an order-0 page without private data) + the migrator's own. In the kernel the second is the LRU
 * isolation reference the caller of migrate_pages() took (isolate_lru_folio()); here the
 * migrator's lookup reference stands in for it, as reclaim's does (RECLAIM_FREEZE_REFS).
 */
export const MIGRATE_EXPECTED_REFS = 2;

/** folio_expected_refs() (v6.6) of a page-cache folio of `nr` pages without private data, + the
 * migrator's isolation reference: "refs += folio_nr_pages(folio)". MIGRATE_EXPECTED_REFS for an
 * order-0 page. */
export const migrateExpectedRefs = (nr: number): number => 1 + nr;

/** The passes of migrate_pages_batch()'s move loop ("for (pass = 0; pass < nr_pass && retry;
 * pass++)") over a page whose refcount freeze failed: the kernel's async batch makes
 * NR_MAX_MIGRATE_ASYNC_RETRY (3) of them before the undo. The op stream migrates again later. */
export const MIGRATE_MOVE_PASSES = 3;

/**
 * try_to_migrate() (6.6 mm/rmap.c) of a locked file page: rmap_walk_file() with rwc->done =
 * folio_not_mapped, under i_mmap_lock_read(). try_to_migrate_one() for the PTE that maps this very
 * page in each VMA (PTL held): ptep_clear_flush(), "if (pte_dirty(pteval)) folio_mark_dirty(folio)",
 * make_writable_migration_entry() for a writable PTE (else make_readable_migration_entry()), the
 * dirty bit kept in the entry (make_migration_entry_dirty()), set_pte_at(); then
 * page_remove_rmap() and folio_put(): the entry holds neither.
 */
export function* tryToMigrate(t: Task, pfn: number): Step {
  if (folioTestPmdMappable(t, pfn)) {
    yield* tryToMigratePmds(t, pfn);
    if (!pageMapped(t.shm, pfn)) return; // rwc->done(folio): no PTE maps it either
  }
  yield* rmapWalkFile(t, pfn, tryToMigrateOne, true);
}

/** try_to_migrate_one()'s PMD case (6.6 mm/rmap.c, CONFIG_ARCH_ENABLE_THP_MIGRATION): "PMD-mapped
 * THP migration entry: if (!pvmw.pte) { ... set_pmd_migration_entry(&pvmw, subpage) ... continue;
 * }" in each VMA whose PMD maps the PMD-sized folio `head` (src/mm/huge_memory.ts
 * setPmdMigrationEntry()). A range is mapped by its PMD or by PTEs, never both, so the PMDs are
 * done first and the PTE walk after: the same entries, each under the lock 6.6 takes for it. */
function* tryToMigratePmds(t: Task, head: number): Step {
  const shm = t.shm, file = pageFile(shm, head), first = Atomics.load(shm.index, head);
  for (const vma of vmasOfFile(shm, file)) {
    if (vmaContains(shm, vma, first)) yield* setPmdMigrationEntry(t, vma, first, head);
  }
}

/** try_to_migrate_one() for a PTE read under the PTL: the PTE that maps this very page (present,
 * not a COW copy) becomes a migration entry. */
function* tryToMigrateOne(t: Task, vma: number, index: number, pte: number, pfn: number): Step {
  if (!ptePresent(pte) || pteAnon(pte) || ptePfn(pte) !== pfn) return;
  const shm = t.shm;
  yield 'ptep_clear_flush';
  // one RMW: a store through the PTE may set its dirty bit until it is replaced
  const slot = pteSlot(shm, vma, index);
  let pteval = pte;
  for (;;) {
    const entry = mkMigrationEntry(pfn, pteval & (PTE_WRITE | PTE_DIRTY));
    const seen = Atomics.compareExchange(shm.ptes, slot, pteval, entry);
    if (seen === pteval) break;
    pteval = seen;
  }
  if (pteval & PTE_DIRTY) {
    yield 'folio_mark_dirty';
    t.ops.writeback.setPageDirty(t, pfn);
  }
  yield* t.ops.rmap.pageRemoveRmap(t, pfn);
  yield* putPage(t, pfn); // the PTE's reference; the migrator's keeps the page
}

/**
 * folio_migrate_mapping() (6.6) of a page-cache page: xas_lock_irq(); "if
 * (!folio_ref_freeze(folio, expected_count)) return -EAGAIN"; "Now we know that no one else is
 * looking at the folio: no turning back from here": dst gets index, mapping and the page cache's
 * reference (folio_ref_add(newfolio, nr)), PG_dirty moves ("Move dirty while page refs frozen and
 * newpage not yet exposed"), xas_store(&xas, newfolio), and "Drop cache reference from old page by
 * unfreezing to one less reference".
 */
export function* folioMigrateMapping(t: Task, dst: number, src: number): Step<number> {
  const shm = t.shm, file = pageFile(shm, src), index = Atomics.load(shm.index, src), nr = folioNrPages(shm, src);
  const expected = migrateExpectedRefs(nr);
  t.page = src;
  t.aux = index;
  yield* xaLock(t, shm.iPagesLock, file, 'xas_lock_irq');
  yield 'folio_ref_freeze';
  if (!pageRefFreeze(shm, src, expected)) {
    xaUnlock(shm.iPagesLock, file);
    return EAGAIN;
  }
  for (let i = 0; i < nr; i++) { // newfolio->index, ->mapping: every page of a large folio here (src/shm/page.ts)
    Atomics.store(shm.index, dst + i, index + i);
    Atomics.store(shm.mapping, dst + i, file + 1);
  }
  folioRefAdd(shm, dst, nr); // folio_ref_add(newfolio, nr): the page cache's references
  if (Atomics.and(shm.flags, src, ~PG_dirty) & PG_dirty) Atomics.or(shm.flags, dst, PG_dirty);
  yield 'xas_store';
  // "xas_store(&xas, newfolio)" on the folio's multi-index entry: every slot of its range
  for (let i = 0; i < nr; i++) xaStore(shm, file, index + i, dst);
  pageRefUnfreeze(shm, src, expected - nr); // "folio_ref_unfreeze(folio, expected_count - nr)"
  xaUnlock(shm.iPagesLock, file);
  return MIGRATEPAGE_SUCCESS;
}

/**
 * move_to_new_folio() -> mapping->a_ops->migrate_folio = migrate_folio() (6.6): the mapping, then
 * folio_migrate_copy() (folio_copy(): the data; folio_migrate_flags(): uptodate among them, so the
 * new page, already in the page cache but locked, becomes uptodate only now); on success "For
 * pagecache folios, src->mapping must be cleared before src is freed" (a task that held a
 * reference and waited for src's lock sees mapping NULL and looks the page up again).
 */
export function* moveToNewFolio(t: Task, dst: number, src: number): Step<number> {
  const shm = t.shm;
  const rc = yield* t.ops.migrate.folioMigrateMapping(t, dst, src);
  if (rc !== MIGRATEPAGE_SUCCESS) return rc;
  const nr = folioNrPages(shm, src);
  t.page = dst;
  yield 'folio_copy';
  for (let i = 0; i < nr; i++) {
    shm.stampFile[dst + i] = shm.stampFile[src + i];
    shm.stampIndex[dst + i] = shm.stampIndex[src + i];
    shm.stampEnd[dst + i] = shm.stampEnd[src + i];
  }
  yield 'folio_migrate_flags';
  if (PageUptodate(shm, src)) SetPageUptodate(shm, dst);
  for (let i = nr - 1; i >= 0; i--) Atomics.store(shm.mapping, src + i, 0);
  return MIGRATEPAGE_SUCCESS;
}

/**
 * remove_migration_ptes(src, dst, false) (6.6): rmap_walk(dst) (no early exit) calling
 * remove_migration_pte() for each VMA mapping dst's file at its index: under the PTL, a migration
 * entry naming src becomes a PTE of dst — folio_get(), pte_mkwrite() for a writable entry,
 * pte_mkdirty() for a dirty one, page_add_file_rmap(), set_pte_at(). Any other PTE (none: a zap
 * removed the entry; present: nothing to do) is left alone.
 */
export function* removeMigrationPtes(t: Task, src: number, dst: number): Step {
  if (folioTestPmdMappable(t, dst)) {
    // remove_migration_pte()'s "if (!pvmw.pte) { ... remove_migration_pmd(&pvmw, new); continue; }"
    const shm = t.shm, file = pageFile(shm, dst), first = Atomics.load(shm.index, dst);
    for (const vma of vmasOfFile(shm, file)) {
      if (vmaContains(shm, vma, first)) yield* removeMigrationPmd(t, vma, first, src, dst);
    }
  }
  yield* rmapWalkFile(t, dst, removeMigrationPte, false, src);
}

/** remove_migration_pte() for a PTE read under the PTL: an entry naming src becomes a PTE of dst.
 * For a large folio `dst` is the walked folio's page at this index and `src` the old folio's head:
 * the entry must name src's page at the same offset ("idx = linear_page_index(vma, pvmw.address) -
 * pvmw.pgoff; new = folio_page(folio, idx)"). */
function* removeMigrationPte(t: Task, vma: number, index: number, pte: number, dst: number, src: number): Step {
  if (!isMigrationEntry(pte) || ptePfn(pte) !== src + dst - folioHead(t.shm, dst)) return;
  const shm = t.shm;
  getPage(shm, dst);
  yield* t.ops.rmap.pageAddRmap(t, dst);
  yield 'set_pte_at';
  Atomics.store(shm.ptes, pteSlot(shm, vma, index), mkPte(dst, pte & (PTE_WRITE | PTE_DIRTY)));
  t.stat('mapped');
}

/** MIGRATE-ENTRY, the migrator's own check before it unlocks src (the entries' end): no PTE of the
 * page's VMAs is still a migration entry naming src. Every remover of an entry holds the PTL and
 * nothing else creates one for a locked page, so this holds on mainline at this instant. */
function checkNoEntryLeft(t: Task, src: number, file: number, index: number): void {
  const shm = t.shm, nr = folioNrPages(shm, src), first = nr === 1 ? index : Atomics.load(shm.index, src);
  for (const vma of vmasOfFile(shm, file)) {
    if (vmaContains(shm, vma, first) && isPmdMigrationEntry(pmdRead(shm, vma, first)) && pmdMigrationPfn(pmdRead(shm, vma, first)) === src)
      t.violation('MIGRATE-ENTRY', src, file, first, vma); // a PMD migration entry (src/shm/mm.ts)
    for (let i = 0; i < nr; i++) { // every page of a large folio
      if (!vmaContains(shm, vma, first + i)) continue;
      const pte = pteRead(shm, vma, first + i);
      if (isMigrationEntry(pte) && ptePfn(pte) === src + i) t.violation('MIGRATE-ENTRY', src + i, file, first + i, vma);
    }
  }
}

/**
 * migrate_pages() (6.6) of the page at `index` of `file`, as migrate_pages_batch() runs one folio:
 * the lookup reference stands in for the isolation reference; migrate_folio_unmap() (dst allocated
 * first; src folio_trylock(), or for MIGRATE_SYNC folio_lock(); nothing to do when truncation took
 * it; writeback: -EBUSY unless MIGRATE_SYNC, which waits; dst locked;
 * try_to_migrate() if mapped; still mapped: undo), then migrate_folio_move() (move_to_new_folio(),
 * retried while -EAGAIN; remove_migration_ptes(src, dst); unlock and put dst; unlock src and put
 * it: freed) or, having failed, migrate_folio_undo_src() / _dst() (remove_migration_ptes(src, src),
 * unlock and put both). Returns 0 when migrated, else the errno.
 *
 * A large folio migrates whole (6.6 migrate_folio() of a large folio): dst of the same order,
 * try_to_migrate() puts an entry in every PTE of every page (rmapWalkFile() over the folio),
 * folio_migrate_mapping() freezes folio_expected_refs() = 1 + nr and stores dst in every slot of
 * the range, remove_migration_ptes() turns each page's entries into PTEs of dst's page at the same
 * offset. With no free folio of that order: trySplitFolio(), unless `nosplit`.
 */
export function* migratePages(t: Task, file: number, index: number, mode: MigrateMode, nosplit = false): Step<number> {
  const shm = t.shm, L = t.ops.lock, M = t.ops.migrate;
  const src = yield* t.ops.pagecache.findGetPage(t, file, index);
  if (src === NIL) return ENOENT;
  // get_new_folio() = alloc_migration_target(): a folio of src's order (a large one without direct
  // reclaim: "gfp_mask &= ~__GFP_RECLAIM"). Our reference keeps src's order: split_folio() cannot
  // freeze it (can_split_folio() counts one caller's reference only).
  const order = shm.compound[src];
  const dst = order > 0 ? yield* folioAlloc(t, order) : yield* allocPage(t);
  if (dst === NIL) {
    if (order > 0 && !nosplit) return yield* trySplitFolio(t, src, file, index);
    yield* putPage(t, src);
    return ENOMEM;
  }
  let rc = EAGAIN, srcLocked = false, dstLocked = false, wasMapped = false;
  try_: {
    if (!(yield* L.trylockPage(t, src))) {
      if (mode === 'async') break try_;
      yield* L.lockPage(t, src);
    }
    srcLocked = true;
    t.page = src;
    t.aux = index;
    yield 'page->mapping';
    // truncated meanwhile: 6.6 would still "migrate" the orphan (mapping NULL: no slot, no PTEs to
    // move) or drop it before the lock when only its isolation reference is left ("Folio was
    // freed from under us"); either way nothing the page cache or a PTE sees changes
    if (Atomics.load(shm.mapping, src) !== file + 1) {
      rc = ENOENT;
      break try_;
    }
    yield 'folio_test_writeback';
    if (PageWriteback(shm, src)) {
      if (mode !== 'sync') {
        rc = EBUSY;
        break try_;
      }
      yield* L.waitOnPageWriteback(t, src);
    }
    __SetPageLocked(t, dst); // folio_trylock(dst): nobody else can see it yet
    dstLocked = true;
    yield 'folio_mapped';
    if (pageMapped(shm, src)) {
      yield* M.tryToMigrate(t, src);
      wasMapped = true;
    }
    t.page = src;
    yield 'folio_mapped';
    if (pageMapped(shm, src)) break try_;
    // migrate_folio_move()
    for (let pass = 0; ; pass++) {
      rc = yield* M.moveToNewFolio(t, dst, src);
      if (rc !== EAGAIN || pass + 1 >= MIGRATE_MOVE_PASSES) break;
      t.page = src;
      yield 'cond_resched';
    }
    if (rc === MIGRATEPAGE_SUCCESS) {
      if (wasMapped) yield* M.removeMigrationPtes(t, src, dst);
      checkNoEntryLeft(t, src, file, index);
      yield* L.unlockPage(t, dst);
      yield* putPage(t, dst); // the page cache and the restored PTEs hold it now
      yield* L.unlockPage(t, src);
      yield* putPage(t, src); // migrate_folio_done(): the last reference, src is freed
      t.stat('migrated');
      return MIGRATEPAGE_SUCCESS;
    }
  }
  // migrate_folio_undo_src() / migrate_folio_undo_dst()
  if (wasMapped) {
    yield* M.removeMigrationPtes(t, src, src);
    checkNoEntryLeft(t, src, file, index);
  }
  if (dstLocked) yield* L.unlockPage(t, dst);
  yield* putPage(t, dst);
  if (srcLocked) yield* L.unlockPage(t, src);
  yield* putPage(t, src);
  return rc;
}

/**
 * migrate_pages_batch() (v6.6) when get_new_folio() has no folio of a large src's order (-ENOMEM):
 * "Large folio NUMA faulting doesn't split to retry" aside, try_split_folio() — folio_lock(),
 * split_folio_to_list(), folio_unlock() — and on success migrate_pages() retries the split pages
 * once with MIGRATE_ASYNC ("we only try to migrate with minimal effort, force MIGRATE_ASYNC mode and
 * retry once"): here the page at `index`, async, with `nosplit` (no second split). A failed split
 * leaves the folio as it was: -ENOMEM. Called with src's reference held; puts it.
 */
function* trySplitFolio(t: Task, src: number, file: number, index: number): Step<number> {
  const L = t.ops.lock;
  yield* L.lockPage(t, src);
  t.page = src;
  t.aux = index;
  yield 'page->mapping';
  // split_folio() of a folio truncation took meanwhile fails (-EBUSY: "if (!mapping)")
  const split = Atomics.load(t.shm.mapping, src) === file + 1 && (yield* t.ops.truncate.splitFolio(t, src)) === 0;
  yield* L.unlockPage(t, src);
  yield* putPage(t, src);
  if (!split) return ENOMEM;
  return yield* t.ops.migrate.migratePages(t, file, index, 'async', true);
}

/**
 * migration_entry_wait() (6.6 mm/migrate.c): pte_offset_map_lock(); "if (!is_swap_pte(pte)) goto
 * out; entry = pte_to_swp_entry(pte); if (!is_migration_entry(entry)) goto out;"
 * migration_entry_wait_on_locked(entry, ptl), which drops the PTL.
 */
export function* migrationEntryWait(t: Task, vma: number, index: number): Step {
  const shm = t.shm;
  t.page = -1;
  t.aux = index;
  const ptl = yield* pteLock(t, vma, index);
  yield 'is_migration_entry';
  const pte = pteRead(shm, vma, index);
  if (!isMigrationEntry(pte)) {
    pteUnlock(t, ptl);
    return;
  }
  t.stat('migrationWaits');
  // "folio = page_folio(pfn_swap_entry_to_page(entry))": the wait is on the folio's lock
  yield* migrationEntryWaitOnLocked(t, folioHead(shm, ptePfn(pte)), ptl);
}

/**
 * pmd_migration_entry_wait() (6.6 mm/migrate.c), as __handle_mm_fault() calls it for "if
 * (unlikely(is_swap_pmd(vmf.orig_pmd))) { ... if (is_pmd_migration_entry(vmf.orig_pmd))
 * pmd_migration_entry_wait(mm, vmf.pmd); return 0; }": "ptl = pmd_lock(mm, pmd); if
 * (!is_pmd_migration_entry(*pmd)) goto unlock; migration_entry_wait_on_locked(pmd_to_swp_entry(*pmd),
 * ptl)" — the same wait as at a PTE, no reference, the PMD lock dropped once queued (the migrator
 * must take it to remove the entry: remove_migration_pmd()).
 */
export function* pmdMigrationEntryWait(t: Task, vma: number, index: number): Step {
  const shm = t.shm;
  t.page = -1;
  t.aux = index;
  const mm = yield* pmdLock(t, vma);
  yield 'is_pmd_migration_entry';
  const pmd = pmdRead(shm, vma, index);
  if (!isPmdMigrationEntry(pmd)) {
    pmdUnlock(t, mm);
    return;
  }
  t.stat('migrationWaits');
  yield* migrationEntryWaitOnLocked(t, pmdMigrationPfn(pmd), mm, pmdUnlock);
}

/**
 * migration_entry_wait_on_locked() (6.6 mm/filemap.c, ffa65753c431): folio_wait_bit_common()'s
 * shared wait on PG_locked without a reference: init_wait() with wait->flags = 0; under the
 * queue lock folio_set_waiters(), folio_trylock_flag() (the bit already clear: woken at once),
 * else __add_wait_queue_entry_tail(); then "If a migration entry exists for the page the migration
 * path must hold a valid reference to the page, and it must take the ptl to remove the migration
 * entry. So the page is valid until the ptl is dropped." — spin_unlock(ptl) only now; sleep until
 * WQ_FLAG_WOKEN; finish_wait(). The steps are the running lock table's, so every lock algorithm's
 * wake function and queue pieces are what this wait meets. Returns with the PTL dropped.
 */
export function* migrationEntryWaitOnLocked(t: Task, pfn: number, ptl: number, unlock: (t: Task, lock: number) => void = pteUnlock): Step {
  const shm = t.shm, L = t.ops.lock, e = t.id;
  const b = pageWaitQueue(shm, pfn);
  t.page = pfn;
  L.initWaitPage(t, pfn, BIT_LOCKED, false, false, 0);
  shm.wqOvertaken[e] = 0;
  yield* spinLock(t, b);
  yield* L.setPageWaiters(t, pfn);
  const got = yield* L.trylockPageBit(t, pfn, BIT_LOCKED, false);
  if (!got) yield* L.__addWaitQueueEntryTail(t, b);
  yield* spinUnlock(t, b);
  unlock(t, ptl); // spin_unlock(ptl): the PTL, or the PMD lock for a PMD entry
  if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn); // waits for the migrator's unlock
  for (;;) {
    const f = Atomics.load(shm.wqFlags, e);
    if (f & WQ_FLAG_WOKEN) break; // TASK_UNINTERRUPTIBLE: no signal ends it
    yield* ioSchedule(t, pfn, BIT_LOCKED, f);
  }
  yield* L.finishWait(t, b);
  releaseWaitEntry(t);
}

/** The whole-state side of MIGRATE-ENTRY, valid at any instant (src/check/live.ts) or between
 * operations (src/check/quiescent.ts): a migration entry names a page that is not free and is
 * locked (the migrator holds src's reference and lock from before try_to_migrate() until after
 * remove_migration_ptes()). A short description when it does not, else null. A PMD migration entry
 * is judged as the PTE migration entry of its head (mkMigrationEntry(pmdMigrationPfn(pmd))). */
export function migrationEntryProblem(shm: Shm, pte: number): string | null {
  const pfn = ptePfn(pte);
  if (pfn < 0 || pfn >= shm.sizes.pages) return `names pfn ${pfn}, out of range`;
  if (Atomics.load(shm.flags, pfn) & PG_free) return 'names a free page';
  if (!PageLocked(shm, pfn)) return 'names an unlocked page';
  return null;
}
