// lock_page, behind one interface. Every method is a protocol generator: it yields schedule
// points and wait/wake effects and never blocks by itself (see src/sched/step.ts).
import type { Step } from '../sched/step.ts';
import type { Task } from '../sched/task.ts';

export const EINTR = -4;

export interface PageLock {
  readonly name: string;
  /** trylock_page: one test_and_set_bit_lock(PG_locked). */
  trylockPage(t: Task, pfn: number): Step<boolean>;
  /** lock_page: fast path, else the algorithm's exclusive wait (__folio_lock). */
  lockPage(t: Task, pfn: number): Step<void>;
  /** lock_page_killable: 0 when the lock is taken, EINTR only when the task does not own it
   * (the result is computed after the wait entry has left the queue). */
  lockPageKillable(t: Task, pfn: number): Step<number>;
  /** unlock_page: one RMW clears PG_locked and reports PG_waiters; wake only then. */
  unlockPage(t: Task, pfn: number): Step<void>;
  /** wait_on_page_locked: a shared (non-exclusive) wait for PG_locked to clear. */
  waitOnPageLocked(t: Task, pfn: number): Step<void>;
  /** wait_on_page_writeback: loops while PG_writeback is set (c2407cf7d22d). */
  waitOnPageWriteback(t: Task, pfn: number): Step<void>;
  /** end_page_writeback's wake: clear PG_writeback, then wake PG_writeback waiters if PG_waiters. */
  endPageWriteback(t: Task, pfn: number): Step<void>;
}

export interface LockOptions {
  /** 5ef64cc8987a sysctl_page_lock_unfairness (v5.9-rc6 only); default 5 */
  unfairness?: number;
}

export type LockFactory = (o: LockOptions) => PageLock;
