// Self-test lock `lock-killable-eintr` (hidden): the 5.9 fair hand-off lock (2a9127fcf229) whose
// lock_page_killable() decides its result from the flags it saw when it broke out of the wait on
// a fatal signal, BEFORE finish_wait(). A waker that ran in between (the entry was still queued)
// already took PG_locked for it and marked it WOKEN: the waiter returns -EINTR anyway and the lock
// is held by nobody. The kernel's rule (kernel-protocols §5.8): "only after the finish_wait() can
// we reliably determine if we got woken up or not" — the return value must come from the flags
// after finish_wait(), and then it is 0: the task owns the lock despite the signal.
//
// MUST TRIP: DEADLOCK (controlled mode: the next locker of that page sleeps forever on a page
// "locked with no recorded owner"), HUNG (free mode: the watchdog sees that locker stuck), or
// LOCK-LEAK (a whole-state check that finds the page locked between operations). It needs a fatal
// signal to land while the killable waiter is queued and a hand-off to come between its signal
// test and its finish_wait(): rare per operation, so it needs signals and contention.
import type { Step } from '../../kernel/step.ts';
import type { Task, LockOptions, PageLockOps } from '../../kernel/task.ts';
import { WQ_FLAG_WOKEN } from '../../shm/shm.ts';
import { EINTR, acquired } from '../../locks/common.ts';
import { lockOverride } from '../../locks/index.ts';
import { fatalSignalPending, ioSchedule, pageWaitQueue, releaseWaitEntry, spinLock, spinUnlock } from '../../locks/waitqueue.ts';

export function lockKillableEintr(o: LockOptions = {}): PageLockOps {
  return lockOverride('v5.9', o, {
    name: 'lock-killable-eintr',
    // v5.9's wait_on_page_bit_common() (src/locks/v5_9.ts) over the real steps, with one change
    // marked BUG
    *waitOnPageBitCommon(t: Task, pfn: number, bitNr: number, exclusive: boolean, killable: boolean): Step<number> {
      const lock = t.ops.lock;
      const shm = t.shm, e = t.id;
      const b = pageWaitQueue(shm, pfn);
      t.page = pfn;
      lock.initWaitPage(t, pfn, bitNr, exclusive, killable, 0);
      shm.wqOvertaken[e] = 0;

      yield* spinLock(t, b);
      yield* lock.setPageWaiters(t, pfn);
      const got = yield* lock.trylockPageBit(t, pfn, bitNr, exclusive);
      if (!got) yield* lock.__addWaitQueueEntryTail(t, b);
      yield* spinUnlock(t, b);

      let seen = 0;
      for (;;) {
        seen = Atomics.load(shm.wqFlags, e);
        if (killable && fatalSignalPending(t)) break;
        if (seen & WQ_FLAG_WOKEN) break;
        yield* ioSchedule(t, pfn, bitNr, seen);
      }
      yield* lock.finishWait(t, b);
      // BUG (deliberate): the result comes from `seen`, read before finish_wait(); a hand-off that
      // came after the signal test is ignored, and the lock it took for us is never released
      const woken = (seen & WQ_FLAG_WOKEN) !== 0;
      if (woken && exclusive && !got) acquired(t, pfn, 'handoff');
      releaseWaitEntry(t);
      return woken ? 0 : EINTR;
    },
  });
}
