// What kernel code tells lockdep (src/check/lockdep.ts implements it): the lock classes, and the
// hooks a task calls when it takes, releases or is about to wait on a lock. A task without
// --lockdep has none (t.lockdep === null).
import type { Task } from './task.ts';

export const LD_PAGE = 0;
export const LD_PTL = 1;
export const LD_WB = 2;

export interface LockdepHooks {
  /** About to block on (or wait for) lock `id` of class `cls`. */
  check(t: Task, cls: number, id: number): void;
  /** A page lock was taken (any way: fast path, slow path, hand-off, trylock). */
  pageAcquired(t: Task, pfn: number): void;
  ptlAcquired(t: Task, ptl: number): void;
  ptlReleased(ptl: number): void;
  /** The task is about to start page `pfn`'s writeback I/O, which it will end itself. */
  writebackStarted(t: Task, pfn: number): void;
  writebackEnded(pfn: number): void;
}
