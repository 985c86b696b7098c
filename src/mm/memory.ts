// mm/memory.c: the fault paths of handle_mm_fault() — the read fault (fault-around first, then
// ->fault + finish_fault()), the private write fault (COW), the shared write fault —, zapping PTE
// ranges (munmap / MADV_DONTNEED / truncation's unmap_mapping_range()), and a user load through a
// PTE (the reader's data check). Each call to another replaceable kernel function goes through the
// running configuration's tables (t.ops), so a variant that replaces an entry is reached from here.
import { allocPage, putPage } from './page_alloc.ts';
import { PAGE_SIZE, pageFile, xaLoadPage } from '../shm/files.ts';
import { CTL } from '../shm/layout.ts';
import {
  PMD_DIRTY, PMD_WRITE, hpagePmdOrder, hugePmdPfn, isMigrationEntry, isPmdMigrationEntry, mappingWordAt, mkHugePmd, mkPte, pmdMigrationPfn, pmdRead, pmdTransHuge, pmdWrite, pteAnon, pteNone, ptePfn, ptePresent, pteRead,
  pteSlot, pteWrite, ptlSlot, ptlSpan, vmaEnd, vmaShared,
} from '../shm/mm.ts';
import { pteUnlock } from './pgtable.ts';
import { pteOffsetMapLock } from './pgtable.ts';
import { PMD_NONE, folioTestPmdMappable, pmdLock, pmdNoTable, pmdNone, pmdUnlock, pteAllocOne, pteFree, thpPmdEnabled, transhugeVmaSuitable } from './pgtable.ts';
import { splitHugePmd } from './huge_memory.ts';
import { MAPPING_ANON, PageLocked, SetPageUptodate, folioHead, folioNrPages, folioPage, getPage } from '../shm/page.ts';
import { NIL, PTE_ANON, PTE_WRITE } from '../shm/shm.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, ZapDetails } from '../kernel/task.ts';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_KILLABLE, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_WRITE,
  VM_FAULT_ERROR, VM_FAULT_FALLBACK, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, type FaultResult, type VmFault,
} from '../kernel/fault.ts';
import { fatalSignalPending } from '../locks/waitqueue.ts';
import { checkMappedFilePage } from './filemap.ts';
import { vmasOfFile } from './rmap.ts';
import { vmFaultLockedCheck } from './writeback.ts';
import { iMmapLockRead, iMmapUnlockRead, mmapReadLock, mmapReadUnlock } from './mmap.ts';

/** fault_around_bytes / PAGE_SIZE (debugfs knob; kernel default 64 KiB = 16 pages). Read from
 * t.options['fault-around'] (or faultAround); 1 disables fault-around. */
export const DEFAULT_FAULT_AROUND_PAGES = 16;

export function faultAroundPages(t: Task): number {
  const n = Number(t.options['fault-around'] ?? t.options.faultAround ?? DEFAULT_FAULT_AROUND_PAGES);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_FAULT_AROUND_PAGES;
}

/**
 * The fault-around window for `vmf`: fault_around_pages aligned (from the VMA start), clamped to
 * the VMA and to the page table holding the faulting PTE (do_fault_around()).
 */
export function faultAroundWindow(t: Task, vmf: VmFault, pages = faultAroundPages(t)): [number, number] {
  const shm = t.shm, pgoff = shm.vmaPgoff[vmf.vma];
  const [ptStart, ptEnd] = ptlSpan(shm, vmf.vma, vmf.index);
  const from = pgoff + Math.floor((vmf.index - pgoff) / pages) * pages;
  return [Math.max(from, ptStart), Math.min(from + pages, ptEnd, vmaEnd(shm, vmf.vma))];
}

/**
 * do_fault_around() (6.6): "if (pmd_none(*vmf->pmd)) { vmf->prealloc_pte = pte_alloc_one(); if
 * (!vmf->prealloc_pte) return VM_FAULT_OOM; }" — no page lock is held yet —, then
 * vma->vm_ops->map_pages over the window. 6.6's filemap_map_pages() installs the preallocated
 * table (filemap_map_pmd(): pmd_install()) once it has locked the first page it maps; here it is
 * installed before ->map_pages (as 5.9's alloc_set_pte() did on the first page), so that every
 * map_pages variant finds its table: an installed empty table is what the kernel's is once its
 * PTEs are zapped. With --pmd on it is 6.6's order: filemap_map_pages() (mainline ->map_pages only)
 * maps a PMD-sized folio by the PMD or installs the table (filemap_map_pmd()).
 */
export function* doFaultAround(t: Task, vmf: VmFault): Step<number> {
  const [start, end] = faultAroundWindow(t, vmf);
  if (pmdNone(t.shm, vmf.vma, vmf.index)) {
    if ((vmf.preallocPte ?? NIL) === NIL) {
      const pt = yield* pteAllocOne(t);
      if (pt === NIL) return VM_FAULT_OOM;
      vmf.preallocPte = pt;
    }
    if (!thpPmdEnabled(t) && (yield* t.ops.fault.pmdInstall(t, vmf.vma, vmf.index, vmf.preallocPte!))) vmf.preallocPte = NIL;
  }
  return yield* t.ops.vmOps.mapPages(t, vmf, start, end);
}

/**
 * __do_fault()'s preallocation (6.6, 63f3655f9501 "mm, memcg: fix reclaim deadlock with
 * writeback"): "Preallocate pte before we take page_lock because this might lead to deadlocks for
 * memcg reclaim which waits for pages under writeback": lock_page(B) then pte_alloc_one() ->
 * shrink_page_list() -> wait_on_page_writeback(A) while the writer of A waits for lock_page(B).
 * VM_FAULT_OOM if the allocator has nothing, after direct reclaim.
 */
export function* preallocPte(t: Task, vmf: VmFault): Step<number> {
  if (!pmdNone(t.shm, vmf.vma, vmf.index) || (vmf.preallocPte ?? NIL) !== NIL) return 0;
  const pt = yield* pteAllocOne(t);
  if (pt === NIL) return VM_FAULT_OOM;
  vmf.preallocPte = pt;
  return 0;
}

/** __do_fault(): ->fault, and the page comes back locked (VM_BUG_ON_PAGE(!PageLocked) when the
 * fault said VM_FAULT_LOCKED; lock it otherwise). */
export function* __doFault(t: Task, vmf: VmFault): Step<FaultResult> {
  if (yield* preallocPte(t, vmf)) return { ret: VM_FAULT_OOM, pfn: NIL };
  const r = yield* t.ops.vmOps.fault(t, vmf);
  if (r.ret & (VM_FAULT_ERROR | VM_FAULT_RETRY)) return r; // RETRY: a fatal signal, the page dropped
  if (r.ret & VM_FAULT_LOCKED) {
    vmFaultLockedCheck(t, r.pfn);
  } else {
    yield* t.ops.lock.lockPage(t, r.pfn);
  }
  return { ret: r.ret | VM_FAULT_LOCKED, pfn: r.pfn };
}

/**
 * finish_fault()'s PMD step (6.6): on a none PMD map a PMD-sized folio by do_set_pmd(), else install
 * vmf->prealloc_pte or allocate a table. Returns the fault's result if it ends here (mapped by the
 * PMD, VM_FAULT_OOM), null if the caller goes on to the PTE.
 */
export function* finishFaultPmd(t: Task, vmf: VmFault, pfn: number, anon: boolean): Step<number | null> {
  const shm = t.shm;
  t.page = pfn;
  t.aux = vmf.index;
  if (pmdNone(shm, vmf.vma, vmf.index)) {
    if (!anon && folioTestPmdMappable(t, pfn)) {
      const ret = yield* t.ops.fault.doSetPmd(t, vmf, folioPage(shm, pfn, vmf.index));
      if (ret !== VM_FAULT_FALLBACK) return ret;
      t.page = pfn;
      t.aux = vmf.index;
    }
    if ((vmf.preallocPte ?? NIL) !== NIL) {
      if (yield* t.ops.fault.pmdInstall(t, vmf.vma, vmf.index, vmf.preallocPte!)) vmf.preallocPte = NIL;
    } else if (!(yield* t.ops.fault.pteAlloc(t, vmf.vma, vmf.index))) {
      return VM_FAULT_OOM;
    }
    t.page = pfn;
    t.aux = vmf.index;
  }
  return null;
}

/**
 * finish_fault() (6.6): with the page locked, make sure there is a PTE table: "if
 * (pmd_none(*vmf->pmd)) { if (vmf->prealloc_pte) pmd_install(vma->vm_mm, vmf->pmd,
 * &vmf->prealloc_pte); else if (unlikely(pte_alloc(vma->vm_mm, vmf->pmd))) return VM_FAULT_OOM; }"
 * — the pte_alloc() here allocates under the page lock, which __do_fault()'s preallocation keeps
 * mainline from reaching —; take the PTL, re-check pte_none under it ("Re-check under ptl"), then
 * do_set_pte(). Returns VM_FAULT_NOPAGE if somebody else mapped it first (the caller keeps its
 * reference).
 *
 * The PMD level (--pmd on): on a none PMD, "if (PageTransCompound(page)) { ret = do_set_pmd(vmf,
 * page); if (ret != VM_FAULT_FALLBACK) return ret; }" — do_set_pmd() maps only a PMD-sized folio's
 * head page, so only a fault at the folio's first index maps it by the PMD —; and
 * pte_offset_map_lock() finds no table when a PMD was set meanwhile: "if (!vmf->pte) return
 * VM_FAULT_NOPAGE".
 */
export function* finishFault(t: Task, vmf: VmFault, pfn: number, anon = false, write = false): Step<number> {
  const shm = t.shm;
  const done = yield* finishFaultPmd(t, vmf, pfn, anon);
  if (done !== null) return done;
  const ptl = yield* pteOffsetMapLock(t, vmf.vma, vmf.index);
  if (ptl < 0) return VM_FAULT_NOPAGE;
  yield 'pte_none';
  let ret = VM_FAULT_NOPAGE;
  if (pteNone(pteRead(shm, vmf.vma, vmf.index))) {
    yield* t.ops.fault.doSetPte(t, vmf, pfn, anon, write);
    ret = 0;
  }
  pteUnlock(t, ptl);
  return ret;
}

/** do_set_pte(): add the rmap (mapcount) and set the PTE, which takes over the caller's
 * reference (PTL held, PTE none). */
export function* doSetPte(t: Task, vmf: VmFault, pfn: number, anon: boolean, write: boolean): Step {
  const shm = t.shm;
  // PTE-TABLE: a PTE is set only in an installed table (pte_alloc() / pmd_install() came first),
  // never under a none or huge PMD (pte_offset_map_lock() gave the caller no table there)
  if (pmdNoTable(shm, vmf.vma, vmf.index)) t.violation('PTE-TABLE', pfn, vmf.vma, vmf.index);
  // a page-cache folio's page at this index (6.6 finish_fault(): vmf->page = folio_file_page())
  if (!anon) pfn = folioPage(shm, pfn, vmf.index);
  yield* t.ops.rmap.pageAddRmap(t, pfn);
  yield 'set_pte_at';
  pteWrite(shm, vmf.vma, vmf.index, anon ? mkPte(pfn, PTE_ANON | PTE_WRITE) : mkPte(pfn, write ? PTE_WRITE : 0));
  if (!anon) checkMappedFilePage(t, vmf, pfn, vmf.index);
  t.stat('mapped');
}

/**
 * do_set_pmd() (6.6 mm/memory.c) for page `page` of a locked page-cache folio the caller holds a
 * reference to: VM_FAULT_FALLBACK unless the PMD range suits the VMA (transhuge_vma_suitable()) and
 * "page == &folio->page && folio_order(folio) == HPAGE_PMD_ORDER"; then under pmd_lock() "if
 * (unlikely(!pmd_none(*vmf->pmd))) goto out" (VM_FAULT_FALLBACK: the caller's pte_offset_map_lock()
 * then finds a huge PMD or a table), page_add_file_rmap(page, vma, true) (the folio's
 * _entire_mapcount), set_pmd_at(): the caller's reference is the PMD's. add_mm_counter() has no
 * counterpart here. A write fault maps it writable and dirty: "if (write) entry =
 * maybe_pmd_mkwrite(pmd_mkdirty(entry), vma)" — only do_shared_fault() gets here with
 * FAULT_FLAG_WRITE and a page-cache folio (a private write fault's finish_fault() maps the COW copy),
 * after ->page_mkwrite dirtied the folio under its lock (do_shared_fault() -> __do_fault() ->
 * do_page_mkwrite() -> finish_fault()), so a writable PMD maps a dirty folio, as a writable PTE
 * does; page_mkclean() write-protects and cleans it (src/mm/writeback.ts), a split hands its dirty
 * bit to the folio (src/mm/huge_memory.ts).
 */
export function* doSetPmd(t: Task, vmf: VmFault, page: number): Step<number> {
  const shm = t.shm, vma = vmf.vma, start = doSetPmdStart(t, vmf, page);
  if (start === NIL) return VM_FAULT_FALLBACK;
  t.page = page;
  t.aux = start;
  const mm = yield* pmdLock(t, vma);
  yield 'pmd_none';
  if (!pmdNone(shm, vma, vmf.index)) {
    pmdUnlock(t, mm);
    return VM_FAULT_FALLBACK;
  }
  yield* t.ops.rmap.pageAddRmap(t, page, true);
  yield 'set_pmd_at';
  setHugePmd(t, vmf, page, start, (vmf.flags ?? 0) & FAULT_FLAG_WRITE ? PMD_WRITE | PMD_DIRTY : 0);
  pmdUnlock(t, mm);
  return 0;
}

/** do_set_pmd()'s tests before the PMD lock: the first file index of the PMD range it would map,
 * or NIL for VM_FAULT_FALLBACK. */
export function doSetPmdStart(t: Task, vmf: VmFault, page: number): number {
  const shm = t.shm, vma = vmf.vma;
  if (!thpPmdEnabled(t) || !transhugeVmaSuitable(shm, vma, vmf.index)) return NIL;
  const [start] = ptlSpan(shm, vma, vmf.index);
  if (shm.compound[page] !== hpagePmdOrder(shm) || Atomics.load(shm.index, page) !== start) return NIL;
  return start;
}

/** set_pmd_at() of a huge PMD mapping folio `head` at file index `start` (its PMD range), with
 * `bits` (PMD_WRITE | PMD_DIRTY for a write fault), and the check every PTE install has: the folio
 * is the page cache's there (MAP-CACHE). */
export function setHugePmd(t: Task, vmf: VmFault, head: number, start: number, bits = 0): void {
  Atomics.store(t.shm.pmd, ptlSlot(t.shm, vmf.vma, start), mkHugePmd(head, bits));
  checkMappedFilePage(t, vmf, head, start);
  t.stat('pmdMapped');
  if (bits & PMD_WRITE) t.stat('pmdMappedWrite');
  t.stat('mapped', t.shm.sizes.ptesPerPtl);
}

/** do_read_fault(): fault-around first; if that mapped the faulting index, done. Else
 * __do_fault() + finish_fault(), unlock_page(); the reference went to the PTE unless NOPAGE. */
export function* doReadFault(t: Task, vmf: VmFault): Step<number> {
  if (faultAroundPages(t) > 1) {
    const ret = yield* t.ops.fault.doFaultAround(t, vmf);
    if (ret) return ret;
  }
  const r = yield* t.ops.fault.__doFault(t, vmf);
  if (r.ret & (VM_FAULT_ERROR | VM_FAULT_RETRY)) return r.ret;
  const ret = r.ret | (yield* t.ops.fault.finishFault(t, vmf, r.pfn));
  yield* t.ops.lock.unlockPage(t, r.pfn);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) yield* putPage(t, r.pfn); // finish_fault()'s OOM too
  return ret;
}

/** copy_user_highpage() into a new anonymous page `cow` for file index `index`: the data (its
 * stamp) of `src`, uptodate, and the anon rmap's index (page_add_new_anon_rmap():
 * linear_page_index()). */
function copyToAnon(t: Task, cow: number, src: number, index: number): void {
  const shm = t.shm;
  shm.stampFile[cow] = shm.stampFile[src];
  shm.stampIndex[cow] = shm.stampIndex[src];
  shm.stampEnd[cow] = shm.stampEnd[src];
  SetPageUptodate(shm, cow);
  Atomics.store(shm.index, cow, index);
  Atomics.store(shm.mapping, cow, MAPPING_ANON);
}

/**
 * do_cow_fault(): a write fault on a private mapping. The anonymous copy is allocated before the
 * file page is locked (no allocation under a page lock, kernel-protocols §3.3), filled from the
 * locked file page, and mapped (PTE_ANON | PTE_WRITE) while the file page is still locked.
 */
export function* doCowFault(t: Task, vmf: VmFault): Step<number> {
  const shm = t.shm;
  const cow = yield* allocPage(t);
  if (cow === NIL) return VM_FAULT_OOM;
  const r = yield* t.ops.fault.__doFault(t, vmf);
  if (r.ret & (VM_FAULT_ERROR | VM_FAULT_RETRY)) {
    yield* putPage(t, cow);
    return r.ret;
  }
  t.page = r.pfn;
  yield 'copy_user_highpage';
  copyToAnon(t, cow, folioPage(shm, r.pfn, vmf.index), vmf.index); // vmf->page: folio_file_page()
  const ret = r.ret | (yield* t.ops.fault.finishFault(t, vmf, cow, true));
  yield* t.ops.lock.unlockPage(t, r.pfn);
  yield* putPage(t, r.pfn);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) yield* putPage(t, cow); // uncharge_out
  return ret;
}

/**
 * do_shared_fault(): a write fault on a shared mapping. __do_fault() returns the page locked;
 * ->page_mkwrite (filemap_page_mkwrite: lock, check page->mapping is still the file's, set
 * dirty, return locked) wants it unlocked; finish_fault() maps it writable under the page lock;
 * fault_dirty_shared_page() dirties and unlocks.
 */
export function* doSharedFault(t: Task, vmf: VmFault): Step<number> {
  const F = t.ops.fault;
  const r = yield* F.__doFault(t, vmf);
  let ret = r.ret;
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) return ret;
  const pfn = r.pfn;
  yield* t.ops.lock.unlockPage(t, pfn); // "do_page_mkwrite() wants the page unlocked"
  const tmp = yield* F.doPageMkwrite(t, vmf, pfn);
  if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
    yield* putPage(t, pfn);
    return tmp;
  }
  ret |= yield* F.finishFault(t, vmf, pfn, false, true);
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
    yield* t.ops.lock.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return ret;
  }
  ret |= yield* F.faultDirtySharedPage(t, pfn);
  return ret;
}

/** handleMmFault()'s answer when the PTE was present: no fault happened. */
export const NO_FAULT = -1;

/**
 * The flags a user fault of this task runs with: FAULT_FLAG_USER (| WRITE), and as the scenario's
 * options say, FAULT_FLAG_KILLABLE (--killable-faults) and FAULT_FLAG_ALLOW_RETRY (--fault-retry).
 * Mainline's user faults have both (FAULT_FLAG_DEFAULT, 6.6 include/linux/mm_types.h); without the
 * options the model's fault takes the page lock with plain lock_page() and never retries.
 */
export function userFaultFlags(t: Task, write: boolean): number {
  return FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0)
    | (t.options['killable-faults'] === true ? FAULT_FLAG_KILLABLE : 0)
    | (t.options['fault-retry'] === true ? FAULT_FLAG_ALLOW_RETRY : 0);
}

/**
 * handle_mm_fault() for one access: a none PTE faults: a read is do_read_fault(), a write to a
 * private mapping do_cow_fault(), a write to a shared mapping do_shared_fault(). A present PTE is
 * simply used (NO_FAULT), except a write to a read-only PTE: do_wp_page(). Counts faults and
 * SIGBUS.
 */
export function* handleMmFault(t: Task, vma: number, index: number, write: boolean, flags = userFaultFlags(t, write)): Step<number> {
  const shm = t.shm;
  const vmf: VmFault = { vma, file: shm.vmaFile[vma], index, flags };
  t.page = -1;
  t.aux = index;
  yield 'handle_pte_fault';
  // __handle_mm_fault() (6.6): "if (pmd_trans_huge(vmf.orig_pmd)) { if (write && !pmd_write(...))
  // { ret = wp_huge_pmd(&vmf); if (!(ret & VM_FAULT_FALLBACK)) return ret; } else {
  // huge_pmd_set_accessed(&vmf); return 0; } }". wp_huge_pmd() of a file folio: "COW or
  // write-notify handled on pte level: split pmd." (__split_huge_pmd(): the PMD is cleared) and
  // VM_FAULT_FALLBACK: handle_pte_fault() on the none PMD. A write through a writable PMD is no
  // fault: the store sets its dirty bit (src/scenarios/writeback.ts userStore()).
  const pmd = pmdRead(shm, vma, index);
  if (pmdTransHuge(pmd)) {
    if (!write || pmdWrite(pmd)) return NO_FAULT;
    yield* splitHugePmd(t, vma, index);
  } else if (isPmdMigrationEntry(pmd)) {
    // "if (unlikely(is_swap_pmd(vmf.orig_pmd))) { ... if (is_pmd_migration_entry(vmf.orig_pmd))
    // pmd_migration_entry_wait(mm, vmf.pmd); return 0; }": wait, and the access is executed again
    t.stat('faults');
    yield* t.ops.migrate.pmdMigrationEntryWait(t, vma, index);
    checkAfterPmdMigrationWait(t, vmf, pmdMigrationPfn(pmd));
    return 0;
  }
  const pte = pteRead(shm, vma, index);
  if (!pteNone(pte)) {
    if (isMigrationEntry(pte)) { // !pte_present(): do_swap_page()
      t.stat('faults');
      return yield* t.ops.fault.doSwapPage(t, vmf, pte);
    }
    if (!write || (pte & PTE_WRITE) !== 0) return NO_FAULT;
    t.stat('faults');
    return yield* t.ops.fault.doWpPage(t, vmf);
  }
  t.stat('faults');
  const F = t.ops.fault;
  const ret = !write ? yield* F.doReadFault(t, vmf) : vmaShared(shm, vma) ? yield* F.doSharedFault(t, vmf) : yield* F.doCowFault(t, vmf);
  // do_fault(): "preallocated pagetable is unused: free it"
  if ((vmf.preallocPte ?? NIL) !== NIL) {
    yield* pteFree(t, vmf.preallocPte!);
    vmf.preallocPte = NIL;
  }
  if (ret & VM_FAULT_SIGBUS) t.stat('sigbus');
  return ret;
}

/**
 * do_wp_page() (6.6 mm/memory.c) for a write to a present read-only PTE. Shared mapping:
 * wp_page_shared() (->page_mkwrite, src/mm/writeback.ts). Private mapping: the model's read-only
 * private PTEs map file pages (its anonymous pages are mapped writable), so it is always "Ok, we
 * need to copy. Oh, well..": under the PTL (handle_pte_fault()'s pte_same() check, then
 * vm_normal_page()) take a reference on the page (folio_get) and go to wp_page_copy() without
 * the PTL and without the page lock.
 */
export function* doWpPage(t: Task, vmf: VmFault): Step<number> {
  const shm = t.shm, { vma, index } = vmf;
  if (vmaShared(shm, vma)) return yield* t.ops.fault.doWpPageShared(t, vmf);
  t.page = -1;
  t.aux = index;
  const ptl = yield* pteOffsetMapLock(t, vma, index);
  if (ptl < 0) return 0; // no table any more: the access is executed again
  yield 'pte_same';
  const orig = pteRead(shm, vma, index);
  if (!ptePresent(orig) || (orig & PTE_WRITE) !== 0) { // changed before we got the PTL: "goto unlock"
    pteUnlock(t, ptl);
    return 0;
  }
  t.page = ptePfn(orig);
  getPage(shm, ptePfn(orig)); // folio_get(folio): the PTE's reference keeps it alive until here
  pteUnlock(t, ptl);
  return yield* t.ops.fault.wpPageCopy(t, vmf, orig);
}

/**
 * do_swap_page() (6.6 mm/memory.c) for the model's only non-present entry, a migration entry
 * (`orig`): "if (is_migration_entry(entry)) { migration_entry_wait(vma->vm_mm, vmf->pmd,
 * vmf->address); }" and return 0: no page was mapped, the user's access is simply executed again
 * (and faults again if the PTE is still not present). The wait takes no page reference
 * (migrate.migrationEntryWait). MIGRATE-ENTRY: what the task finds at its PTE afterwards is the
 * new page, the old page back (a migration that failed restored it: it is still the page cache's
 * page), or no mapping (it re-faults) — never the old page once migration took it out of the page
 * cache.
 */
export function* doSwapPage(t: Task, vmf: VmFault, orig: number): Step<number> {
  const old = ptePfn(orig);
  t.page = old;
  t.aux = vmf.index;
  yield* t.ops.migrate.migrationEntryWait(t, vmf.vma, vmf.index);
  checkAfterMigrationWait(t, vmf, old);
  return 0;
}

/** MIGRATE-ENTRY after a migration wait: a file PTE at the faulting index that maps the old page
 * must map it as the page cache's page there. Read like the other live checks: the PTE and the
 * page's allocation generation around the reads, so a page freed and reused meanwhile is not taken
 * for the old one. */
function checkAfterMigrationWait(t: Task, vmf: VmFault, old: number): void {
  const shm = t.shm, slot = pteSlot(shm, vmf.vma, vmf.index);
  const pte = Atomics.load(shm.ptes, slot);
  if (!ptePresent(pte) || pteAnon(pte) || ptePfn(pte) !== old) return;
  const gen = Atomics.load(shm.stampGen, old);
  const mapping = Atomics.load(shm.mapping, old), cached = xaLoadPage(shm, vmf.file, vmf.index);
  if (Atomics.load(shm.stampGen, old) !== gen || Atomics.load(shm.ptes, slot) !== pte) return;
  if (mapping !== vmf.file + 1 || cached !== old) t.violation('MIGRATE-ENTRY', old, vmf.file, vmf.index, vmf.vma);
}

/** MIGRATE-ENTRY after a PMD migration wait: a huge PMD over the faulting index that maps the old
 * folio must map it as the page cache's folio there (a failed migration restored it), read as
 * checkAfterMigrationWait() reads a PTE. */
function checkAfterPmdMigrationWait(t: Task, vmf: VmFault, old: number): void {
  const shm = t.shm, slot = ptlSlot(shm, vmf.vma, vmf.index), [start] = ptlSpan(shm, vmf.vma, vmf.index);
  const pmd = Atomics.load(shm.pmd, slot);
  if (!pmdTransHuge(pmd) || hugePmdPfn(pmd) !== old) return;
  const gen = Atomics.load(shm.stampGen, old);
  const mapping = Atomics.load(shm.mapping, old), cached = xaLoadPage(shm, vmf.file, start);
  if (Atomics.load(shm.stampGen, old) !== gen || Atomics.load(shm.pmd, slot) !== pmd) return;
  if (mapping !== vmf.file + 1 || cached !== old) t.violation('MIGRATE-ENTRY', old, vmf.file, start, vmf.vma);
}

/**
 * wp_page_copy() (6.6): allocate the new anonymous page and copy the old one into it
 * (__wp_page_copy_user(): no page lock — the reference only keeps the page from being freed, its
 * data may already be truncated away); then "Re-check the pte - we dropped the lock": only if the
 * PTE is still `orig` replace it (ptep_clear_flush(), folio_add_new_anon_rmap(),
 * set_pte_at_notify()) and, "Only after switching the pte to the new page", page_remove_rmap()
 * of the old page. The old PTE's reference and do_wp_page()'s are dropped at the end; a copy not
 * installed is freed. A PTE that changed meanwhile (a zap by truncation, another COW) means the
 * user simply retries the access. Truncation relies on this re-check: its first
 * unmap_mapping_range() clears the PTE under the PTL, so a copy made from a page truncation is
 * removing is never installed after that, and one installed before is a COW page the second
 * unmap_mapping_range() zaps.
 */
export function* wpPageCopy(t: Task, vmf: VmFault, orig: number): Step<number> {
  const shm = t.shm, { vma, index } = vmf, old = ptePfn(orig);
  const cow = yield* allocPage(t); // vma_alloc_folio()
  if (cow === NIL) {
    yield* putPage(t, old);
    return VM_FAULT_OOM;
  }
  t.page = old;
  t.aux = index;
  yield '__wp_page_copy_user';
  copyToAnon(t, cow, old, index);
  // "vmf->pte = pte_offset_map_lock(...); if (likely(vmf->pte && pte_same(ptep_get(vmf->pte),
  // vmf->orig_pte)))": no table is a changed PTE
  const ptl = yield* pteOffsetMapLock(t, vma, index);
  t.page = old;
  let free = cow;
  if (ptl >= 0) yield 'pte_same';
  if (ptl >= 0 && pteRead(shm, vma, index) === orig) {
    yield 'ptep_clear_flush';
    pteWrite(shm, vma, index, 0);
    t.page = cow;
    yield* t.ops.rmap.pageAddRmap(t, cow); // folio_add_new_anon_rmap()
    yield 'set_pte_at_notify';
    pteWrite(shm, vma, index, mkPte(cow, PTE_ANON | PTE_WRITE));
    t.stat('mapped');
    t.page = old;
    yield* t.ops.rmap.pageRemoveRmap(t, old);
    free = old; // "Free the old page..": the reference the old PTE held
  }
  if (ptl >= 0) pteUnlock(t, ptl);
  yield* putPage(t, free);
  yield* putPage(t, old); // do_wp_page()'s folio_get()
  return 0;
}

/**
 * The arch fault handler around handle_mm_fault() (do_user_addr_fault(), 6.6
 * arch/x86/mm/fault.c): on VM_FAULT_RETRY, return if a fatal signal is pending
 * (fault_signal_pending()), else "flags |= FAULT_FLAG_TRIED; goto retry". The model delivers a
 * fatal signal where a killable wait returns -EINTR (src/locks deliverFatalSignal()), so a signal
 * pending at the handler is one still pending, or one a killable wait of this attempt consumed.
 * FAULT-RETRY: VM_FAULT_RETRY comes back with no page lock held (out_retry: the page was unlocked
 * and put; the retry starts from the page-cache lookup and would deadlock on a lock it kept).
 */
export function* doUserAddrFault(t: Task, vma: number, index: number, write: boolean): Step<number> {
  let flags = userFaultFlags(t, write);
  for (;;) {
    const eintr = t.statValue('eintr');
    yield* mmapReadLock(t, vma); // lock_mm_and_find_vma() (with an unmapper: src/mm/mmap.ts)
    const ret = yield* t.ops.fault.handleMmFault(t, vma, index, write, flags);
    yield* mmapReadUnlock(t); // mmap_read_unlock(), unless VM_FAULT_RETRY dropped it (fpin, release_fault_lock())
    if (ret === NO_FAULT || !(ret & VM_FAULT_RETRY)) return ret;
    const held = t.heldPages();
    if (held.length > 0) t.violation('FAULT-RETRY', held[0], t.shm.vmaFile[vma], index);
    if (fatalSignalPending(t) || t.statValue('eintr') !== eintr) return ret;
    if (!(flags & FAULT_FLAG_ALLOW_RETRY)) return ret; // RETRY without ALLOW_RETRY: only a kill
    flags |= FAULT_FLAG_TRIED;
  }
}

// ---- zap ---------------------------------------------------------------------------------

/** zap_details of a plain zap (munmap, MADV_DONTNEED): every PTE, COW copies too. */
export const ZAP_ALL: ZapDetails = Object.freeze({ evenCows: true, single: NIL });

/**
 * zap_pmd_range() + zap_pte_range() over file indices [start, end) of `vma`, one page table (PTL)
 * at a time: clear each present PTE the details select, drop its mapcount and page reference.
 *
 * 6.6 zap_pmd_range(), per PMD: a huge PMD is zap_huge_pmd()'d when the range covers it ("if (next
 * - addr != HPAGE_PMD_SIZE) __split_huge_pmd(vma, pmd, addr, false, NULL); else if
 * (zap_huge_pmd(tlb, vma, pmd, addr)) continue;"), else split; a none PMD is skipped, but when
 * unmapping one PMD-sized folio over its whole PMD range, only after taking and dropping the PMD
 * lock: "so that we cannot return prematurely, while zap_huge_pmd() has cleared *pmd, but not yet
 * decremented compound_mapcount()" (truncation deletes the folio once folio_mapped() is false).
 * zap_pte_range()'s pte_offset_map_lock() finds no table under a none or huge PMD: nothing to zap.
 */
export function* zapPteRange(t: Task, vma: number, start: number, end: number, details: ZapDetails = ZAP_ALL): Step<number> {
  const shm = t.shm;
  let zapped = 0;
  for (let index = start; index < end;) {
    const [ptStart, ptEnd] = ptlSpan(shm, vma, index);
    const pmd = pmdRead(shm, vma, index);
    const whole = index === ptStart && end >= ptEnd && ptEnd - ptStart === shm.sizes.ptesPerPtl;
    if (pmdTransHuge(pmd) || isPmdMigrationEntry(pmd)) { // "if (is_swap_pmd(*pmd) || pmd_trans_huge(*pmd) ...)"
      if (whole && (yield* t.ops.rmap.zapHugePmd(t, vma, index))) {
        zapped += ptEnd - ptStart;
        index = ptEnd;
        continue;
      }
      if (!whole) yield* splitHugePmd(t, vma, index);
    } else if (pmd === PMD_NONE && whole && details.single !== NIL && folioTestPmdMappable(t, details.single)) {
      pmdUnlock(t, yield* pmdLock(t, vma));
    }
    t.page = -1;
    t.aux = index;
    const ptl = yield* pteOffsetMapLock(t, vma, index);
    if (ptl < 0) { // pmd_none(): "goto next"
      index = Math.min(end, ptEnd);
      continue;
    }
    // every PTE write holds this PTL, so the walk needs a schedule point only where it changes
    // something (zapPte's ptep_get_and_clear), not at each none PTE
    for (; index < Math.min(end, ptEnd); index++) {
      const pte = pteRead(shm, vma, index);
      if (pteNone(pte)) continue;
      if (isMigrationEntry(pte)) {
        // 6.6 zap_pte_range(), a non-present entry: "else if (is_migration_entry(entry)) { page =
        // pfn_swap_entry_to_page(entry); if (!should_zap_page(details, page)) continue; }" (a file
        // page: zapped even without even_cows), then pte_clear_not_present_full(). The entry held
        // no reference or mapcount: nothing to drop; the migration finds no entry to restore.
        if (details.single !== NIL && ptePfn(pte) !== details.single) continue;
        t.page = ptePfn(pte);
        t.aux = index;
        yield 'pte_clear_not_present_full';
        Atomics.store(shm.ptes, pteSlot(shm, vma, index), 0);
        zapped++;
        continue;
      }
      if (pteAnon(pte) && !details.evenCows) continue;
      if (details.single !== NIL && folioHead(shm, ptePfn(pte)) !== details.single) continue; // zap_details.single_folio
      yield* t.ops.rmap.zapPte(t, vma, index, pte);
      zapped++;
    }
    pteUnlock(t, ptl);
  }
  t.stat('zapped', zapped);
  return zapped;
}

/**
 * unmap_mapping_range() (as unmap_mapping_pages()): zap file indices [start, end) in every VMA
 * of `file`; `evenCows` also zaps private COW copies (truncation: SIGBUS semantics).
 */
export function* unmapMappingRange(t: Task, file: number, start: number, end: number, evenCows: boolean): Step {
  const shm = t.shm;
  yield* iMmapLockRead(t, file, false); // i_mmap_lock_read(): waits only with an unmapper (src/mm/mmap.ts)
  for (const vma of vmasOfFile(shm, file)) {
    const from = Math.max(start, shm.vmaPgoff[vma]), to = Math.min(end, vmaEnd(shm, vma));
    if (from < to) yield* t.ops.rmap.zapPteRange(t, vma, from, to, { evenCows, single: NIL });
  }
  yield* iMmapUnlockRead(t, file);
}

/** unmap_mapping_folio(): unmap one locked page from every VMA of its file (not COW copies). */
export function* unmapMappingFolio(t: Task, pfn: number): Step {
  const shm = t.shm;
  const owner = Atomics.load(shm.owner, pfn);
  if (!PageLocked(shm, pfn) || (owner !== 0 && owner !== t.id + 1)) t.violation('DEL-LOCKED', pfn, owner); // VM_BUG_ON(!folio_test_locked)
  const file = pageFile(shm, pfn), index = Atomics.load(shm.index, pfn), nr = folioNrPages(shm, pfn);
  if (file < 0) return;
  yield* iMmapLockRead(t, file, false); // i_mmap_lock_read(): waits only with an unmapper (src/mm/mmap.ts)
  for (const vma of vmasOfFile(shm, file)) {
    const from = Math.max(index, shm.vmaPgoff[vma]), to = Math.min(index + nr, vmaEnd(shm, vma)); // the folio's pages
    if (from < to) yield* t.ops.rmap.zapPteRange(t, vma, from, to, { evenCows: false, single: pfn });
  }
  yield* iMmapUnlockRead(t, file);
}

// ---- a user load through the page tables ---------------------------------------------------

/**
 * Read the data of file indices [start, end) of `vma` through its PTEs, as a user load would
 * (no lock). DATA-STAMP: what the PTE maps must hold this file's data at this index (a private
 * COW copy: the data it was copied from), and a file PTE must map the page the page cache has
 * there now, not a page truncation already removed (stale data). The PTE and the page's
 * allocation generation are read before and after: a read that raced with a zap or with the
 * page's reuse proves nothing and is skipped (the user would have faulted and retried).
 * EOF-ZERO: a file PTE of the last page shows zeros beyond i_size (the page's data ends at or
 * before i_size's offset in it), judged only when no truncation started or was in flight around
 * the read (truncate_setsize() writes i_size before truncate_inode_partial_folio() zeroes). A
 * private COW copy is anonymous memory: truncation neither zaps nor zeroes the last page's copy.
 * Returns the pages read.
 */
export function* readThroughPtes(t: Task, vma: number, start: number, end: number): Step<number> {
  const shm = t.shm, file = shm.vmaFile[vma], ctl = shm.ctl;
  let read = 0;
  for (let index = start; index < end; index++) {
    t.page = -1;
    t.aux = index;
    yield 'load';
    const seq = Atomics.load(ctl, CTL.TRUNC_SEQ), busy = Atomics.load(ctl, CTL.TRUNCATING);
    const size = Atomics.load(shm.iSize, file);
    const pte = mappingWordAt(shm, vma, index); // through a huge PMD too
    if (!ptePresent(pte)) continue; // none, or a migration entry: the load faults (do_swap_page())
    const pfn = ptePfn(pte);
    t.page = pfn;
    const gen = Atomics.load(shm.stampGen, pfn);
    const sf = shm.stampFile[pfn], si = shm.stampIndex[pfn], dataEnd = shm.stampEnd[pfn];
    const mapping = Atomics.load(shm.mapping, pfn), pindex = Atomics.load(shm.index, pfn);
    const cached = xaLoadPage(shm, file, index);
    if (Atomics.load(shm.stampGen, pfn) !== gen || mappingWordAt(shm, vma, index) !== pte) continue;
    read++;
    if (sf !== file || si !== index) t.violation('DATA-STAMP', pfn, file, index, sf, si);
    else if (!pteAnon(pte) && (mapping !== file + 1 || pindex !== index || cached !== pfn))
      t.violation('DATA-STAMP', pfn, file, index, cached); // page->mapping and ->index are in the record's page state
    else if (!pteAnon(pte) && size % PAGE_SIZE !== 0 && index === Math.floor(size / PAGE_SIZE) && dataEnd > size % PAGE_SIZE && busy === 0
      && Atomics.load(ctl, CTL.TRUNCATING) === 0 && Atomics.load(ctl, CTL.TRUNC_SEQ) === seq)
      t.violation('EOF-ZERO', pfn, file, index, size, dataEnd);
  }
  t.stat('reads', read);
  return read;
}
