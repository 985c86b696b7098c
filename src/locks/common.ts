// What the three lock_page algorithms share (kernel-protocols §5.2), as one table of entries:
// the public entries (trylock_page, lock_page, lock_page_killable, unlock_page, the waits), the
// fast paths, unlock's releasing RMW and folio_wake_bit(), and the common pieces of
// folio_wait_bit_common() (wait-entry set-up, set-waiters, trylock under the queue lock, queueing,
// finish_wait). An algorithm is a partial table over it (src/locks/v4_10.ts, v4_14.ts,
// v5_9.ts, v5_9_rc6.ts): its wake function, its folio_wait_bit_common(), and the steps it words differently.
//
// Entries are plain functions of the task (no `this`): they reach every other step through the
// running table, `t.ops.lock`, so a table built over this one (lockTable(), composeOps(), a
// plug-in's lockOverride()) that replaces one step is reached from all the others.
import { NOW, type Step } from '../kernel/step.ts';
import { LD_PAGE, LD_WB, type Task } from '../kernel/task.ts';
import { STAT, STAT_STRIDE, HIST_BUCKETS } from '../shm/layout.ts';
import {
  BIT_LOCKED, BIT_WRITEBACK, NO_OWNER, PG_locked, PG_waiters, PG_writeback, WQ_FLAG_DONE, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN,
} from '../shm/shm.ts';
import { histRecord } from '../shm/histogram.ts';
import { EINTR, type PageLockOps } from './types.ts';
import {
  WQ_TASK_KILLABLE, addWaitQueueEntryTail, deliverFatalSignal, finishWait, folioWakeBit, initWaitEntry,
  lockAttemptBegins, unlockNoWaiters, unlockOwes, unlockSettle, unlockWalked, wakeTokenSettle,
} from './waitqueue.ts';

export { EINTR };

/** How an acquisition happened (stats). */
export type Acquired =
  | 'fast' // trylock / lock fast path, no waiters
  | 'steal' // trylock / lock fast path while PG_waiters was set
  | 'slow' // the waiter's own test_and_set_bit in the slow path
  | 'handoff'; // the waker took the lock for the waiter (WQ_FLAG_DONE)

/** PG_locked, PG_waiters and NO_OWNER as the uncontended lock and unlock use them: a const enum
 * (inlined as literals where used), checked against src/shm/shm.ts's below. An imported constant
 * is a live binding that V8 loads and checks for initialisation at every use: ~1 ns each on a
 * path whose every step is a few ns. */
const enum Fast {
  locked = 1 << 0,
  waiters = 1 << 7,
  noOwner = 0,
}
if (Fast.locked !== PG_locked || Fast.waiters !== PG_waiters || Fast.noOwner !== NO_OWNER)
  throw new Error('locks/common.ts: the fast paths\' flag literals differ from src/shm/shm.ts');

// ---- page locks of pages nobody else can see ----

/** __SetPageLocked / __folio_set_locked: lock a page nobody else can see yet (a new page before it
 * enters the page cache: "new page-cache pages are born locked"). Keeps the shadow owner and the
 * held list as lock_page would, so unlock_page's checks hold. */
export function __SetPageLocked(t: Task, pfn: number): void {
  Atomics.or(t.shm.flags, pfn, PG_locked);
  Atomics.store(t.shm.owner, pfn, t.id + 1);
  t.heldAdd(pfn);
  if (t.lockdep !== null) t.lockdep.pageBornLocked(pfn);
}

/** __ClearPageLocked: unlock a page nobody else can reach any more (reclaim after the refcount
 * freeze and deletion: "we obviously don't have to worry about waking up a process waiting on the
 * page lock, because there are no references"), or a new page that failed to enter the cache. */
export function __ClearPageLocked(t: Task, pfn: number): void {
  Atomics.store(t.shm.owner, pfn, 0);
  Atomics.and(t.shm.flags, pfn, ~PG_locked);
  t.heldRemove(pfn);
}

// ---- inline checks and bookkeeping ----

/**
 * Record an acquisition by t: LOCK-EXCL (the shadow owner must be free), the held list, lockdep,
 * stats. Called by the task that now owns the lock, as soon as it knows: for a hand-off that is
 * when the waiter runs again, so while a hand-off is in flight (the waker set PG_locked for the
 * waiter, the waiter has not yet returned) PG_locked is set with shadow owner 0 and the waiter's
 * entry has WQ_FLAG_DONE. A live checker must tolerate that state (lockHandoffPending() in
 * waitqueue.ts).
 */
export function acquired(t: Task, pfn: number, how: Acquired): void {
  const me = t.id + 1, owner = t.owner; // shm.owner (Task.flags says why the task's copy)
  // Plain accesses (no locked RMW): the atomic that gave us the bit (the RMW, or the waker's
  // WQ_FLAG_DONE for a hand-off) comes after the last owner's clear in its releasePageLock(), so
  // this read sees that clear; a second owner at once reads the first one (or, if both read
  // between the two bit RMWs, each other's release finds LOCK-UNLOCK).
  const prev = owner[pfn];
  owner[pfn] = me;
  if (prev !== Fast.noOwner) t.violation('LOCK-EXCL', pfn, prev - 1, t.id);
  t.heldAdd(pfn);
  wakeTokenSettle(t, pfn); // a wake given to us without the lock: we hold the bit now
  if (t.lockdep !== null) t.lockdep.pageAcquired(t, pfn);
  t.stat('acquisitions');
  if (how === 'steal' || how === 'handoff') t.stat(how === 'steal' ? 'steals' : 'handoffs');
}

/** Wait-time accounting of a slow-path acquisition: histogram and maxWaitUs. */
export function recordWait(t: Task, ns: number): void {
  const shm = t.shm;
  t.stat('contended');
  histRecord(shm.waitHist, t.id * HIST_BUCKETS, ns);
  const i = t.id * STAT_STRIDE + STAT.maxWaitUs;
  const us = Math.min(0x7fffffff, Math.round(ns / 1000));
  if (us > shm.stats[i]) shm.stats[i] = us;
}

/**
 * The trylock under the queue lock with the flags it sets on success (WQ_FLAG_WOKEN in
 * 2a9127fcf229's trylock_page_bit_common(), WOKEN | DONE in folio_trylock_flag()): exclusive:
 * test_and_set_bit; shared: test_bit. An exclusive success is recorded as a 'slow' acquisition.
 */
export function* trylockPageBitFlags(t: Task, pfn: number, bitNr: number, exclusive: boolean, woken: number): Step<boolean> {
  const shm = t.shm, mask = 1 << bitNr;
  let got: boolean;
  if (exclusive) {
    yield 'test_and_set_bit';
    got = !(Atomics.or(shm.flags, pfn, mask) & mask);
  } else {
    yield 'test_bit';
    got = !(Atomics.load(shm.flags, pfn) & mask);
  }
  if (got) {
    Atomics.or(shm.wqFlags, t.id, woken);
    if (exclusive) acquired(t, pfn, 'slow');
  }
  return got;
}

/** releasePageLock() past the uncontended compare-exchange (a waiter announced, the lock not
 * ours, or the flags moved): the walk is owed before the bit clears, one Atomics.and clears it.
 * Apart from the entry so the uncontended unlock stays small enough to inline. */
function releaseOwing(t: Task, pfn: number, owner: number): number {
  unlockOwes(t, pfn); // before the bit clears: a waiter of this page is owed a walk
  const old = Atomics.and(t.shm.flags, pfn, ~PG_locked);
  if (!(old & PG_locked) || owner !== t.id + 1) t.violation('LOCK-UNLOCK', pfn, old, owner - 1);
  if (!(old & PG_waiters)) unlockWalked(t, pfn); // no waiter announced: no walk owed
  return old;
}

// ---- the common table ----

/** The entries every algorithm has; an algorithm adds its name, wakePageFunction and
 * waitOnPageBitCommon (and may replace any other). */
export type PageLockCommon = Omit<PageLockOps, 'name' | 'wakePageFunction' | 'waitOnPageBitCommon'>;

/** A table's entries, for checks and wrappers (every function-valued member of PageLockOps). */
export const PAGE_LOCK_ENTRIES = Object.freeze([
  'trylockPage', 'lockPage', 'lockPageKillable', 'unlockPage', 'waitOnPageLocked', 'waitOnPageWriteback', 'endPageWriteback',
  'trylockFast', 'releasePageLock', '__lockPage', 'waitOnPageBitCommon', 'initWaitPage', 'setPageWaiters', 'trylockPageBit',
  '__addWaitQueueEntryTail', 'finishWait', 'waitResult', 'wakeUpPageBit', 'wakePageFunction',
] as const satisfies readonly Exclude<keyof PageLockOps, 'name'>[]);
/** An entry of PageLockOps missing from PAGE_LOCK_ENTRIES is a compile error here. */
type Unlisted = Exclude<keyof PageLockOps, 'name' | (typeof PAGE_LOCK_ENTRIES)[number]>;
const complete: [Unlisted] extends [never] ? true : Unlisted = true;
void complete;

export const PAGE_LOCK_COMMON: PageLockCommon = Object.freeze({
  // ---- the fast paths ----

  /** test_and_set_bit_lock(PG_locked): one RMW. */
  *trylockFast(t: Task, pfn: number): Step<boolean> {
    t.page = pfn;
    yield 'trylock_page';
    unlockSettle(t); // an earlier unlock of ours that never walked
    const old = Atomics.or(t.flags, pfn, Fast.locked); // shm.flags (Task.flags says why the task's copy)
    if (old & Fast.locked) return false;
    acquired(t, pfn, old & Fast.waiters ? 'steal' : 'fast');
    return true;
  },

  *trylockPage(t: Task, pfn: number): Step<boolean> {
    const ok = yield* t.ops.lock.trylockFast(t, pfn);
    if (!ok) t.stat('trylockFail');
    return ok;
  },

  *lockPage(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn); // a blocking acquisition, whatever path it takes
    const lock = t.ops.lock;
    if (yield* lock.trylockFast(t, pfn)) return;
    const r = yield* lock.__lockPage(t, pfn, false);
    if (r !== 0) throw new Error(`${lock.name}: __lock_page returned ${r}`);
  },

  *lockPageKillable(t: Task, pfn: number): Step<number> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn);
    const lock = t.ops.lock;
    if (yield* lock.trylockFast(t, pfn)) return 0;
    return yield* lock.__lockPage(t, pfn, true);
  },

  /** __lock_page / __lock_page_killable, timed (slow path only). */
  *__lockPage(t: Task, pfn: number, killable: boolean): Step<number> {
    const t0: number = yield NOW;
    lockAttemptBegins(t);
    const r = yield* t.ops.lock.waitOnPageBitCommon(t, pfn, BIT_LOCKED, true, killable);
    wakeTokenSettle(t, pfn); // a wake given to us without the lock is used up (taken, or lost with -EINTR)
    t.page = pfn;
    if (r === 0) {
      const t1: number = yield NOW;
      recordWait(t, t1 - t0);
    } else {
      t.stat('eintr');
      deliverFatalSignal(t);
    }
    return r;
  },

  // ---- unlock ----

  /**
   * unlock_page(): ONE RMW clears PG_locked and returns the old flags (clear_bit_unlock_is_
   * negative_byte: PG_waiters is bit 7 of the same byte); wake only if PG_waiters was set.
   */
  *unlockPage(t: Task, pfn: number): Step<void> {
    t.page = pfn;
    yield 'clear_bit_unlock_is_negative_byte';
    const lock = t.ops.lock;
    if (lock.releasePageLock(t, pfn) & Fast.waiters) yield* lock.wakeUpPageBit(t, pfn, BIT_LOCKED);
  },

  /** The releasing RMW with its bookkeeping and LOCK-UNLOCK check (the page must have been
   * locked, by us); returns the old flags. The shadow owner and the held list are cleared BEFORE
   * the RMW: right after it another task may take the lock. */
  releasePageLock(t: Task, pfn: number): number {
    const me = t.id + 1, flags = t.flags, owners = t.owner; // shm's (Task.flags says why the task's copies)
    const owner = owners[pfn]; // ours to clear: plain, ordered before the releasing atomic below
    if (owner === me) owners[pfn] = Fast.noOwner;
    t.heldDrop(pfn);
    if (owner === me) {
      // no waiter announced (the uncontended unlock): release with a compare-exchange that fails
      // if PG_waiters is set by then, and owe no walk (unlockNoWaiters()). The flags are read
      // plain (an Atomics.load is a builtin call, ~10 ns): the compare-exchange is what decides,
      // and a stale read only sends the unlock down the RMW path below.
      const f = flags[pfn];
      if ((f & (Fast.locked | Fast.waiters)) === Fast.locked) {
        unlockSettle(t); // an earlier unlock of ours that never walked, as unlockOwes() settles it
        if (Atomics.compareExchange(flags, pfn, f, f & ~Fast.locked) === f) {
          unlockNoWaiters(t, pfn);
          return f;
        }
      }
    }
    return releaseOwing(t, pfn, owner);
  },

  /** wake_up_page_bit(): the walk with the table's wake function. */
  wakeUpPageBit(t: Task, pfn: number, bitNr: number): Step<void> {
    return folioWakeBit(t, pfn, bitNr, t.ops.lock.wakePageFunction);
  },

  // ---- the common pieces of wait_on_page_bit_common() ----

  initWaitPage(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean, _unfairness: number): number {
    const flags = (exclusive ? WQ_FLAG_EXCLUSIVE : 0) | (killable ? WQ_TASK_KILLABLE : 0);
    initWaitEntry(t, pfn, bitNr, flags);
    return flags;
  },

  *setPageWaiters(t: Task, pfn: number): Step<void> {
    yield 'SetPageWaiters';
    Atomics.or(t.shm.flags, pfn, PG_waiters);
  },

  /** 2a9127fcf229's trylock_page_bit_common(): success marks the entry WOKEN. */
  trylockPageBit(t: Task, pfn: number, bitNr: number, exclusive: boolean): Step<boolean> {
    return trylockPageBitFlags(t, pfn, bitNr, exclusive, WQ_FLAG_WOKEN);
  },

  *__addWaitQueueEntryTail(t: Task, b: number): Step<void> {
    yield '__add_wait_queue_entry_tail';
    addWaitQueueEntryTail(t.shm, b, t.id);
  },

  finishWait,

  /** Mainline's rule: an exclusive waiter owns the lock only with WQ_FLAG_DONE (a hand-off, or its
   * own test_and_set_bit after a wake); anything else is -EINTR. */
  *waitResult(_t: Task, _pfn: number, _bitNr: number, exclusive: boolean, flags: number): Step<number> {
    if (!exclusive) return flags & WQ_FLAG_WOKEN ? 0 : EINTR;
    return flags & WQ_FLAG_DONE ? 0 : EINTR;
  },

  // ---- shared waits ----

  /** wait_on_page_locked(): if (PageLocked(page)) wait_on_page_bit(page, PG_locked). */
  *waitOnPageLocked(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn);
    t.page = pfn;
    yield 'PageLocked';
    if (!(Atomics.load(t.shm.flags, pfn) & PG_locked)) return;
    yield* t.ops.lock.waitOnPageBitCommon(t, pfn, BIT_LOCKED, false, false);
  },

  /** wait_on_page_writeback(): while (PageWriteback(page)) wait_on_page_bit(page, PG_writeback)
   * (c2407cf7d22d: since 5.9 a shared wait returns after one wake, and the bit may be set again). */
  *waitOnPageWriteback(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_WB, pfn); // a dependency whether or not it waits
    t.page = pfn;
    for (;;) {
      yield 'PageWriteback';
      if (!(Atomics.load(t.shm.flags, pfn) & PG_writeback)) return;
      yield* t.ops.lock.waitOnPageBitCommon(t, pfn, BIT_WRITEBACK, false, false);
    }
  },

  /** end_page_writeback(): test_clear_page_writeback() (BUG if it was not set), then
   * wake_up_page(page, PG_writeback), which does nothing unless PageWaiters. */
  *endPageWriteback(t: Task, pfn: number): Step<void> {
    const shm = t.shm;
    t.page = pfn;
    yield 'test_clear_page_writeback';
    const old = Atomics.and(shm.flags, pfn, ~PG_writeback);
    if (!(old & PG_writeback)) throw new Error(`end_page_writeback: page ${pfn} is not under writeback`);
    Atomics.store(shm.wbOwner, pfn, 0); // nobody's I/O any more (see Task.writebackStarted())
    if (t.lockdep !== null) t.lockdep.writebackEnded(pfn);
    yield 'PageWaiters';
    if (!(Atomics.load(shm.flags, pfn) & PG_waiters)) return;
    yield* t.ops.lock.wakeUpPageBit(t, pfn, BIT_WRITEBACK);
  },
});

/**
 * A lock table: `over`'s entries on a new frozen object whose prototype is `base` (as
 * composeOps() builds a variant's table), so every entry `over` does not have is `base`'s.
 * The result must have every entry (PAGE_LOCK_ENTRIES) and a name.
 */
export function lockTable<T extends PageLockOps = PageLockOps>(base: object, over: object): T {
  const table = Object.freeze(Object.create(base, Object.getOwnPropertyDescriptors(over))) as T;
  const missing = PAGE_LOCK_ENTRIES.filter((k) => typeof table[k] !== 'function');
  if (missing.length || typeof table.name !== 'string')
    throw new Error(`lock table '${String(table.name)}': ${missing.length ? `no ${missing.join(', ')}` : 'no name'}`);
  return table;
}
