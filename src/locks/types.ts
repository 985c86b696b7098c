// lock_page behind one table: the PageLockOps of src/kernel/ops.ts. Every entry is a protocol
// generator: it yields schedule points and wait/wake effects and never blocks by itself.
import type { LockOptions, PageLockOps } from '../kernel/ops.ts';

export { EINTR, type LockOptions, type PageLockOps } from '../kernel/ops.ts';
/** The lock table under its older name. */
export type PageLock = PageLockOps;

export type LockFactory = (o: LockOptions) => PageLockOps;
