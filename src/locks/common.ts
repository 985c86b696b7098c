// What the three lock_page algorithms share (kernel-protocols §5.2): the fast paths, unlock_page,
// the PG_writeback waits, and the inline checks and stats around every acquisition and release.
// An algorithm supplies its wake function and its wait_on_page_bit_common().
import { NOW, type Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { MAX_HELD, STAT, STAT_NAMES, HIST_BUCKETS } from '../shm/layout.ts';
import { BIT_LOCKED, BIT_WRITEBACK, NO_OWNER, PG_locked, PG_waiters, PG_writeback } from '../shm/shm.ts';
import { histRecord } from '../shm/histogram.ts';
import { EINTR, type PageLock } from './types.ts';
import { deliverFatalSignal, folioWakeBit, type WakeKey } from './waitqueue.ts';
import { LD_PAGE, LD_WB } from '../kernel/task.ts';

export { EINTR };

/** How an acquisition happened (stats). */
export type Acquired =
  | 'fast' // trylock / lock fast path, no waiters
  | 'steal' // trylock / lock fast path while PG_waiters was set
  | 'slow' // the waiter's own test_and_set_bit in the slow path
  | 'handoff'; // the waker took the lock for the waiter (WQ_FLAG_DONE)

export function holds(t: Task, pfn: number): boolean {
  const shm = t.shm, base = t.id * MAX_HELD;
  const n = Math.min(shm.heldCount[t.id], MAX_HELD);
  for (let i = 0; i < n; i++) if (shm.held[base + i] === pfn) return true;
  return false;
}

// ---- page locks of pages nobody else can see ----

/** __SetPageLocked / __folio_set_locked: lock a page nobody else can see yet (a new page before it
 * enters the page cache: "new page-cache pages are born locked"). Keeps the shadow owner and the
 * held list as lock_page would, so unlock_page's checks hold. */
export function __SetPageLocked(t: Task, pfn: number): void {
  Atomics.or(t.shm.flags, pfn, PG_locked);
  Atomics.store(t.shm.owner, pfn, t.id + 1);
  t.heldAdd(pfn);
}

/** __ClearPageLocked: unlock a page nobody else can reach any more (reclaim after the refcount
 * freeze and deletion: "we obviously don't have to worry about waking up a process waiting on the
 * page lock, because there are no references"), or a new page that failed to enter the cache. */
export function __ClearPageLocked(t: Task, pfn: number): void {
  Atomics.store(t.shm.owner, pfn, 0);
  Atomics.and(t.shm.flags, pfn, ~PG_locked);
  t.heldRemove(pfn);
}

export abstract class PageLockBase implements PageLock {
  abstract readonly name: string;

  /** wake_page_function() of this algorithm; runs under the bucket lock. */
  protected abstract wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number>;

  /**
   * wait_on_page_bit_common(): an exclusive wait takes the lock (and records the acquisition
   * with this.acquired()) or returns EINTR (killable only); a shared wait returns when the bit was
   * seen clear (or was cleared by a wake). Returns 0 or EINTR.
   */
  protected abstract waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number>;

  // ---- inline checks and bookkeeping ----

  /**
   * LOCK-EXCL at every acquisition: the shadow owner must be free. Called by the task that now
   * owns the lock, as soon as it knows: for a hand-off that is when the waiter runs again, so
   * while a hand-off is in flight (the waker set PG_locked for the waiter, the waiter has not yet
   * returned) PG_locked is set with shadow owner 0 and the waiter's entry has WQ_FLAG_DONE. A live
   * checker must tolerate that state (see lockHandoffPending() in waitqueue.ts).
   */
  protected acquired(t: Task, pfn: number, how: Acquired): void {
    const shm = t.shm, me = t.id + 1;
    const prev = Atomics.compareExchange(shm.owner, pfn, NO_OWNER, me);
    if (prev !== NO_OWNER) {
      t.violation('LOCK-EXCL', pfn, prev - 1, t.id);
      Atomics.store(shm.owner, pfn, me);
    }
    t.heldAdd(pfn);
    if (t.lockdep !== null) t.lockdep.pageAcquired(t, pfn);
    t.stat('acquisitions');
    if (how === 'steal') t.stat('steals');
    else if (how === 'handoff') t.stat('handoffs');
  }

  /** Wait-time accounting of a slow-path acquisition: histogram and maxWaitUs. */
  protected recordWait(t: Task, ns: number): void {
    const shm = t.shm;
    t.stat('contended');
    histRecord(shm.waitHist, t.id * HIST_BUCKETS, ns);
    const i = t.id * STAT_NAMES.length + STAT.maxWaitUs;
    const us = Math.min(0x7fffffff, Math.round(ns / 1000));
    if (us > shm.stats[i]) shm.stats[i] = us;
  }

  // ---- fast paths ----

  /** test_and_set_bit_lock(PG_locked): one RMW. */
  protected *trylockFast(t: Task, pfn: number): Step<boolean> {
    t.page = pfn;
    yield 'trylock_page';
    const old = Atomics.or(t.shm.flags, pfn, PG_locked);
    if (old & PG_locked) return false;
    this.acquired(t, pfn, old & PG_waiters ? 'steal' : 'fast');
    return true;
  }

  *trylockPage(t: Task, pfn: number): Step<boolean> {
    const ok = yield* this.trylockFast(t, pfn);
    if (!ok) t.stat('trylockFail');
    return ok;
  }

  *lockPage(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn); // a blocking acquisition, whatever path it takes
    if (yield* this.trylockFast(t, pfn)) return;
    const r = yield* this.lockSlow(t, pfn, false);
    if (r !== 0) throw new Error(`${this.name}: __lock_page returned ${r}`);
  }

  *lockPageKillable(t: Task, pfn: number): Step<number> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn);
    if (yield* this.trylockFast(t, pfn)) return 0;
    return yield* this.lockSlow(t, pfn, true);
  }

  /** __lock_page / __lock_page_killable, timed (slow path only). */
  protected *lockSlow(t: Task, pfn: number, killable: boolean): Step<number> {
    const t0: number = yield NOW;
    const r = yield* this.waitOnPageBitCommon(t, pfn, BIT_LOCKED, true, killable);
    t.page = pfn;
    if (r === 0) {
      const t1: number = yield NOW;
      this.recordWait(t, t1 - t0);
    } else {
      t.stat('eintr');
      deliverFatalSignal(t);
    }
    return r;
  }

  // ---- unlock ----

  /**
   * unlock_page(): ONE RMW clears PG_locked and returns the old flags (clear_bit_unlock_is_
   * negative_byte: PG_waiters is bit 7 of the same byte); wake only if PG_waiters was set.
   * LOCK-UNLOCK: the page must have been locked, by us. The shadow owner and the held list are
   * cleared BEFORE the releasing RMW: right after it another task may take the lock.
   */
  *unlockPage(t: Task, pfn: number): Step<void> {
    t.page = pfn;
    yield 'clear_bit_unlock_is_negative_byte';
    const old = this.releasePageLock(t, pfn);
    if (old & PG_waiters) yield* this.wakeUpPageBit(t, pfn, BIT_LOCKED);
  }

  /** The releasing RMW with its bookkeeping and LOCK-UNLOCK check; returns the old flags. */
  protected releasePageLock(t: Task, pfn: number): number {
    const shm = t.shm, me = t.id + 1;
    const owner = Atomics.load(shm.owner, pfn);
    if (owner === me) Atomics.compareExchange(shm.owner, pfn, me, NO_OWNER);
    if (holds(t, pfn)) t.heldRemove(pfn);
    const old = Atomics.and(shm.flags, pfn, ~PG_locked);
    if (!(old & PG_locked) || owner !== me) t.violation('LOCK-UNLOCK', pfn, old, owner - 1);
    return old;
  }

  /** wake_up_page_bit(): the walk with this algorithm's wake function. */
  protected *wakeUpPageBit(t: Task, pfn: number, bitNr: number): Step<void> {
    yield* folioWakeBit(t, pfn, bitNr, (tt, b, e, key) => this.wakePageFunction(tt, b, e, key));
  }

  // ---- shared waits ----

  /** wait_on_page_locked(): if (PageLocked(page)) wait_on_page_bit(page, PG_locked). */
  *waitOnPageLocked(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_PAGE, pfn);
    t.page = pfn;
    yield 'PageLocked';
    if (!(Atomics.load(t.shm.flags, pfn) & PG_locked)) return;
    yield* this.waitOnPageBitCommon(t, pfn, BIT_LOCKED, false, false);
  }

  /** wait_on_page_writeback(): while (PageWriteback(page)) wait_on_page_bit(page, PG_writeback)
   * (c2407cf7d22d: since 5.9 a shared wait returns after one wake, and the bit may be set again). */
  *waitOnPageWriteback(t: Task, pfn: number): Step<void> {
    if (t.lockdep !== null) t.lockdep.check(t, LD_WB, pfn); // a dependency whether or not it waits
    t.page = pfn;
    for (;;) {
      yield 'PageWriteback';
      if (!(Atomics.load(t.shm.flags, pfn) & PG_writeback)) return;
      yield* this.waitOnPageBitCommon(t, pfn, BIT_WRITEBACK, false, false);
    }
  }

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
    yield* this.wakeUpPageBit(t, pfn, BIT_WRITEBACK);
  }
}
