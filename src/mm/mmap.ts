// mm/mmap.c: a VMA unmapped and mapped again while the other tasks fault, map, zap and walk the
// rmap around it (the 'unmapper' role), and the two locks that make freeing its page tables safe:
// the mm's mmap_lock and the file's i_mmap_rwsem (rw semaphores, src/locks/spinlock.ts).
//
// Followed: v6.6. mmap(MAP_FIXED) over a mapped range runs mmap_region(), which first clears the
// old mapping with do_vmi_munmap(vmi, mm, addr, len, uf, false): unlock = false, so the mmap_lock
// stays held for writing all along (no mmap_write_downgrade()). do_vmi_align_munmap() ->
// unmap_region(): unmap_vmas() zaps every PTE of the range, then free_pgtables(): unlink_file_vma()
// takes i_mmap_lock_write() and removes the VMA from the file's i_mmap tree ("Hide vma from rmap and
// truncate_pagecache before freeing pgtables"), then free_pgd_range() -> free_pte_range():
// pmd_clear() and pte_free_tlb() of each PTE table. mmap_region() then maps the range again
// (vma_link() -> __vma_link_file() under i_mmap_lock_write()); its PMDs are none, and the page
// cache still holds the file's small folios: the next faults there allocate tables again.
//
// Who excludes the free: every user-task walk of a VMA's page tables holds its mm's mmap_lock for
// reading (the fault paths, fault-around, MADV_DONTNEED, GUP, MADV_COLLAPSE, and the reader's
// loads standing for the MMU's walk, which the kernel fences with the TLB flush); every rmap walk
// holds the file's i_mmap_rwsem for reading (rmap_walk_file(), unmap_mapping_range(),
// unmap_mapping_folio()). Not yet: page_mkclean()'s walk (src/mm/writeback.ts) and the copies of
// the walk in src/variants (folio/large.ts, rmap-unmap-stale-pte): they only change PTEs they find
// present under the PTL, after pte_offset_map_lock()'s pmd_same() re-check, so a table freed under
// them holds none (the unmapper zapped it first). The model's i_mmap tree is static (src/mm/rmap.ts vmasOfFile()), so
// free_pgtables() holds i_mmap_lock_write() across the free instead of unlinking the VMA first: a
// walker then waits rather than skips a VMA that maps nothing.
//
// Lock order (the kernel's): mmap_lock -> page lock -> i_mmap_rwsem -> PTL. A fault that may
// retry drops the mmap_lock before it sleeps on a page lock (maybe_unlock_mmap_for_io(),
// src/mm/filemap.ts) and returns VM_FAULT_RETRY; the arch handler takes it again (do_user_addr_fault()).
//
// Without an unmapper (CTL.MMAP_LOCKING 0, every default mix) no VMA ever goes away: neither lock is
// taken and no schedule point is added, except the i_mmap_lock_read points the rmap walks always had.
import { CTL } from '../shm/layout.ts';
import { pteNone, ptePfn, pteRead, ptlSlot, ptlSpan, vmaEnd } from '../shm/mm.ts';
import { NIL, type Shm } from '../shm/shm.ts';
import { downRead, downWrite, upRead, upWrite } from '../locks/spinlock.ts';
import { PMD_NONE, pteFree } from './pgtable.ts';
import type { Step } from '../kernel/step.ts';
import { LD_I_MMAP, LD_MMAP, type Task, type ZapDetails } from '../kernel/task.ts';

/** Whether VMAs go away during this run (an 'unmapper' actor): set at scenario init. */
export const mmapLocking = (shm: Shm): boolean => shm.ctl[CTL.MMAP_LOCKING] !== 0;

/** The mm (process) a VMA belongs to. */
export const vmaMm = (shm: Shm, vma: number): number => Math.floor(vma / shm.sizes.vmasPerProcess);

/** mmap_read_lock() of `vma`'s mm before a user task walks its page tables; nothing without an unmapper. */
export function* mmapReadLock(t: Task, vma: number): Step {
  const shm = t.shm;
  if (!mmapLocking(shm)) return;
  const mm = vmaMm(shm, vma);
  t.page = -1;
  if (t.lockdep !== null) t.lockdep.check(t, LD_MMAP, mm);
  yield* downRead(t, shm.mmapLock, mm, 'mmap_read_lock');
  shm.mmapHeld[t.id] = mm + 1;
  if (t.lockdep !== null) t.lockdep.rwsemAcquired(t, LD_MMAP, mm);
}

/** mmap_read_unlock() of the mmap_lock this task holds for reading, if it still does: a fault that
 * returned VM_FAULT_RETRY dropped it already (fpin, release_fault_lock()). */
export function* mmapReadUnlock(t: Task): Step {
  const shm = t.shm, held = shm.mmapHeld[t.id];
  if (held <= 0) return;
  shm.mmapHeld[t.id] = 0;
  if (t.lockdep !== null) t.lockdep.rwsemReleased(LD_MMAP, held - 1);
  yield* upRead(shm.mmapLock, held - 1);
}

/** The mmap_lock again after a fault dropped it (GUP's retry: __get_user_pages_locked() retakes
 * it when faultin_page() unlocked it); nothing if it is still held or nobody unmaps. */
export function* mmapReadRelock(t: Task, vma: number): Step {
  if (t.shm.mmapHeld[t.id] === 0) yield* mmapReadLock(t, vma);
}

export function* mmapWriteLock(t: Task, mm: number): Step {
  t.page = -1;
  if (t.lockdep !== null) t.lockdep.check(t, LD_MMAP, mm);
  yield* downWrite(t, t.shm.mmapLock, mm, 'mmap_write_lock');
  t.shm.mmapHeld[t.id] = -(mm + 1);
  if (t.lockdep !== null) t.lockdep.rwsemAcquired(t, LD_MMAP, mm);
}

export function* mmapWriteUnlock(t: Task, mm: number): Step {
  t.shm.mmapHeld[t.id] = 0;
  if (t.lockdep !== null) t.lockdep.rwsemReleased(LD_MMAP, mm);
  yield* upWrite(t.shm.mmapLock, mm);
}

/**
 * i_mmap_lock_read() of `file` by an rmap walk. Without an unmapper the i_mmap tree never changes
 * and the read side never waits: a schedule point where the walk always had one (`point`), or
 * nothing where it had none (unmap_mapping_range(), unmap_mapping_folio()).
 */
export function* iMmapLockRead(t: Task, file: number, point = true): Step {
  if (!mmapLocking(t.shm)) {
    if (point) yield 'i_mmap_lock_read';
    return;
  }
  yield* iMmapDown(t, file, false, 'i_mmap_lock_read');
}

export function* iMmapUnlockRead(t: Task, file: number): Step {
  if (!mmapLocking(t.shm)) return;
  yield* iMmapUp(t, file, false);
}

/** down_read() / down_write() of `file`'s i_mmap_rwsem (the one schedule point `label` when it is
 * free), with what the checkers read: the task's iMmapHeld word (the wait-for graph's holders of
 * the lock) and lockdep's class LD_I_MMAP. */
function* iMmapDown(t: Task, file: number, write: boolean, label: string): Step {
  if (t.lockdep !== null) t.lockdep.check(t, LD_I_MMAP, file);
  if (write) yield* downWrite(t, t.shm.iMmap, file, label);
  else yield* downRead(t, t.shm.iMmap, file, label);
  t.shm.iMmapHeld[t.id] = write ? -(file + 1) : file + 1;
  if (t.lockdep !== null) t.lockdep.rwsemAcquired(t, LD_I_MMAP, file);
}

function* iMmapUp(t: Task, file: number, write: boolean): Step {
  t.shm.iMmapHeld[t.id] = 0;
  if (t.lockdep !== null) t.lockdep.rwsemReleased(LD_I_MMAP, file);
  if (write) yield* upWrite(t.shm.iMmap, file);
  else yield* upRead(t.shm.iMmap, file);
}

/** The whole range of a VMA, every PTE: unmap_vmas()'s zap of a file VMA (COW copies too). */
const ZAP_VMA: ZapDetails = Object.freeze({ evenCows: true, single: NIL });

/**
 * mmap(MAP_FIXED) of `vma`'s range over itself, same file, offset and flags (mmap_region() as above):
 * under mmap_write_lock(), unmap_region() (the zap, then free_pgtables()), then vma_link().
 */
export function* mmapRegion(t: Task, vma: number): Step {
  const mm = vmaMm(t.shm, vma);
  yield* mmapWriteLock(t, mm);
  yield* unmapRegion(t, vma);
  yield* vmaLink(t, vma);
  yield* mmapWriteUnlock(t, mm);
}

/** unmap_region() (6.6 mm/mmap.c) of a whole VMA: unmap_vmas(), then free_pgtables(). */
export function* unmapRegion(t: Task, vma: number): Step {
  const shm = t.shm;
  yield* t.ops.rmap.zapPteRange(t, vma, shm.vmaPgoff[vma], vmaEnd(shm, vma), ZAP_VMA);
  yield* t.ops.rmap.freePgtables(t, vma);
}

/** vma_link() -> __vma_link_file(): the new VMA enters the file's i_mmap tree under
 * i_mmap_lock_write() (the model's VMA keeps its file, offset and flags: it is the same range). */
export function* vmaLink(t: Task, vma: number): Step {
  const file = t.shm.vmaFile[vma];
  yield* iMmapDown(t, file, true, 'vma_link');
  yield* iMmapUp(t, file, true);
}

/**
 * free_pgtables() (6.6 mm/memory.c) of a whole VMA: unlink_file_vma() (i_mmap_lock_write(): no rmap
 * walk is in the VMA, none starts), then free_pgd_range() -> free_pte_range() for each PTE table
 * the page allocator gave it: pmd_clear(), and pte_free_tlb() gives the table page back. PTE-TABLE:
 * unmap_vmas() cleared every PTE first, and with the mmap_lock held for writing no fault set one
 * since, so the table freed holds none (a PTE left would outlive its table: its page's mapcount
 * and reference would belong to nothing). A huge PMD is gone too (the zap cleared it).
 */
export function* freePgtables(t: Task, vma: number): Step {
  const shm = t.shm, file = shm.vmaFile[vma];
  yield* iMmapDown(t, file, true, 'unlink_file_vma');
  for (let index = shm.vmaPgoff[vma], end = vmaEnd(shm, vma); index < end;) {
    const [start, stop] = ptlSpan(shm, vma, index), slot = ptlSlot(shm, vma, index);
    index = stop;
    const pmd = Atomics.load(shm.pmd, slot);
    if (pmd <= 0) continue; // none (a huge PMD: the zap cleared it; 0: a table set up with the VMA, never with an unmapper)
    t.page = pmd - 1;
    t.aux = start;
    yield 'free_pte_range';
    for (let i = start; i < stop; i++) {
      const pte = pteRead(shm, vma, i);
      if (!pteNone(pte)) t.violation('PTE-TABLE', ptePfn(pte), vma, i);
    }
    Atomics.store(shm.pmd, slot, PMD_NONE); // pmd_clear()
    yield* pteFree(t, pmd - 1); // pte_free_tlb()
  }
  yield* iMmapUp(t, file, true);
}
