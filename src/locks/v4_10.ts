// lock_page as 4.10 shipped it: 62906027091f "mm: add PageWaiters indicating tasks are waiting for
// a page bit" (Nick Piggin), the first form of wait_on_page_bit_common() with the hashed page wait
// table of its own (kernel-protocols §5.3, before the August 2017 changes of src/locks/v4_14.ts):
//
//   for (;;) {
//       spin_lock_irq(&q->lock);
//       if (likely(list_empty(&wait->task_list))) {
//           if (lock) __add_wait_queue_tail_exclusive(q, wait);
//           else      __add_wait_queue(q, wait);          // shared waiters at the HEAD
//           SetPageWaiters(page);
//       }
//       set_current_state(state);
//       spin_unlock_irq(&q->lock);
//       if (likely(test_bit(bit_nr, &page->flags))) {
//           io_schedule();
//           if (unlikely(signal_pending_state(state, current))) { ret = -EINTR; break; }
//       }
//       if (lock) { if (!test_and_set_bit_lock(bit_nr, &page->flags)) break; }
//       else      { if (!test_bit(bit_nr, &page->flags)) break; }
//   }
//   finish_wait(q, wait);
//
// and wake_page_function() returns 0 (not woken, keep walking) when the bit is set again, where
// 3510ca20ece0 later stopped the walk. No bookmarks (2554db916586 came after).
//
// Faithful, bug included: the signal is tested right after io_schedule(), before the trylock. An
// exclusive wake-up wakes only the first waiter, so a killable waiter that is woken and then sees
// a fatal signal returns -EINTR having eaten the wake-up: the waiters behind it sleep on with the
// page unlocked. a8b169afbf06 "Avoid page waitqueue race leaving possible page locker waiting"
// (Linus, August 2017) fixed it by moving the signal test after the trylock ("a woken killable
// locker *must* take that lock and return success, even if a lethal signal is also pending").
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../shm/shm.ts';
import { EINTR, PAGE_LOCK_COMMON, acquired, lockTable } from './common.ts';
import { WAIT_ON_WRITEBACK_ONCE } from './bookmark.ts';
import type { LockOptions, PageLockOps } from './types.ts';
import {
  WQ_TASK_KILLABLE, addWaitQueueEntryHead, fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock,
  wakeEntry, wakePageMatch, type WakeKey,
} from './waitqueue.ts';

/** What 4.10 has of its own: its name, its wake function and its wait loop. */
export const V4_10 = Object.freeze({
  name: 'v4.10',

  *wakePageFunction(t: Task, b: number, e: number, key: WakeKey): Step<number> {
    const shm = t.shm;
    if (!wakePageMatch(shm, e, key)) return 0;
    t.aux = e;
    yield 'wake_page_function';
    // 4.10: "if (test_bit(key->bit_nr, &key->page->flags)) return 0;": not woken, the walk goes on
    if (Atomics.load(shm.flags, key.pfn) & (1 << key.bitNr)) return 0;
    // autoremove_wake_function(): as in v4.14, a signalled TASK_KILLABLE waiter is already running
    if ((Atomics.load(shm.wqFlags, e) & WQ_TASK_KILLABLE) && Atomics.load(shm.fatal, e)) return 0;
    yield* wakeEntry(t, b, e, WQ_FLAG_WOKEN);
    return 1;
  },

  *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
    const lock = t.ops.lock;
    const shm = t.shm, e = t.id, mask = 1 << bitNr;
    const b = pageWaitQueue(shm, pfn);
    t.page = pfn;
    const state = lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
    shm.wqOvertaken[e] = 0;
    let ret = 0;
    for (;;) {
      yield* spinLock(t, b);
      if (!Atomics.load(shm.wqLinked, e)) {
        if (exclusive) yield* lock.__addWaitQueueEntryTail(t, b); // __add_wait_queue_tail_exclusive
        else {
          yield '__add_wait_queue';
          addWaitQueueEntryHead(shm, b, e);
        }
        yield* lock.setPageWaiters(t, pfn);
      }
      Atomics.store(shm.wqFlags, e, state); // set_current_state(state)
      yield* spinUnlock(t, b);

      yield 'test_bit';
      if (Atomics.load(shm.flags, pfn) & mask) {
        for (;;) {
          const f = Atomics.load(shm.wqFlags, e);
          if (f & WQ_FLAG_WOKEN) break;
          if (killable && fatalSignalPending(t)) break;
          yield* ioSchedule(t, pfn, bitNr, f);
        }
        // the signal before the trylock: a woken waiter that leaves here eats the wake-up
        yield 'signal_pending_state';
        if (killable && fatalSignalPending(t)) {
          ret = EINTR;
          break;
        }
      }
      t.page = pfn;
      if (exclusive) {
        yield 'test_and_set_bit_lock';
        if (!(Atomics.or(shm.flags, pfn, mask) & mask)) {
          acquired(t, pfn, 'slow');
          break;
        }
        if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_WOKEN) {
          shm.wqOvertaken[e]++;
          t.stat('overtaken');
        }
      } else {
        yield 'test_bit';
        if (!(Atomics.load(shm.flags, pfn) & mask)) break;
      }
    }
    yield* lock.finishWait(t, b);
    releaseWaitEntry(t);
    return ret;
  },
});

/** The 4.10 lock table. */
export function lockV4_10(_o: LockOptions = {}): PageLockOps {
  return lockTable(PAGE_LOCK_COMMON, { ...V4_10, ...WAIT_ON_WRITEBACK_ONCE });
}
