// Typed views over the shared buffer. Field names follow the kernel where one exists.
import { computeLayout, type Layout, type ShmSizes, CTL } from './layout.ts';

// page->flags bits. PG_locked and PG_waiters share the low byte so unlock can clear one and
// test the other in a single atomic RMW (BUILD_BUG_ON(PG_waiters != 7), kernel-protocols §5.1).
export const PG_locked = 1 << 0;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_writeback = 1 << 4;
export const PG_readahead = 1 << 5;
export const PG_waiters = 1 << 7;
export const PG_free = 1 << 16; // model-only: page is on the allocator's free list
export const BIT_LOCKED = 0;
export const BIT_WRITEBACK = 4;

// wait_queue_entry flags (include/linux/wait.h)
export const WQ_FLAG_EXCLUSIVE = 0x01;
export const WQ_FLAG_WOKEN = 0x02;
export const WQ_FLAG_CUSTOM = 0x04; // page lock: the waiter wants the lock handed to it
export const WQ_FLAG_DONE = 0x08; // page lock: the lock was taken for (or by) the waiter

export const NIL = -1;
export const NO_OWNER = 0; // shadow owner word holds task id + 1

// task state words, read by the watchdog and the wait-for graph
export const TASK_RUNNING = 0;
export const TASK_WAITING = 1; // taskWaitPage / taskWaitBit say on what
export const TASK_PARKED = 2; // between operations, at an epoch or stutter
export const TASK_DONE = 3;

// vma flags
export const VM_SHARED = 1;

// PTE word: 0 = pte_none; otherwise pfn + 1 in the low 24 bits plus flag bits
export const PTE_PFN_MASK = 0x00ff_ffff;
export const PTE_WRITE = 1 << 24;
export const PTE_ANON = 1 << 25; // a private COW copy (anon page), not a file page
// the hardware dirty bit: set by a store through a writable PTE, handed to the page (set_page_dirty)
// when the PTE is zapped or unmapped, cleared with the write bit by page_mkclean()
export const PTE_DIRTY = 1 << 26;

export class Shm {
  readonly sab: SharedArrayBuffer;
  readonly layout: Layout;
  readonly sizes: ShmSizes;
  readonly ctl!: Int32Array;
  readonly flags!: Int32Array;
  readonly refcount!: Int32Array;
  /** _mapcount: -1 = unmapped, as in the kernel */
  readonly mapcount!: Int32Array;
  /** file id + 1, 0 = NULL */
  readonly mapping!: Int32Array;
  readonly index!: Int32Array;
  /** shadow lock owner: task id + 1, 0 = none. Written only by the checks, never by the algorithm. */
  readonly owner!: Int32Array;
  readonly stampFile!: Int32Array;
  readonly stampIndex!: Int32Array;
  readonly stampGen!: Int32Array;
  /** the page's data ends here: bytes [stampEnd, PAGE_SIZE) are zeros (EOF-ZERO) */
  readonly stampEnd!: Int32Array;
  readonly freeNext!: Int32Array;
  readonly bucketLock!: Int32Array;
  readonly bucketHead!: Int32Array;
  readonly bucketTail!: Int32Array;
  readonly wqFlags!: Int32Array;
  readonly wqPage!: Int32Array;
  readonly wqBit!: Int32Array;
  readonly wqNext!: Int32Array;
  readonly wqPrev!: Int32Array;
  readonly wqLinked!: Int32Array;
  readonly wqOvertaken!: Int32Array;
  readonly taskState!: Int32Array;
  readonly taskWaitPage!: Int32Array;
  readonly taskWaitBit!: Int32Array;
  readonly heartbeat!: Int32Array;
  readonly fatal!: Int32Array;
  readonly opNo!: Int32Array;
  readonly heldCount!: Int32Array;
  readonly role!: Int32Array;
  readonly held!: Int32Array;
  readonly stats!: Int32Array;
  readonly waitHist!: Int32Array;
  readonly flight!: Int32Array;
  readonly violations!: Int32Array;
  readonly labels!: Int32Array;
  readonly iSize!: Int32Array;
  readonly nrpages!: Int32Array;
  readonly iPagesLock!: Int32Array;
  /** page-cache slots, file * pagesPerFile + index → pfn + 1 (0 = empty) */
  readonly slots!: Int32Array;
  readonly vmaFile!: Int32Array;
  readonly vmaPgoff!: Int32Array;
  readonly vmaLen!: Int32Array;
  readonly vmaFlags!: Int32Array;
  readonly ptes!: Int32Array;
  readonly ptl!: Int32Array;
  readonly ptlOwner!: Int32Array;
  /** i_rwsem per file: 0 free, 1 held, 2 held with sleepers (src/locks/spinlock.ts mutexLock) */
  readonly iRwsem!: Int32Array;
  /** lockdep's lock-order graph (src/check/lockdep.ts) */
  readonly lockdep!: Int32Array;
  /** the task that started the page's writeback and will end it: task id + 1, 0 = none (the
   * wait-for graph follows a writeback wait to it; see Task.writebackStarted()) */
  readonly wbOwner!: Int32Array;
  /** per page, its writeback I/Os: incremented when one starts (odd: in flight) and when its I/O
   * completed, before PG_writeback is cleared (even) — the witness of WB-WAIT (src/mm/writeback.ts) */
  readonly wbSeq!: Int32Array;
  /** owed wake-ups of the page lock (src/locks/waitqueue.ts, "owed wake-ups") */
  readonly wakeOwed!: Int32Array;
  readonly wakeUnlocks!: Int32Array;
  readonly wqSleep!: Int32Array;
  readonly wqToken!: Int32Array;
  readonly unlockToken!: Int32Array;
  readonly wakeLostOp!: Int32Array;
  readonly wakeMissed!: Int32Array;
  /** per page table, its PMD entry: 0 a table set up with the VMA, -1 (PMD_NONE) none, else the
   * table page's pfn + 1 (src/mm/pgtable.ts) */
  readonly pmd!: Int32Array;
  /** per mm (process), mm->page_table_lock: a spinlock (pmd_install()) */
  readonly pageTableLock!: Int32Array;
  /** per page: a folio head's order (0: a single page), or -(offset from the head) for a tail page */
  readonly compound!: Int32Array;
  /** per folio head: how many of its pages a PTE maps (6.6 folio->_nr_pages_mapped) */
  readonly nrPagesMapped!: Int32Array;
  /** with folios on: a free block's previous block on its free list, NIL (first) or FREE_UNLISTED */
  readonly freePrev!: Int32Array;
  /** per page, how many tasks' wqSleep name it (src/locks/waitqueue.ts sleepMark()) */
  readonly wqSleepers!: Int32Array;
  /** per mm, its mmap_lock; per file, its i_mmap_rwsem (rw semaphores, src/locks/spinlock.ts) */
  readonly mmapLock!: Int32Array;
  readonly iMmap!: Int32Array;
  /** per task, the mmap_lock it holds: mm + 1 for read, -(mm + 1) for write, 0 none (src/mm/mmap.ts) */
  readonly mmapHeld!: Int32Array;
  /** per task, the i_mmap_rwsem it holds: file + 1 for read, -(file + 1) for write, 0 none (src/mm/mmap.ts) */
  readonly iMmapHeld!: Int32Array;

  constructor(sizes: ShmSizes, sab?: SharedArrayBuffer) {
    this.sizes = sizes;
    this.layout = computeLayout(sizes);
    this.sab = sab ?? new SharedArrayBuffer(this.layout.bytes);
    if (this.sab.byteLength !== this.layout.bytes) throw new Error('shared buffer does not match the sizes');
    for (const r of this.layout.regions)
      (this as any)[r.name] = new Int32Array(this.sab, r.offset * 4, r.length);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.ctl, CTL.STOP) !== 0;
  }
}
