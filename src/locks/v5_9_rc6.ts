// lock_page since 5.9-rc6, 5ef64cc8987a "mm: allow a controlled amount of unfairness in the page
// lock" (kernel-protocols §5.8): the current algorithm, folio_wait_bit_common() in mainline.
//
// A woken exclusive waiter tries to take the lock itself; if a stealer got there first it queues
// again at the tail, up to `unfairness` (sysctl_page_lock_unfairness, default 5) times. After that
// its entry has WQ_FLAG_CUSTOM and the waker takes the lock FOR it (WQ_FLAG_DONE), as in 5.9.
// unfairness = 0 makes every exclusive wait a hand-off wait (2a9127fcf229 behaviour).
//
// [derived] Reachable and faithful: a killable waiter on a non-CUSTOM pass that breaks out on a
// fatal signal and is woken (WOKEN without DONE) before its finish_wait() returns -EINTR, and the
// exclusive wakeup it consumed is not passed on: a waiter queued behind it sleeps with the page
// unlocked until somebody else locks and unlocks the page. Write-up and the two proposed fixes:
// docs/findings/killable-lost-wakeup.md, src/locks/v5_9_rc6_wakefix.ts (they replace waitResult).
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { PG_waiters, WQ_FLAG_CUSTOM, WQ_FLAG_DONE, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../shm/shm.ts';
import { PAGE_LOCK_COMMON, acquired, lockTable, trylockPageBitFlags } from './common.ts';
import type { LockOptions, PageLockOps } from './types.ts';
import { DEFAULT_UNFAIRNESS } from './waitqueue.ts';
import {
  WQ_TASK_KILLABLE, fatalSignalPending, initWaitEntry, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock,
  wakeEntry, wakePageMatch, type WakeKey,
} from './waitqueue.ts';

export { DEFAULT_UNFAIRNESS };

/** The v5.9-rc6 table, with the sysctl_page_lock_unfairness it runs with. */
export type PageLockV5_9_rc6 = PageLockOps & { readonly unfairness: number };

/**
 * What 5ef64cc8987a has of its own, for unfairness k (sysctl_page_lock_unfairness): its name, its
 * wake function, its wait, the wait-entry set-up that asks for a hand-off (WQ_FLAG_CUSTOM) after k
 * steals, folio_trylock_flag() (WOKEN | DONE) and the folio_set_waiters() step name.
 */
export function v5_9_rc6(o: LockOptions = {}) {
  const k = o.unfairness ?? DEFAULT_UNFAIRNESS;
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`unfairness must be an integer >= 0, got ${k}`);

  /**
   * A woken waiter found its lock stolen and re-queues. Per lock attempt this may happen at most k
   * times (after that the entry is CUSTOM and the waker hands the lock over); LOCK-FAIR checks that
   * bound for every algorithm (src/locks/waitqueue.ts, "starvation").
   */
  function overtaken(t: Task, _pfn: number): void {
    ++t.shm.wqOvertaken[t.id];
    t.stat('overtaken');
  }

  return Object.freeze({
    name: 'v5.9-rc6',
    /** sysctl_page_lock_unfairness */
    unfairness: k,

    *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
      const shm = t.shm;
      if (!wakePageMatch(shm, e, key)) return 0;
      t.aux = e;
      const flags = Atomics.load(shm.wqFlags, e);
      let set = WQ_FLAG_WOKEN;
      if (flags & WQ_FLAG_EXCLUSIVE) {
        const mask = 1 << key.bitNr;
        yield 'test_bit';
        if (Atomics.load(shm.flags, key.pfn) & mask) return -1; // re-locked: stop the walk
        if (flags & WQ_FLAG_CUSTOM) {
          yield 'test_and_set_bit';
          if (Atomics.or(shm.flags, key.pfn, mask) & mask) return -1;
          set |= WQ_FLAG_DONE; // the lock is taken for the waiter
        }
      }
      yield* wakeEntry(t, b, e, set);
      return flags & WQ_FLAG_EXCLUSIVE ? 1 : 0;
    },

    /** `wait->flags = WQ_FLAG_EXCLUSIVE; if (--unfairness < 0) wait->flags |= WQ_FLAG_CUSTOM;`:
     * after k steals, demand a hand-off. */
    initWaitPage(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean, unfairness: number): number {
      let flags = killable ? WQ_TASK_KILLABLE : 0;
      if (exclusive) {
        flags |= WQ_FLAG_EXCLUSIVE;
        if (unfairness < 0) flags |= WQ_FLAG_CUSTOM;
      }
      initWaitEntry(t, pfn, bitNr, flags);
      return flags;
    },

    *setPageWaiters(t: Task, pfn: number): Step<void> {
      yield 'folio_set_waiters';
      Atomics.or(t.shm.flags, pfn, PG_waiters);
    },

    /** folio_trylock_flag(): success marks the entry WOKEN | DONE. */
    trylockPageBit(t: Task, pfn: number, bitNr: number, exclusive: boolean): Step<boolean> {
      return trylockPageBitFlags(t, pfn, bitNr, exclusive, WQ_FLAG_WOKEN | WQ_FLAG_DONE);
    },

    *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
      const lock = t.ops.lock;
      const shm = t.shm, e = t.id, mask = 1 << bitNr;
      const b = pageWaitQueue(shm, pfn);
      let unfairness = k;
      let owned = false; // we took it ourselves (trylock at queue time or after a wake)
      t.page = pfn;
      shm.wqOvertaken[e] = 0;

      repeat: for (;;) {
        lock.initWaitPage(t, pfn, bitNr, exclusive, killable, exclusive ? --unfairness : unfairness);

        yield* spinLock(t, b);
        yield* lock.setPageWaiters(t, pfn);
        if (yield* lock.trylockPageBit(t, pfn, bitNr, exclusive)) {
          if (exclusive) owned = true;
        } else yield* lock.__addWaitQueueEntryTail(t, b);
        yield* spinUnlock(t, b);

        for (;;) {
          const f = Atomics.load(shm.wqFlags, e); // smp_load_acquire(&wait->flags)
          if (!(f & WQ_FLAG_WOKEN)) {
            if (killable && fatalSignalPending(t)) break repeat;
            yield* ioSchedule(t, pfn, bitNr, f);
            continue;
          }
          if (!exclusive) break repeat; // SHARED: woken == done
          if (f & WQ_FLAG_DONE) break repeat; // the waker got the lock for us
          t.page = pfn;
          yield 'test_and_set_bit';
          if (Atomics.or(shm.flags, pfn, mask) & mask) {
            // stolen: re-queue at the tail with one less unit of unfairness
            overtaken(t, pfn);
            continue repeat;
          }
          Atomics.or(shm.wqFlags, e, WQ_FLAG_DONE);
          acquired(t, pfn, 'slow');
          owned = true;
          break repeat;
        }
      }
      yield* lock.finishWait(t, b);
      // only after finish_wait() are the flags stable: a wake (a hand-off) may have come after the
      // signal test
      const f = Atomics.load(shm.wqFlags, e);
      releaseWaitEntry(t);
      const r = yield* lock.waitResult(t, pfn, bitNr, exclusive, f);
      if (exclusive && r === 0 && f & WQ_FLAG_DONE && !owned) acquired(t, pfn, 'handoff');
      return r;
    },
  });
}

/** The v5.9-rc6 (5ef64cc8987a, mainline) lock table. */
export function lockV5_9_rc6(o: LockOptions = {}): PageLockV5_9_rc6 {
  return lockTable<PageLockV5_9_rc6>(PAGE_LOCK_COMMON, v5_9_rc6(o));
}
