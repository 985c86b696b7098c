// lock_page behind one table: the PageLockOps of src/kernel/task.ts. Its entries are protocol
// generators (they yield schedule points and wait/wake effects and never block by themselves),
// except the few steps that have no schedule point of their own (initWaitPage, releasePageLock).
import type { LockOptions, PageLockOps } from '../kernel/task.ts';

export { EINTR, type LockOptions, type PageLockOps, type WakeKey } from '../kernel/task.ts';
/** The lock table under its older name. */
export type PageLock = PageLockOps;

export type LockFactory = (o: LockOptions) => PageLockOps;
