// A task: the context every protocol generator receives, and the operation tables it runs. The
// task carries no behaviour of its own beyond bookkeeping the checks and the flight recorder need;
// drivers create it.
//
// The operation tables: every kernel function of the model that a variant may replace, grouped
// as the kernel groups them (mapping->a_ops, vma->vm_ops, the wait entry's wake function, ...).
//
// Kernel code never calls another replaceable kernel function directly: it calls through the
// running configuration's tables, `t.ops.<table>.<entry>(t, ...)`, so a variant that replaces one
// entry changes every path that reaches it. A variant is a partial table over mainline (see
// src/variants/index.ts, which composes them); its entries get the table they wrap and can call
// the mainline entry.
//
// Entries are plain functions of the task (no `this`): a table is data, and composing tables is
// copying entries.
import { CTL, FLIGHT_WORDS, MAX_HELD, STAT, STAT_STRIDE, type StatName } from '../shm/layout.ts';
import { LabelTable } from '../shm/labels.ts';
import type { Shm } from '../shm/shm.ts';
import { writeViolation } from '../shm/violations.ts';
import { invariantCode, type InvariantId } from './invariants.ts';
import type { Step } from './step.ts';
import type { FaultResult, VmFault } from './fault.ts';

// ---- what kernel code tells lockdep (src/check/lockdep.ts implements it): the lock classes, and
// the hooks a task calls when it takes, releases or is about to wait on a lock. A task without
// --lockdep has none (t.lockdep === null).

export const LD_PAGE = 0;
export const LD_PTL = 1;
export const LD_WB = 2;
/** the reader/writer semaphores (src/mm/mmap.ts): an mm's mmap_lock, a file's i_mmap_rwsem */
export const LD_MMAP = 3;
export const LD_I_MMAP = 4;

export interface LockdepHooks {
  /** About to block on (or wait for) lock `id` of class `cls`. */
  check(t: Task, cls: number, id: number): void;
  /** A page lock was taken (any way: fast path, slow path, hand-off, trylock). */
  pageAcquired(t: Task, pfn: number): void;
  /** A page was locked before anyone could see it (__SetPageLocked): no acquisition to record. */
  pageBornLocked(pfn: number): void;
  ptlAcquired(t: Task, ptl: number): void;
  ptlReleased(ptl: number): void;
  /** The task is about to start page `pfn`'s writeback I/O, which it will end itself. */
  writebackStarted(t: Task, pfn: number): void;
  writebackEnded(pfn: number): void;
  /** A reader/writer semaphore (LD_MMAP, LD_I_MMAP) was taken, for reading or writing; released. */
  rwsemAcquired(t: Task, cls: number, id: number): void;
  rwsemReleased(cls: number, id: number): void;
}

/** The largest block of step numbers a task reserves at once (recordId()). */
const SEQ_BLOCK = 16;

export interface TaskOptions {
  id: number;
  shm: Shm;
  /** the configuration's operation tables (src/variants composes them) */
  ops: KernelOps;
  /** protocol options: unfairness, variant choices (read by protocol code, never by drivers) */
  options?: Record<string, unknown>;
  labels?: LabelTable;
}

export class Task {
  // The fields the constructor sets are `declare`d: a plain declaration compiles (ES2022 class
  // fields) to a property defined as undefined before the constructor runs, and V8 then tracks
  // such a field as "any value" rather than as a small integer or an Int32Array of one shape, so
  // every use of it at a schedule point or a lock (t.ops, t.id, the ring's index, shm.held ...)
  // pays a check and an untagging. Declared, each is created by its first assignment below. The
  // direct v5.9 pair: ~3-5 ns faster (stress/bench direct, 'flight record' row).
  declare readonly id: number;
  declare readonly shm: Shm;
  declare readonly ops: KernelOps;
  declare readonly options: Record<string, unknown>;
  declare readonly labels: LabelTable;
  /** What the next schedule point is about (flight records, diagrams). Protocol code sets them. */
  page = -1;
  aux = 0;
  op = 0;
  /** lock-order tracking (src/check/lockdep.ts), when the run has --lockdep; null otherwise */
  lockdep: LockdepHooks | null = null;
  /** the folio order this task's next readahead asks for (file->f_ra; the scenario's op stream
   * sets it, src/mm/filemap.ts raFolioOrder()); 0 = single pages */
  raOrder = 0;
  /** The whole shared buffer as one Int32Array, and where in it this task's flight ring (its write
   * count, then its entries) and CTL.SEQ are: every schedule point writes the one and reads the
   * other. One view rather than shm.flight and shm.ctl: each typed array a point touches costs
   * loads of its data pointer and length and a bounds check against them, and one view serves
   * both (the direct v5.9 pair ~1 ns faster, within the noise of 4 alternated rounds). Readers
   * keep using shm.flight: the words and their meaning are the same. */
  declare private readonly words: Int32Array;
  declare private readonly flightAt: number;
  declare private readonly seqAt: number;
  declare private readonly flightMask: number;
  declare private readonly statBase: number;
  /** shm.stats, cached */
  declare private readonly stats: Int32Array;
  /** this task's first word in shm.held (its MAX_HELD slots) */
  declare private readonly heldBase: number;
  /** shm.held and shm.heldCount, cached (every lock and unlock) */
  declare private readonly held: Int32Array;
  declare private readonly heldCount: Int32Array;
  /** The shared arrays every uncontended lock_page + unlock_page reads or writes (src/locks/common.ts
   * acquired() and releasePageLock(), waitqueue.ts unlockSettle(), wakeTokenSettle(),
   * unlockNoWaiters()): the same arrays as shm's, the same words. Shm's are class fields that the
   * constructor fills in a loop, so V8 types them as any value and checks each array's map before
   * every use of it; declared and set once here, each is known to be an Int32Array. Protocol code
   * outside the lock's fast paths keeps using shm's (the direct v5.9 pair: ~3 ns less of ~59; bench
   * direct, 'the free driver' row). */
  declare readonly flags: Int32Array;
  declare readonly owner: Int32Array;
  declare readonly unlockToken: Int32Array;
  declare readonly wqToken: Int32Array;
  declare readonly wqSleepers: Int32Array;
  declare readonly wakeOwed: Int32Array;

  constructor(o: TaskOptions) {
    this.id = o.id;
    this.shm = o.shm;
    this.ops = o.ops;
    this.options = o.options ?? {};
    this.labels = o.labels ?? new LabelTable(o.shm);
    this.words = new Int32Array(o.shm.sab);
    this.flightAt = o.shm.flight.byteOffset / 4 + o.id * o.shm.layout.flightStride;
    this.seqAt = o.shm.ctl.byteOffset / 4 + CTL.SEQ;
    const n = o.shm.sizes.flightEntries;
    this.flightMask = n > 0 && (n & (n - 1)) === 0 ? n - 1 : -1;
    this.statBase = o.id * STAT_STRIDE;
    this.stats = o.shm.stats;
    this.heldBase = o.id * MAX_HELD;
    this.held = o.shm.held;
    this.heldCount = o.shm.heldCount;
    this.flags = o.shm.flags;
    this.owner = o.shm.owner;
    this.unlockToken = o.shm.unlockToken;
    this.wqToken = o.shm.wqToken;
    this.wqSleepers = o.shm.wqSleepers;
    this.wakeOwed = o.shm.wakeOwed;
  }

  /** Record a schedule point in this task's flight ring (called by the drivers). */
  record(label: string): void {
    this.recordId(this.labels.id(label));
  }

  /** Record a schedule point by its label id (the direct form's drivers cache the id per call
   * site, src/kernel/direct.ts). */
  recordId(labelId: number): void {
    // kept small (a schedule point is inlined into every protocol function the free driver runs,
    // within V8's inlining budget): the rare cases (a ring that is not a power of two, a new block
    // of step numbers) are calls
    const f = this.words, b = this.flightAt, w = f[b];
    // FLIGHT_WORDS as a literal (`satisfies` checks it): an imported constant is a live binding
    // that V8 loads and checks for initialisation at every use (~2 ns a point here)
    const e = this.flightMask >= 0 ? b + 1 + (w & this.flightMask) * (5 satisfies typeof FLIGHT_WORDS) : this.entryOf(w);
    // the step number (see below): the next of this task's block while nobody took one since
    let s = this.seqNext;
    if (w === this.seqW && s !== this.seqEnd && f[this.seqAt] === this.seqEnd) this.seqNext = (s + 1) | 0;
    else s = this.takeSeq(w);
    f[e] = s;
    f[e + 1] = labelId;
    f[e + 2] = this.page;
    f[e + 3] = this.aux;
    f[e + 4] = this.op;
    f[b] = this.seqW = w + 1;
  }

  /** Where write number w of a ring that is not a power of two goes. */
  private entryOf(w: number): number {
    return this.flightAt + 1 + (w % this.shm.sizes.flightEntries) * FLIGHT_WORDS;
  }

  // ---- global step numbers (CTL.SEQ) ----
  // Every schedule point's record carries a number unique across tasks, in the order the points
  // happened: reports merge the tasks' rings by it. Taking each number with an Atomics.add cost a
  // builtin call and a locked RMW on a line every task writes (~9 ns of a ~17 ns point alone, more
  // with several threads). So a task reserves a block of numbers with one add and uses them while
  // nobody else has taken one since: CTL.SEQ still equals the block's end, read with a plain load
  // (an Atomics.load is a builtin call too). Another task's later add returns the block's end or
  // more, so every number used after such a check is below every number taken after it: unique,
  // and in order. When another task did take one, the rest of the block is dropped (a gap in the
  // numbering) and the next block is one number; a block used up without a break makes the next
  // one twice as large, up to SEQ_BLOCK. So tasks that step by turns take one number per step as
  // before, and a gap is never longer than the run of steps before it.
  private seqNext = 0;
  private seqEnd = 0;
  private seqK = 1;
  /** the ring's write count after this task's last record: a model reset (controlled mode's next
   * iteration) zeroes the ring and CTL.SEQ, and with them the block */
  private seqW = -1;

  /** A step number when the block is used up or broken: a new block with one Atomics.add. The
   * numbers are Int32 words and wrap (CTL.SEQ passes 2^31 after minutes of a multi-thread free
   * run): block ends and the test above compare as Int32 (`| 0`), and readers order them with
   * seqDiff() (src/shm/layout.ts). */
  private takeSeq(w: number): number {
    const mine = w === this.seqW && this.words[this.seqAt] === this.seqEnd; // nobody took a number since
    const k = mine ? Math.min(this.seqK * 2, SEQ_BLOCK) : 1;
    const g = Atomics.add(this.words, this.seqAt, k);
    this.seqK = k;
    this.seqNext = (g + 1) | 0;
    this.seqEnd = (g + k) | 0;
    return g;
  }

  /**
   * The task is about to set PG_writeback on `pfn` (test_set_page_writeback, right after its
   * 'set_page_writeback' step) and will end that I/O itself: the page's writeback owner, so the
   * wait-for graph can follow a writeback wait to it (end_page_writeback clears it).
   */
  writebackStarted(pfn: number): void {
    if (pfn < 0 || pfn >= this.shm.sizes.pages) return;
    Atomics.store(this.shm.wbOwner, pfn, this.id + 1);
    if (this.lockdep !== null) this.lockdep.writebackStarted(this, pfn);
  }

  violation(id: InvariantId, page: number, ...values: number[]): void {
    writeViolation(this.shm, invariantCode(id), this.id, this.op, page, values);
  }

  stat(name: StatName, n = 1): void {
    this.stats[this.statBase + STAT[name]] += n; // one writer per task: no atomic needed
  }

  /** This task's own count `name` so far (its only writer is this task). */
  statValue(name: StatName): number {
    return this.shm.stats[this.statBase + STAT[name]];
  }

  // ---- page locks held (LOCK-LEAK, lockdep, wait-for graph) ----
  // Written only by this task, and by every lock and unlock: plain stores (an Atomics.store is a
  // locked exchange on x86, a quarter of an uncontended lock + unlock's atomics). Other threads
  // read the list only to explain a wait (the wait-for graph, over several looks) or quiescent.
  heldAdd(pfn: number): void {
    const hc = this.heldCount, id = this.id;
    const n = hc[id];
    if (n < (16 satisfies typeof MAX_HELD)) this.held[this.heldBase + n] = pfn; // a literal: see recordId()
    else this.heldOverflow(pfn);
    hc[id] = n + 1;
  }
  /** Take pfn off the list if it is on it (one scan, newest first: locks are mostly released in
   * the reverse order they were taken, so the usual case is the last entry); true if it was. */
  heldDrop(pfn: number): boolean {
    const hc = this.heldCount, id = this.id, count = hc[id];
    // the usual case, the newest entry, inline (count <= MAX_HELD: never past the task's own
    // slots, whatever the shared count says); the scan is a call, so that every unlock_page stays
    // within V8's inlining budget
    if (count > 0 && count <= (16 satisfies typeof MAX_HELD) && this.held[this.heldBase + count - 1] === pfn) {
      hc[id] = count - 1;
      return true;
    }
    return this.heldScan(pfn, count);
  }
  /** heldDrop() past the newest entry: the scan, newest first. */
  private heldScan(pfn: number, count: number): boolean {
    const hc = this.heldCount, held = this.held, base = this.heldBase, id = this.id;
    const n = count < (16 satisfies typeof MAX_HELD) ? count : 16;
    for (let i = n - 1; i >= 0; i--) {
      if (held[base + i] !== pfn) continue;
      for (let j = i; j < n - 1; j++) held[base + j] = held[base + j + 1];
      hc[id] = count - 1;
      return true;
    }
    return false;
  }
  /** Take pfn off the list; the count drops by one whether or not pfn was on it (__ClearPageLocked:
   * the page is ours). */
  heldRemove(pfn: number): void {
    if (this.heldDrop(pfn)) return;
    const n = this.shm.heldCount[this.id];
    this.shm.heldCount[this.id] = n > 0 ? n - 1 : 0;
  }
  heldPages(): number[] {
    const n = Math.min(this.shm.heldCount[this.id], MAX_HELD);
    return Array.from(this.shm.held.subarray(this.id * MAX_HELD, this.id * MAX_HELD + n));
  }
  /** A page lock beyond MAX_HELD: a limit of the model, not of the protocol. Unlisted, its unlock
   * (heldDrop) would not find it and the count would stay up: a false LOCK-LEAK naming a page the
   * list kept from before a shift, and lockdep and the wait-for graph would read a stale entry as
   * held. So the model never goes there: the scenarios refuse a configuration that needs more (collapse
   * --collapse-pages, fuse-write --max-pages), and a path that would take one anyway stops the run
   * here (CRASH, once), saying so. */
  private heldOverflow(pfn: number): never {
    throw new Error(`model limit: task ${this.id} takes page lock ${pfn} while holding ${MAX_HELD} already, more than the held list `
      + `(MAX_HELD, src/shm/layout.ts) that LOCK-LEAK, lockdep and the wait-for graph read can list; the scenario must refuse this configuration`);
  }
}

// ---- the operation tables ---------------------------------------------------------------------

export const EINTR = -4;

/** A wake-up key (struct wait_page_key): which page and bit a wake is for, and whether any
 * queued entry was for this page (page_match: folio_wake_bit() clears PG_waiters without one). */
export interface WakeKey {
  pfn: number;
  bitNr: number;
  pageMatch: boolean;
}

/**
 * lock_page and its wait queue (mm/filemap.c, kernel/sched/wait.c): the public entries, then the
 * algorithm's steps as the kernel splits them. `name` says which algorithm the table runs.
 *
 * Every step reaches the others through the running table (`t.ops.lock.<step>(t, ...)`), never
 * directly, so a table that replaces one step (a variant, a plug-in, a self-test mutant) changes
 * every path that reaches it: replace wakePageFunction and unlock_page(), end_page_writeback()
 * and every waker use yours. The three algorithms (src/locks) share the common entries and differ
 * in a few steps; their per-step schedule points are named after the kernel's steps.
 */
export interface PageLockOps {
  readonly name: string;

  // ---- the public entries ----

  /** trylock_page: one test_and_set_bit_lock(PG_locked). */
  trylockPage(t: Task, pfn: number): Step<boolean>;
  /** lock_page: fast path, else the algorithm's exclusive wait (__folio_lock). */
  lockPage(t: Task, pfn: number): Step<void>;
  /** lock_page_killable: 0 when the lock is taken, EINTR only when the task does not own it
   * (the result is computed after the wait entry has left the queue). */
  lockPageKillable(t: Task, pfn: number): Step<number>;
  /** unlock_page: one RMW clears PG_locked and reports PG_waiters; wake only then. */
  unlockPage(t: Task, pfn: number): Step<void>;
  /** wait_on_page_locked: a shared (non-exclusive) wait for PG_locked to clear. */
  waitOnPageLocked(t: Task, pfn: number): Step<void>;
  /** wait_on_page_writeback: loops while PG_writeback is set (c2407cf7d22d). */
  waitOnPageWriteback(t: Task, pfn: number): Step<void>;
  /** end_page_writeback's wake: clear PG_writeback, then wake PG_writeback waiters if PG_waiters. */
  endPageWriteback(t: Task, pfn: number): Step<void>;

  // ---- the fast paths ----

  /** folio_trylock(): test_and_set_bit_lock(PG_locked), one RMW ('trylock_page'); on success the
   * acquisition is recorded (src/locks/common.ts acquired(): LOCK-EXCL, held list, stats). The
   * fast path of trylockPage, lockPage and lockPageKillable. */
  trylockFast(t: Task, pfn: number): Step<boolean>;
  /** folio_unlock()'s releasing RMW (clear_bit_unlock_is_negative_byte, now
   * folio_xor_flags_has_waiters): the owner bookkeeping and the LOCK-UNLOCK check, then ONE
   * Atomics.and clears PG_locked; returns the old flags (PG_waiters says whether to wake). No
   * schedule point of its own: unlockPage yields 'clear_bit_unlock_is_negative_byte' before it. */
  releasePageLock(t: Task, pfn: number): number;

  // ---- the slow path: folio_wait_bit_common() and its pieces ----

  /** __folio_lock() / __folio_lock_killable(): the exclusive wait on PG_locked, timed for the
   * wait histogram; 0, or EINTR (then the pending fatal signal is delivered). */
  __lockPage(t: Task, pfn: number, killable: boolean): Step<number>;
  /** folio_wait_bit_common() (wait_on_page_bit_common() before the folios): an exclusive wait
   * takes the lock (and records the acquisition) or returns EINTR (killable only); a shared wait
   * returns when the bit was seen clear or a wake came. Returns 0 or EINTR. The algorithm's own. */
  waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number>;
  /** The wait-entry set-up: init_wait(), wait_page->folio / bit_nr, and wait->flags (EXCLUSIVE
   * for an exclusive wait, the model's TASK_KILLABLE bit for a killable one; 5ef64cc8987a also
   * sets CUSTOM, a hand-off request, once `unfairness`, the steals still allowed after this
   * pass's `--unfairness`, is below 0; the other algorithms ignore it). Only while the entry is
   * on no list. Returns the flags it set. */
  initWaitPage(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean, unfairness: number): number;
  /** SetPageWaiters / folio_set_waiters(): PG_waiters, under the bucket lock. */
  setPageWaiters(t: Task, pfn: number): Step<void>;
  /** The trylock under the queue lock, after set-waiters (trylock_page_bit_common() in
   * 2a9127fcf229, folio_trylock_flag() since 5ef64cc8987a): exclusive: test_and_set_bit; shared:
   * test_bit. If the bit was clear the wait is over before it queued: the entry is marked WOKEN
   * (and DONE since 5ef64cc8987a) and an exclusive acquisition is recorded. */
  trylockPageBit(t: Task, pfn: number, bitNr: number, exclusive: boolean): Step<boolean>;
  /** __add_wait_queue_entry_tail(q, wait): the task's entry at the tail of bucket `b` (under its
   * lock). */
  __addWaitQueueEntryTail(t: Task, b: number): Step<void>;
  /** finish_wait(q, wait): off the queue if still on it (list_empty_careful() without the lock,
   * list_del_init() under it). After it no waker touches the entry. */
  finishWait(t: Task, b: number): Step<void>;
  /** folio_wait_bit_common()'s return value, computed from the entry's flags once finish_wait()
   * made them stable ("we could have exited the loop above due to a signal, and had a wakeup
   * event happen after the signal test but before the 'finish_wait()'"): shared: WOKEN ? 0 :
   * -EINTR; exclusive: DONE ? 0 : -EINTR (mainline). 0 for an exclusive wait means the task owns
   * the lock. docs/findings/killable-lost-wakeup.md is about this step. */
  waitResult(t: Task, pfn: number, bitNr: number, exclusive: boolean, flags: number): Step<number>;

  // ---- the wake side ----

  /** folio_wake_bit() / wake_up_page_bit(): under the bucket lock, __wake_up_common() with
   * nr_exclusive = 1 calling each entry's wakePageFunction; then PG_waiters is cleared when the
   * queue is empty or held nobody for this page. */
  wakeUpPageBit(t: Task, pfn: number, bitNr: number): Step<void>;
  /** wake_page_function(): the wait entry's wake function, for entry `e` of bucket `b` (bucket
   * lock held). 0 = not woken (or not for this key), 1 = woken, -1 = stop the walk. The
   * algorithm's own. */
  wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number>;
}

/** What lock algorithms take from the configuration. */
export interface LockOptions {
  /** 5ef64cc8987a sysctl_page_lock_unfairness (v5.9-rc6 only); default 5 */
  unfairness?: number;
  /** WAITQUEUE_WALK_BREAK_CNT of the versions whose wake walk has bookmarks (2554db916586,
   * 11a19c7b099f: 4.14 to 5.17); default 64. Tests lower it to reach the bookmark with few tasks. */
  walkBreak?: number;
}

/** A page next_uptodate_page() found worth mapping: referenced, and locked unless `locked` is
 * false (only a variant that skips the page lock, like patch 4, returns it unlocked). */
export interface NextPage {
  pfn: number;
  index: number;
  locked: boolean;
}

/** The page cache (mm/filemap.c): lookup, add, delete. */
export interface PageCacheOps {
  /** find_get_page(): the lockless lookup (xas_load, folio_try_get, xas_reload); NIL if none. */
  findGetPage(t: Task, file: number, index: number): Step<number>;
  /** filemap_add_folio(): insert a new locked page at `index`; false if the slot is taken. */
  filemapAddFolio(t: Task, pfn: number, file: number, index: number): Step<boolean>;
  /** __filemap_remove_folio() -> page_cache_delete(): clear the slot and page->mapping (under the
   * i_pages lock, page locked and unmapped: DEL-LOCKED). */
  pageCacheDelete(t: Task, pfn: number, file: number): void;
  /** filemap_remove_folio(): take the i_pages lock and delete. */
  filemapRemoveFolio(t: Task, pfn: number, file: number): Step;
  /** delete_from_page_cache(): remove and drop the page cache's reference. */
  deleteFromPageCache(t: Task, pfn: number, file: number): Step;
  /** ->readpage (a_ops): fill a locked new page and mark it uptodate. */
  readPage(t: Task, pfn: number, file: number, index: number): Step;
  /** lock_folio_maybe_drop_mmap() (filemap_fault()'s page lock, 6.6): trylock; else, unless
   * RETRY_NOWAIT, maybe drop the mmap lock (fpin) and wait, killable with FAULT_FLAG_KILLABLE.
   * `locked` false: go to out_retry (no lock held). */
  lockFolioMaybeDropMmap(t: Task, vmf: VmFault, pfn: number, fpin: boolean): Step<{ locked: boolean; fpin: boolean }>;
}

/** A file mapping's vma->vm_ops (generic_file_vm_ops: filemap_fault, filemap_map_pages,
 * filemap_page_mkwrite), with the map_pages page finder. */
export interface VmOps {
  /** ->fault: filemap_fault(). */
  fault(t: Task, vmf: VmFault): Step<FaultResult>;
  /** ->map_pages over file indices [start, end), inside one page table. Returns VM_FAULT_NOPAGE if
   * vmf.index got mapped. */
  mapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number>;
  /** next_uptodate_page(): the first page in [from, end) that passes map_pages' checks, or null. */
  nextUptodatePage(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null>;
  /** ->page_mkwrite: filemap_page_mkwrite(); returns VM_FAULT_LOCKED with the page locked. */
  pageMkwrite(t: Task, vmf: VmFault, pfn: number): Step<number>;
  /** filemap_map_folio_range() (6.6): map `nr` pages of a locked, referenced large folio from file
   * index `from`, PTL held; one reference per PTE. Returns VM_FAULT_NOPAGE if vmf.index got mapped. */
  filemapMapFolioRange(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step<number>;
  /** set_pte_range() (6.6): the rmap of `nr` pages of `folio` from file index `from`, then their PTEs. */
  setPteRange(t: Task, vmf: VmFault, folio: number, from: number, nr: number): Step;
}

/** The fault paths of mm/memory.c. */
export interface FaultOps {
  /** handle_mm_fault() for one access; NO_FAULT when the PTE was present and usable. `flags`:
   * FAULT_FLAG_* (default: the user fault flags the task's options give, userFaultFlags()). */
  handleMmFault(t: Task, vma: number, index: number, write: boolean, flags?: number): Step<number>;
  /** do_fault_around(): ->map_pages over the fault-around window. */
  doFaultAround(t: Task, vmf: VmFault): Step<number>;
  /** __do_fault(): ->fault, and the page comes back locked. */
  __doFault(t: Task, vmf: VmFault): Step<FaultResult>;
  /** do_read_fault() */
  doReadFault(t: Task, vmf: VmFault): Step<number>;
  /** do_cow_fault(): a write fault on a private mapping. */
  doCowFault(t: Task, vmf: VmFault): Step<number>;
  /** do_shared_fault(): a write fault on a shared mapping. */
  doSharedFault(t: Task, vmf: VmFault): Step<number>;
  /** finish_fault(): take the PTL, re-check pte_none, do_set_pte(); VM_FAULT_NOPAGE if somebody
   * else mapped it first. */
  finishFault(t: Task, vmf: VmFault, pfn: number, anon?: boolean, write?: boolean): Step<number>;
  /** do_set_pte(): add the rmap and set the PTE (PTL held, PTE none). */
  doSetPte(t: Task, vmf: VmFault, pfn: number, anon: boolean, write: boolean): Step;
  /** do_page_mkwrite(): ->page_mkwrite, and the page comes back locked. */
  doPageMkwrite(t: Task, vmf: VmFault, pfn: number): Step<number>;
  /** fault_dirty_shared_page(): dirty the page, unlock it, balance dirty pages. */
  faultDirtySharedPage(t: Task, pfn: number): Step<number>;
  /** do_wp_page() -> wp_page_shared(): a write to a read-only PTE of a shared mapping. */
  doWpPageShared(t: Task, vmf: VmFault): Step<number>;
  /** do_wp_page(): a write to a present read-only PTE: wp_page_shared() or wp_page_copy(). */
  doWpPage(t: Task, vmf: VmFault): Step<number>;
  /** wp_page_copy(): copy the page `orig` maps (referenced by the caller, not locked) into a new
   * anonymous page, and install it only if the PTE is still `orig` (re-checked under the PTL). */
  wpPageCopy(t: Task, vmf: VmFault, orig: number): Step<number>;
  /** The arch fault handler (do_user_addr_fault()): handle_mm_fault(), and again with
   * FAULT_FLAG_TRIED while it returns VM_FAULT_RETRY and no fatal signal is pending. */
  doUserAddrFault(t: Task, vma: number, index: number, write: boolean): Step<number>;
  /** do_swap_page() for a migration entry `orig` (the model's only non-present PTE): wait for the
   * migration (migrate.migrationEntryWait) and return 0: the access is executed again. */
  doSwapPage(t: Task, vmf: VmFault, orig: number): Step<number>;
  /** pte_alloc(): if the PMD of `index`'s page table is none, allocate a table (the page allocator,
   * maybe direct reclaim) and pmd_install() it; false is -ENOMEM. */
  pteAlloc(t: Task, vma: number, index: number): Step<boolean>;
  /** pmd_install(): under the mm's page-table lock, install table page `pfn` if the PMD is still
   * none; false if another task's table got there first (the caller frees its own). */
  pmdInstall(t: Task, vma: number, index: number, pfn: number): Step<boolean>;
  /** do_set_pmd() (6.6): map the locked, referenced PMD-sized folio `pfn` heads by the PMD of
   * vmf.index, under the PMD lock if the PMD is still none; the caller's reference goes to the PMD.
   * 0, or VM_FAULT_FALLBACK (map it by PTEs). */
  doSetPmd(t: Task, vmf: VmFault, pfn: number): Step<number>;
}

export interface ZapDetails {
  /** also zap private COW copies (anonymous pages) */
  evenCows: boolean;
  /** only PTEs mapping this page (unmap_mapping_folio), or NIL */
  single: number;
}

/** Zap and rmap (mm/memory.c's zap, mm/rmap.c). */
export interface RmapOps {
  /** zap_pte_range() over file indices [start, end) of `vma`; returns the PTEs zapped. */
  zapPteRange(t: Task, vma: number, start: number, end: number, details: ZapDetails): Step<number>;
  /** unmap_mapping_range(): zap [start, end) of `file` in every VMA. */
  unmapMappingRange(t: Task, file: number, start: number, end: number, evenCows: boolean): Step;
  /** unmap_mapping_folio(): unmap one locked page from every VMA of its file. */
  unmapMappingFolio(t: Task, pfn: number): Step;
  /** One PTE of zap_pte_range(): clear it, page_remove_rmap(), drop the PTE's reference. */
  zapPte(t: Task, vma: number, index: number, pte: number): Step;
  /** page_add_file_rmap() / page_add_new_anon_rmap(): mapcount + 1; `compound`: a PMD maps the
   * PMD-sized folio `pfn` heads (its _entire_mapcount + 1). */
  pageAddRmap(t: Task, pfn: number, compound?: boolean): Step;
  /** page_remove_rmap(): mapcount - 1 (`compound`: the folio's _entire_mapcount - 1). */
  pageRemoveRmap(t: Task, pfn: number, compound?: boolean): Step;
  /** try_to_unmap(): unmap a locked page from every PTE; true if it is no longer mapped. */
  tryToUnmap(t: Task, pfn: number): Step<boolean>;
  /** zap_huge_pmd() (--pmd on): clear the huge PMD at `index` of `vma` under the PMD lock, drop its
   * folio's entire mapping before the unlock, then the reference; false if it was no longer huge. */
  zapHugePmd(t: Task, vma: number, index: number): Step<boolean>;
  /** mmap(MAP_FIXED) of a VMA's range over itself (mm/mmap.c mmap_region(): do_vmi_munmap() with the
   * mmap_lock held for writing: the zap and free_pgtables(), then the mapping again). */
  mmapRegion(t: Task, vma: number): Step;
  /** free_pgtables() of a whole VMA: under i_mmap_lock_write(), pmd_clear() and pte_free() of each PTE table. */
  freePgtables(t: Task, vma: number): Step;
}

/** mm/truncate.c */
export interface TruncateOps {
  /** truncate_setsize() as do_truncate() runs it: under i_rwsem, i_size first, then
   * truncate_pagecache(). */
  truncateSetsize(t: Task, file: number, newsize: number): Step;
  /** truncate_pagecache(): unmap, truncate, unmap again. */
  truncatePagecache(t: Task, file: number, newsize: number): Step;
  /** truncate_inode_pages_range(mapping, lstart, end of file): both passes. */
  truncateInodePagesRange(t: Task, file: number, lstart: number): Step;
  /** truncate_inode_folio() on a locked page: re-check page->mapping (else -EIO: already gone),
   * truncate_cleanup_folio(), filemap_remove_folio(), drop the cache's reference. */
  truncateInodeFolio(t: Task, pfn: number, file: number, index: number): Step;
  /** truncate_cleanup_folio(): unmap the page if a PTE still maps it. */
  truncateCleanupFolio(t: Task, pfn: number): Step;
  /** truncate_inode_partial_folio() for an order-0 page locked by the caller: wait for
   * writeback, zero the part of the page at or beyond byte `lstart` (folio_zero_range()). */
  truncateInodePartialFolio(t: Task, pfn: number, lstart: number): Step<boolean | void>;
  /** split_folio() (6.6 split_huge_page_to_list()): split a locked page-cache folio the caller
   * holds into order-0 pages (unmap, refcount freeze, pages beyond EOF dropped); 0 or -EAGAIN. */
  splitFolio(t: Task, pfn: number): Step<number>;
  /** split_huge_page_to_list()'s folio_ref_freeze(folio, 1 + extra_pins) under the i_pages lock. */
  splitFreeze(t: Task, pfn: number, count: number): Step<boolean>;
}

/** Reclaim (mm/vmscan.c). */
export interface ReclaimOps {
  /** shrink_folio_list() for the page at `index` of `file`; true if it was freed. */
  shrinkPage(t: Task, file: number, index: number): Step<boolean>;
  /** __remove_mapping(): freeze the refcount, re-check, delete from the page cache. */
  removeMapping(t: Task, pfn: number, file: number): Step<boolean>;
  /** try_to_free_pages(): direct reclaim by an allocation that found no free page (whatever locks
   * its caller holds): shrink a batch of page-cache pages; returns the pages freed. */
  tryToFreePages(t: Task): Step<number>;
}

export type WritebackResult = 'written' | 'clean' | 'gone';

/** Writeback and dirtying (mm/page-writeback.c, the writepage path). Ending writeback and waiting
 * for it are the lock table's (end_page_writeback wakes through the page wait queue). */
export interface WritebackOps {
  /** set_page_dirty(); true if the page was clean. */
  setPageDirty(t: Task, pfn: number): boolean;
  /** page_mkclean(): write-protect every PTE of the page; returns how many were cleaned. */
  pageMkclean(t: Task, pfn: number): Step<number>;
  /** page_vma_mkclean_one()'s PMD branch: write-protect and clean the huge PMD of `vma` over `index`
   * if it maps the folio of `pfn`; returns 1 if it was writable or dirty. */
  pageVmaMkcleanPmd(t: Task, vma: number, index: number, pfn: number): Step<number>;
  /** clear_page_dirty_for_io(): page_mkclean() and clear PG_dirty; true if it was dirty. */
  clearPageDirtyForIo(t: Task, pfn: number): Step<boolean>;
  /** write_cache_pages() for one page: lock, wait, clean for I/O, set PG_writeback, unlock, end. */
  writebackPage(t: Task, file: number, index: number, ioSteps?: number): Step<WritebackResult>;
  /** write_cache_pages() over [start, end): the dirty pages locked, cleaned and put under writeback
   * in index order with the earlier pages' I/O still in flight, then the I/O completed. */
  writeCachePages(t: Task, file: number, start: number, end: number): Step<number>;
  /** __filemap_fdatawait_range(): wait, without the page lock, for the writeback of every page of
   * [start, end) that is under writeback (folio_wait_writeback() on each). */
  filemapFdatawaitRange(t: Task, file: number, start: number, end: number): Step;
  /** file_write_and_wait_range() as fsync runs it: __filemap_fdatawrite_range() (WB_SYNC_ALL),
   * then __filemap_fdatawait_range(). */
  filemapWriteAndWaitRange(t: Task, file: number, start: number, end: number): Step;
  /** get_user_pages() of one page (__get_user_pages -> follow_page_pte, faulting it in through
   * handle_mm_fault() when the PTE is missing or read-only for a write): the page, referenced, or
   * NIL. A FOLL_WRITE pin dirties the page (FOLL_TOUCH). `nowait`: FOLL_NOWAIT, the fault runs with
   * FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT and VM_FAULT_RETRY is -EBUSY (NIL). */
  getUserPage(t: Task, vma: number, index: number, write: boolean, nowait?: boolean): Step<number>;
  /** The pin's owner is done writing into the page: set_page_dirty() with only its reference held
   * (no page lock: the caller __remove_mapping()'s comment describes), then put_page(). */
  putUserPageDirty(t: Task, pfn: number): Step;
}

export type ScanResult = 'SCAN_SUCCEED' | 'SCAN_FAIL' | 'SCAN_PAGE_LOCK' | 'SCAN_TRUNCATED' | 'SCAN_PAGE_COUNT'
  | 'SCAN_ALLOC_HUGE_PAGE_FAIL' | 'SCAN_PTE_MAPPED_HUGEPAGE' | 'SCAN_PAGE_COMPOUND' | 'SCAN_EXCEED_NONE_PTE';

/** khugepaged's collapse_file() (mm/khugepaged.c). */
export interface CollapseOps {
  collapseFile(t: Task, file: number, start: number, nr: number): Step<ScanResult>;
  /** 6.6 collapse_file() with large folios: the PMD-sized, PMD-aligned range at `start` becomes one
   * new folio of the PMD order (src/mm/khugepaged.ts collapseFileFolio). */
  collapseFileFolio(t: Task, file: number, start: number): Step<ScanResult>;
  /** The end of a successful 6.6 collapse_file() (old pages locked and checked, data copied): the
   * multi-index store of `hpage`, retract_page_tables(), folio_unlock(hpage), the old pages freed. */
  collapseFinish(t: Task, file: number, start: number, hpage: number, pagelist: readonly number[]): Step;
  /** 6.6 retract_page_tables(mapping, pgoff): free the PTE tables of the VMAs mapping the new
   * folio's PMD range (the PMD is none again). */
  retractPageTables(t: Task, file: number, start: number): Step;
}

/** One user buffer segment: `count` bytes at byte offset `off` of VMA `vma`. Advanced in place. */
export interface IovIter {
  vma: number;
  off: number;
  count: number;
}

/** What fuse_fill_write_pages() gathered for one WRITE request. */
export interface WritePages {
  /** bytes copied (> 0), or a negative errno */
  count: number;
  /** the destination pages, referenced; locked as the path leaves them */
  pages: number[];
  /** 4f06dd92b5d0's ia->write.page_locked: the last page is still locked */
  pageLocked: boolean;
}

/** The fuse write path before and after 4f06dd92b5d0 (v5.13): 'pre-fix' or 'fixed'. */
export type FuseWritePath = 'pre-fix' | 'fixed';

/** The fuse write path (fs/fuse/file.c) and the iov_iter helpers it uses. */
export interface FuseOps {
  fusePerformWrite(t: Task, path: FuseWritePath, file: number, pos: number, ii: IovIter, maxPages: number): Step<number>;
  fuseFillWritePages(t: Task, path: FuseWritePath, file: number, ii: IovIter, pos: number, maxPages: number): Step<WritePages>;
  fuseSendWritePages(t: Task, path: FuseWritePath, wp: WritePages, pos: number): Step;
  grabCachePageWriteBegin(t: Task, file: number, index: number): Step<number>;
  iovIterFaultInReadable(t: Task, ii: IovIter, bytes: number): Step<boolean>;
  iovIterCopyFromUserAtomic(t: Task, pfn: number, file: number, index: number, ii: IovIter, bytes: number): Step<number>;
}

/** How migrate_pages() may wait (enum migrate_mode): MIGRATE_ASYNC trylocks and skips a page under
 * writeback, MIGRATE_SYNC locks and waits. */
export type MigrateMode = 'async' | 'sync';

/** Page migration of a page-cache page (mm/migrate.c, mm/rmap.c, mm/filemap.c, v6.6). */
export interface MigrateOps {
  /** migrate_pages() of the page at `index` of `file` to a newly allocated page: lock, wait for
   * writeback or give up (per `mode`), try_to_migrate(), move_to_new_folio() (retried while the
   * refcount freeze fails), remove_migration_ptes() to the new page or back to the old, unlock,
   * put. 0 when migrated, else a negative errno (EAGAIN, EBUSY, ENOMEM; ENOENT: no page there).
   * A large folio with no free folio of its order is split and the page at `index` retried once,
   * unless `nosplit` (migrate_pages_batch()'s try_split_folio()). */
  migratePages(t: Task, file: number, index: number, mode: MigrateMode, nosplit?: boolean): Step<number>;
  /** try_to_migrate(): replace every present PTE of the locked page `pfn` by a migration entry
   * (dropping the PTE's mapcount and reference); the rmap walk stops once the page is unmapped. */
  tryToMigrate(t: Task, pfn: number): Step;
  /** The a_ops->migrate_folio step (migrate_folio(): folio_migrate_mapping(), then
   * folio_migrate_copy()), and move_to_new_folio()'s clearing of the old page's mapping.
   * 0, or EAGAIN when the refcount freeze failed. Both pages locked. */
  moveToNewFolio(t: Task, dst: number, src: number): Step<number>;
  /** folio_migrate_mapping(): under the i_pages lock freeze src's refcount at the expected count
   * (page cache + the migrator's), give dst the slot (xas_store) and the page cache's reference,
   * unfreeze src one lower. EAGAIN if the freeze failed. */
  folioMigrateMapping(t: Task, dst: number, src: number): Step<number>;
  /** remove_migration_ptes(src, dst): every migration entry naming src, in the VMAs of dst's file
   * and index, becomes a present PTE of dst (a reference and a mapcount each). dst === src undoes. */
  removeMigrationPtes(t: Task, src: number, dst: number): Step;
  /** migration_entry_wait(): under the PTL, if the PTE at `index` of `vma` is still a migration
   * entry, migration_entry_wait_on_locked(): queue on the named page's PG_locked, drop the PTL,
   * sleep until woken. No page reference is taken. */
  migrationEntryWait(t: Task, vma: number, index: number): Step;
  /** pmd_migration_entry_wait(): the same under the PMD lock, for a PMD migration entry over
   * `index` of `vma` (a PMD-mapped folio migrating). No page reference is taken. */
  pmdMigrationEntryWait(t: Task, vma: number, index: number): Step;
}

/** All the tables of one configuration. */
export interface KernelOps {
  lock: PageLockOps;
  pagecache: PageCacheOps;
  vmOps: VmOps;
  fault: FaultOps;
  rmap: RmapOps;
  truncate: TruncateOps;
  reclaim: ReclaimOps;
  writeback: WritebackOps;
  collapse: CollapseOps;
  fuse: FuseOps;
  migrate: MigrateOps;
}

export type TableName = keyof KernelOps;

/** What a variant changes: some entries of some tables. */
export type OpsOverride = { readonly [K in TableName]?: Partial<KernelOps[K]> };
