// The page-table lock (split PTLs: one per group of PTEs, src/shm/mm.ts ptlSlot()).
import { ptlSlot } from '../shm/mm.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import { LD_PTL, type Task } from '../kernel/task.ts';
import type { Step } from '../kernel/step.ts';

/** pte_offset_map_lock(): take the PTL covering `index` in `vma`. Returns the PTL slot. */
export function* pteLock(t: Task, vma: number, index: number): Step<number> {
  const ptl = ptlSlot(t.shm, vma, index);
  if (t.lockdep !== null) t.lockdep.check(t, LD_PTL, ptl);
  yield* spinLock(t, t.shm.ptl, ptl, 'pte_offset_map_lock');
  Atomics.store(t.shm.ptlOwner, ptl, t.id + 1);
  if (t.lockdep !== null) t.lockdep.ptlAcquired(t, ptl);
  return ptl;
}

/** pte_unmap_unlock() */
export function pteUnlock(t: Task, ptl: number): void {
  if (t.lockdep !== null) t.lockdep.ptlReleased(ptl);
  Atomics.store(t.shm.ptlOwner, ptl, 0);
  spinUnlock(t.shm.ptl, ptl);
}
