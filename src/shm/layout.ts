// One SharedArrayBuffer holds the whole model. Every field is a struct-of-arrays Int32Array view
// over it, so protocol code reads like the kernel: Atomics.or(shm.flags, pfn, PG_locked).
//
// The layout is a pure function of the sizes, so every worker (and the controlled driver) builds
// identical views from the same sizes and the buffer.

export interface ShmSizes {
  /** struct page slots (the allocator hands them out). */
  pages: number;
  /** hashed page wait-table buckets, 1..4096 (kernel: 256). */
  buckets: number;
  /** tasks (actors plus the checker); each owns one wait entry and one flight recorder. */
  tasks: number;
  /** files (address_space); 0 for the pure lock scenario. */
  files: number;
  /** page-cache slots per file = the largest file in pages. */
  pagesPerFile: number;
  /** processes (mm). */
  processes: number;
  /** VMAs per process. */
  vmasPerProcess: number;
  /** PTEs per VMA (a VMA maps at most this many pages). */
  ptesPerVma: number;
  /** PTEs per split page-table lock. */
  ptesPerPtl: number;
  /** flight-recorder entries per task. */
  flightEntries: number;
  /** violation ring entries with full snapshots. */
  violationSlots: number;
}

export const FLIGHT_WORDS = 5; // seq, label id, page, aux, operation number
export const VIOLATION_HEADER_WORDS = 16;
export const LABEL_SLOTS = 1024;
export const LABEL_WORDS = 16; // 1 hash word + up to 60 bytes of ASCII
export const HIST_BUCKETS = 64;
/** Page locks a task's held list names; a lock beyond them is counted only. 6.6 collapse_file() holds
 * HPAGE_PMD_NR + 1 (the collapse scenario refuses a PMD range that does not fit). */
export const MAX_HELD = 16;
/** Words of lockdep's lock-order graph (src/check/lockdep.ts): first-seen records per class pair. */
export const LOCKDEP_WORDS = 1024;

/** Named per-task counters (stats). Append only: reports index them by name. */
export const STAT_NAMES = [
  'acquisitions', // page locks taken (any path)
  'contended', // acquisitions that had to sleep
  'trylockFail',
  'overtaken', // times this task's queued wait entry was passed by a stealer
  'handoffs', // locks received from a waker (WQ_FLAG_DONE set by the waker)
  'steals', // locks taken by trylock/fast path while waiters were queued
  'eintr', // killable waits that returned -EINTR
  'signalsSent',
  'maxWaitUs',
  'faults',
  'sigbus',
  'mapped', // PTEs installed
  'truncations',
  'reclaimed',
  'zapped',
  'reads',
  'skippedLocked',
  'ops',
  'backedOut', // lockless map_pages: mapcount raised, handshake lost, undone (no PTE set)
  'deletedTransient', // a page deleted while such a mapper's raised mapcount was still up
  'migrated', // page-cache pages migrate_pages() moved to a new page
  'migrationWaits', // faults that met a migration entry and waited for the migration
  'largeFolios', // large folios added to the page cache (readahead's page_cache_ra_order())
  'splits', // large folios split (split_folio() succeeded)
  'splitFailed', // split_folio() that returned -EAGAIN (a pin held, or the folio went meanwhile)
  'pmdMapped', // PMD-sized folios mapped by a PMD (do_set_pmd(), --pmd on)
  'pmdZapped', // huge PMDs cleared (zap_huge_pmd(), __split_huge_pmd())
  'collapsed', // PMD-sized folios made by khugepaged's 6.6 collapse_file() (src/mm/khugepaged.ts)
  'pmdMigrationEntries', // huge PMDs replaced by a PMD migration entry (set_pmd_migration_entry())
  'pmdMappedWrite', // of pmdMapped, those a write fault mapped writable and dirty (do_set_pmd(), 6.6)
] as const;
export type StatName = (typeof STAT_NAMES)[number];
/** Words per task in the stats region: STAT_NAMES rounded up to whole 64-byte lines, so a task's
 * counters (plain adds on every event) never share a cache line with another task's. Task t's
 * counter i is stats[t * STAT_STRIDE + i]. */
export const STAT_STRIDE = Math.ceil(STAT_NAMES.length / 16) * 16;
export const STAT = Object.fromEntries(STAT_NAMES.map((n, i) => [n, i])) as Record<StatName, number>;

/** Control words (index into shm.ctl: 48 words, three 64-byte cache lines). SEQ is read at every
 * schedule point of every task and written whenever tasks take turns, so it has the second line
 * (words 16-31) to itself: on the first line it made every task's between-operations reads of
 * STOP, EPOCH and STUTTER (and the truncation counters a fault reads) miss whenever another task
 * stepped, and the allocator's free-list heads of orders above 0 (written at every allocation and
 * free, under ALLOC_LOCK) are on the third line for the same reason. The zone lock ALLOC_LOCK, the
 * order-0 head FREE_HEAD, FREE_COUNT, ALLOC_GEN and the truncation counters are still on the first
 * line: moved to lines of their own, map-truncate's CPU per operation did not change measurably
 * (they are written ~100k times a second against ~700k between-operation reads). Words 4, 15 and
 * the rest of the second line are unused. */
export const CTL = {
  STOP: 0, // 1 = finish the current operation and exit
  EPOCH: 1, // quiescent epoch request counter (odd = park requested)
  PARKED: 2, // tasks parked for the current epoch
  STUTTER: 3, // 1 = pause between operations (free-mode stutter)
  SEQ: 16, // global schedule-point sequence (orders flight records across tasks; taken in blocks, Task.recordId): alone on its line; an Int32 that wraps (seqDiff)
  VIOLATIONS: 5, // violations reported (may exceed violationSlots)
  LABEL_LOCK: 6,
  ALLOC_LOCK: 7,
  FREE_HEAD: 8, // allocator free list head (pfn, -1 empty)
  FREE_COUNT: 9,
  ALLOC_GEN: 10, // generation counter for data stamps
  TRUNCATING: 11, // truncations in flight (MAP-EOF only holds when 0)
  TRUNC_SEQ: 12, // truncations started (a fault's SIGBUS check is valid only if this did not move)
  MAX_ORDER: 13, // the largest folio order the allocator hands out (src/mm/page_alloc.ts; 0 = pages only)
  FREE_HEADS: 32, // free list heads of orders 1..MAX_FOLIO_ORDER at FREE_HEADS + order (order 0: FREE_HEAD): the third line
  // appended: 1 = an actor unmaps and maps VMAs again (the 'unmapper' role, src/mm/mmap.ts): user
  // page-table walks then take their mm's mmap_lock and rmap walks the file's i_mmap lock; 0 = no
  // VMA ever goes away, and neither lock is taken (no step is added to the runs without it)
  MMAP_LOCKING: 14,
  WORDS: 48,
} as const;

// ---- step numbers (CTL.SEQ) ----
// A step number is an Int32 word: CTL.SEQ passes 2^31 after a few minutes of a multi-thread free
// run and wraps to -2^31. Two numbers taken less than 2^31 steps apart are ordered by their
// difference as an Int32, never by their values: every comparison goes through seqDiff(), and a
// decoded report carries them unwrapped (seqUnwrap()) so that plain comparisons of its numbers
// hold.

/** a - b for step numbers: > 0 when a was taken after b (the two less than 2^31 steps apart). */
export const seqDiff = (a: number, b: number): number => (a - b) | 0;

/** Step number `s` as a plain number near `ref` (a number of the same run, an unwrapped one or an
 * Int32 word): ref + seqDiff(s, ref). Numbers unwrapped against one reference compare and sort
 * as plain numbers. */
export const seqUnwrap = (s: number, ref: number): number => ref + seqDiff(s, ref);

export interface Region {
  name: string;
  offset: number; // in Int32 words
  length: number;
}

export interface Layout {
  sizes: ShmSizes;
  regions: Region[];
  words: number;
  bytes: number;
  flightStride: number; // words per task flight ring (incl. write index)
  violationStride: number; // words per violation slot
}

export function computeLayout(s: ShmSizes): Layout {
  const regions: Region[] = [];
  let off = 0;
  const add = (name: string, length: number) => {
    // keep every region on its own 64-byte line to limit false sharing between hot arrays
    off = Math.ceil(off / 16) * 16;
    regions.push({ name, offset: off, length });
    off += length;
  };
  const P = s.pages, B = s.buckets, T = s.tasks, F = s.files;
  const vmas = s.processes * s.vmasPerProcess;
  const ptes = vmas * s.ptesPerVma;
  const ptls = vmas * Math.ceil(s.ptesPerVma / s.ptesPerPtl);
  // a task's ring (its write index and entries, written at every schedule point) rounded up to
  // whole 64-byte lines: no task's ring shares a line with another's
  const flightStride = Math.ceil((1 + s.flightEntries * FLIGHT_WORDS) / 16) * 16;
  const violationStride = VIOLATION_HEADER_WORDS + T * flightStride;

  add('ctl', CTL.WORDS);
  // struct page
  for (const f of ['flags', 'refcount', 'mapcount', 'mapping', 'index', 'owner', 'stampFile', 'stampIndex', 'stampGen', 'freeNext'])
    add(f, P);
  // the page's data: bytes from this offset to the page end are zeros (src/mm truncate's partial page)
  add('stampEnd', P);
  // hashed page wait table
  add('bucketLock', B);
  add('bucketHead', B);
  add('bucketTail', B);
  // wait entries: one per task (it lives on the waiter's stack in the kernel)
  for (const f of ['wqFlags', 'wqPage', 'wqBit', 'wqNext', 'wqPrev', 'wqLinked', 'wqOvertaken']) add(f, T);
  // task slots
  for (const f of ['taskState', 'taskWaitPage', 'taskWaitBit', 'heartbeat', 'fatal', 'opNo', 'heldCount', 'role'])
    add(f, T);
  add('held', T * MAX_HELD);
  add('stats', T * STAT_STRIDE);
  add('waitHist', T * HIST_BUCKETS);
  add('flight', T * flightStride);
  add('violations', s.violationSlots * violationStride);
  add('labels', LABEL_SLOTS * LABEL_WORDS);
  // address_space
  for (const f of ['iSize', 'nrpages', 'iPagesLock']) add(f, F);
  add('slots', F * s.pagesPerFile);
  // mm: VMAs, PTEs, split PTLs
  for (const f of ['vmaFile', 'vmaPgoff', 'vmaLen', 'vmaFlags']) add(f, vmas);
  add('ptes', ptes);
  add('ptl', ptls);
  add('ptlOwner', ptls);
  // appended: i_rwsem per file (a futex mutex; truncators hold it across truncate_setsize)
  add('iRwsem', F);
  // appended: lockdep's lock-order graph (src/check/lockdep.ts), and per page the task that
  // started its writeback I/O (task id + 1: the wait-for graph's owner of a writeback wait)
  add('lockdep', LOCKDEP_WORDS);
  add('wbOwner', P);
  // appended: per page, the count of its writeback I/O starts and completions (WB-WAIT's witness)
  add('wbSeq', P);
  // appended: the owed wake-up accounting of the page lock (src/locks/waitqueue.ts, LOCK-WAKE):
  // per page the wake-ups owed (wakeOwed) and the unlocks begun (wakeUnlocks); per task the page
  // (+1) it sleeps on for PG_locked (wqSleep), the exclusive wakes it was given without the lock
  // and has not settled (wqToken: ready ones in the low 24 bits, pending ones above: a waker
  // counts one before its WQ_FLAG_WOKEN store and makes it ready after), the page (+1) of its
  // unlock whose walk is still owed
  // (unlockToken), and the operation (+1) in which it was last reported lost (wakeLostOp)
  add('wakeOwed', P);
  add('wakeUnlocks', P);
  for (const f of ['wqSleep', 'wqToken', 'unlockToken', 'wakeLostOp']) add(f, T);
  // appended: per task, the wakes without the lock it was given in this lock attempt that did not
  // get it the lock (LOCK-FAIR, src/locks/waitqueue.ts)
  add('wakeMissed', T);
  // appended: per page table (one per PTL group of a VMA) its PMD entry (src/mm/pgtable.ts: 0 a
  // table set up with the VMA, PMD_NONE none, else the table page's pfn + 1), and per mm its
  // mm->page_table_lock (pmd_install())
  add('pmd', ptls);
  add('pageTableLock', s.processes);
  // appended: folios (src/shm/page.ts). Per page its place in its folio: a head holds its order
  // (0 for a single page), a tail -(its offset from the head) (the kernel's compound_head /
  // folio_order). Per head the pages of the folio mapped by a PTE (folio->_nr_pages_mapped, 6.6).
  add('compound', P);
  add('nrPagesMapped', P);
  // per free block head with folios on (CTL.MAX_ORDER > 0): its previous block on its order's free
  // list (NIL: the first), or FREE_UNLISTED when it is on none (a buddy can then be unlinked to merge)
  add('freePrev', P);
  // appended: per page, the tasks whose wqSleep names it (src/locks/waitqueue.ts sleepMark()): an
  // upper bound at every instant (counted before wqSleep is set, uncounted after it is cleared), so
  // an unlock that reads 0 skips the scan of every task's wqSleep
  add('wqSleepers', P);
  // appended: per mm its mmap_lock and per file its i_mmap_rwsem (src/locks/spinlock.ts rwsem: reader
  // count, writer and waiting-writer bits), and per task the mmap_lock it holds (src/mm/mmap.ts:
  // mm + 1 for read, -(mm + 1) for write, 0 none)
  add('mmapLock', s.processes);
  add('iMmap', F);
  add('mmapHeld', T);
  // per task the i_mmap_rwsem it holds (src/mm/mmap.ts): file + 1 for read, -(file + 1) for write, 0
  // none: the wait-for graph's holders of an i_mmap_rwsem
  add('iMmapHeld', T);
  const words = Math.ceil(off / 16) * 16;
  return { sizes: s, regions, words, bytes: words * 4, flightStride, violationStride };
}
