// Self-test lock `lock-waiters-unlocked` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) that
// sets PG_waiters BEFORE it takes the wait-queue lock instead of under it. A walk for the page
// that holds the queue lock at that moment and finds no waiter of the page clears PG_waiters
// (wake_up_page_bit(): `if (!waitqueue_active(q) || !key.page_match) ClearPageWaiters(page)`) after
// our set; we then queue behind a clear PG_waiters, the owner's unlock skips the walk, and we sleep
// on an unlocked page. Setting the bit under q->lock orders it after any such clear.
//
// MUST TRIP: LOCK-WAKE, LOCK-WAITERS (free), DEADLOCK (controlled) or HUNG (free).
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { EINTR, acquired } from '../../locks/common.ts';
import { lockOverride } from '../../locks/index.ts';
import { fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock } from '../../locks/waitqueue.ts';

export function lockWaitersUnlocked(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, {
    name: 'lock-waiters-unlocked',
    // v5.9's wait_on_page_bit_common() (src/locks/v5_9.ts) over the real steps, with one change
    // marked BUG
    *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
      const lock = t.ops.lock;
      const shm = t.shm, e = t.id;
      const b = pageWaitQueue(shm, pfn);
      t.page = pfn;
      lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
      shm.wqOvertaken[e] = 0;

      yield* lock.setPageWaiters(t, pfn); // BUG (deliberate): before spin_lock(&q->lock), not under it
      yield* spinLock(t, b);
      const got = yield* lock.trylockPageBit(t, pfn, bitNr, exclusive);
      if (!got) yield* lock.__addWaitQueueEntryTail(t, b);
      yield* spinUnlock(t, b);

      for (;;) {
        const f = Atomics.load(shm.wqFlags, e);
        if (killable && fatalSignalPending(t)) break;
        if (f & WQ_FLAG_WOKEN) break;
        yield* ioSchedule(t, pfn, bitNr, f);
      }
      yield* lock.finishWait(t, b);
      const woken = (Atomics.load(shm.wqFlags, e) & WQ_FLAG_WOKEN) !== 0;
      if (woken && exclusive && !got) acquired(t, pfn, 'handoff');
      releaseWaitEntry(t);
      return woken ? 0 : EINTR;
    },
  });
}
