// Lock-state checks every scenario gets, on top of its own.
//
// Quiescent (every actor between operations): no page is locked and no shadow owner is set (a
// lock outlived the operation that took it: LOCK-LEAK), no wait entry is still queued
// (LOCK-WAITERS). PG_waiters may stay set on a page nobody waits for: the kernel allows that ("It
// may be set when there are no tasks on the waitqueue", 62906027091f); the next wake clears it.
//
// The live LOCK-WAITERS check (a queued entry's page has PG_waiters) is checkWaiters(): it walks
// each bucket under the bucket's lock, so it needs no re-validation. Checker code, not a protocol
// generator: it takes the bucket lock directly (try once, never wait) instead of through effects.
import type { Finding } from '../kernel/scenario.ts';
import { NIL, PG_locked, PG_waiters, type Shm } from '../shm/shm.ts';
import { CONTENDED, LOCKED, WQ_FLAG_BOOKMARK, queuedEntries } from '../locks/waitqueue.ts';
import { flagsText } from './describe.ts';

export function quiescentLockFindings(shm: Shm): Finding[] {
  const out: Finding[] = [];
  const P = shm.sizes.pages;
  for (let pfn = 0; pfn < P; pfn++) {
    const flags = shm.flags[pfn], owner = shm.owner[pfn];
    if (flags & PG_locked)
      out.push({
        id: 'LOCK-LEAK', page: pfn, values: [flags, owner - 1],
        message: `page ${pfn} is still locked (${flagsText(flags)}) with every task between operations`
          + (owner ? `; shadow owner task ${owner - 1}` : '; no shadow owner'),
      });
    else if (owner !== 0)
      out.push({
        id: 'LOCK-LEAK', page: pfn, values: [flags, owner - 1],
        message: `page ${pfn} is unlocked but its shadow owner is still task ${owner - 1}`,
      });
  }
  for (let task = 0; task < shm.sizes.tasks; task++) {
    if (shm.wqLinked[task] !== 0)
      out.push({
        id: 'LOCK-WAITERS', page: shm.wqPage[task], values: [task, shm.wqBit[task], shm.wqFlags[task]],
        message: `task ${task}'s wait entry (page ${shm.wqPage[task]}, bit ${shm.wqBit[task]}) is still queued with every task between operations`,
      });
  }
  for (let b = 0; b < shm.sizes.buckets; b++) {
    const head = shm.bucketHead[b];
    if (head !== NIL && (head < 0 || head >= shm.sizes.tasks || shm.wqLinked[head] === 0))
      out.push({
        id: 'LOCK-WAITERS', page: -1, values: [b, head],
        message: `wait-table bucket ${b} is not empty (head entry ${head}) with every task between operations`,
      });
  }
  return out;
}

/** The bucket lock for code that is not a protocol generator (the checkers): try once, never wait.
 * The main thread must not block, and in controlled mode the holder is a paused generator of the
 * same thread. */
export function spinTrylockDirect(shm: Shm, b: number): boolean {
  return Atomics.compareExchange(shm.bucketLock, b, 0, LOCKED) === 0;
}

export function spinUnlockDirect(shm: Shm, b: number): void {
  if (Atomics.exchange(shm.bucketLock, b, 0) === CONTENDED) Atomics.notify(shm.bucketLock, b, 1);
}

/**
 * LOCK-WAITERS: PG_waiters clear => no entry for that page is queued. Every bucket is walked under
 * its lock; a bucket whose lock is held is skipped (its holder is changing it right now; the next
 * check sees it). PG_waiters may legitimately be set with no waiter (a harmless extra wakeup),
 * never the reverse.
 */
export function checkWaiters(shm: Shm): Finding[] {
  const out: Finding[] = [];
  for (let b = 0; b < shm.sizes.buckets; b++) {
    if (!spinTrylockDirect(shm, b)) continue;
    try {
      for (const e of queuedEntries(shm, b)) {
        if (Atomics.load(shm.wqFlags, e) & WQ_FLAG_BOOKMARK) continue; // a waker's place, no waiter
        const pfn = shm.wqPage[e];
        const flags = Atomics.load(shm.flags, pfn);
        if (!(flags & PG_waiters))
          out.push({
            id: 'LOCK-WAITERS', page: pfn, values: [e, b, shm.wqFlags[e], flags],
            message: `task ${e} is queued in wait bucket ${b} for page ${pfn} bit ${shm.wqBit[e]}, but PG_waiters is clear (flags 0x${flags.toString(16)}): its wakeup will be skipped`,
          });
      }
    } finally {
      spinUnlockDirect(shm, b);
    }
  }
  return out;
}
