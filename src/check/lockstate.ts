// Lock-state checks every scenario gets, on top of its own.
//
// Quiescent (every actor between operations): no page is locked and no shadow owner is set (a
// lock outlived the operation that took it: LOCK-LEAK), no wait entry is still queued
// (LOCK-WAITERS). PG_waiters may stay set on a page nobody waits for: the kernel allows that ("It
// may be set when there are no tasks on the waitqueue", 62906027091f); the next wake clears it.
//
// The live LOCK-WAITERS check (a queued entry's page has PG_waiters) is checkWaiters() in
// src/locks/waitqueue.ts: it walks each bucket under the bucket's lock, so it needs no re-validation.
import type { Finding } from '../kernel/scenario.ts';
import { NIL, PG_locked, type Shm } from '../shm/shm.ts';
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
