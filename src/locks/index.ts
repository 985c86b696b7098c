// The lock_page algorithms by name. The three public ones model kernel history (§5 of
// kernel-protocols.md); plug-ins and self-test locks register here too, hidden from listings.
import type { LockFactory, LockOptions, PageLock } from './types.ts';
import { PageLockV4_10 } from './v4_10.ts';
import { PageLockV5_9 } from './v5_9.ts';
import { PageLockV5_9_rc6 } from './v5_9_rc6.ts';
import { PageLockBustedNowake } from '../variants/mutants/lock-busted-nowake.ts';
import { PageLockBustedNoexcl } from '../variants/mutants/lock-busted-noexcl.ts';
import { PageLockBustedUnfair } from '../variants/mutants/lock-busted-unfair.ts';

export type { LockFactory, LockOptions, PageLock } from './types.ts';
export { EINTR } from './types.ts';
export { sendFatalSignal, checkWaiters, lockHandoffPending, spinUnlockDirect, spinTrylockDirect, pageWaitQueue } from './waitqueue.ts';
export { DEFAULT_UNFAIRNESS } from './v5_9_rc6.ts';

export interface LockInfo {
  name: string;
  description: string;
  /** not listed by lockNames() / --help: self-test and test-only locks */
  hidden: boolean;
  factory: LockFactory;
}

export const DEFAULT_LOCK = 'v5.9-rc6';

/** The public algorithms, in kernel order. */
export const LOCKS: Readonly<Record<string, { description: string; factory: LockFactory }>> = Object.freeze({
  'v4.10': {
    description: '4.10-5.8 wake one, then race: the woken waiter re-races fast-path lockers and re-queues at the tail (unfair)',
    factory: () => new PageLockV4_10(),
  },
  'v5.9': {
    description: '5.9 fair hand-off (2a9127fcf229): the waker takes the lock for the first queued exclusive waiter',
    factory: () => new PageLockV5_9(),
  },
  'v5.9-rc6': {
    description: 'bounded unfairness (5ef64cc8987a, mainline): a woken waiter may lose to stealers k times (--unfairness, default 5), then gets a hand-off',
    factory: (o: LockOptions) => new PageLockV5_9_rc6(o),
  },
});

const registry = new Map<string, LockInfo>();

export function registerLock(name: string, factory: LockFactory, o: { description: string; hidden?: boolean }): void {
  if (registry.has(name)) throw new Error(`lock '${name}' is already registered`);
  registry.set(name, { name, description: o.description, hidden: o.hidden ?? false, factory });
}

for (const [name, l] of Object.entries(LOCKS)) registerLock(name, l.factory, { description: l.description });
registerLock('busted-nowake', (o) => new PageLockBustedNowake(o), {
  description: 'self-test: unlock never wakes waiters (they sleep forever)', hidden: true,
});
registerLock('busted-noexcl', (o) => new PageLockBustedNoexcl(o), {
  description: 'self-test: trylock is a non-atomic check-then-set (two owners)', hidden: true,
});
registerLock('busted-unfair', (o) => new PageLockBustedUnfair(o), {
  description: 'self-test: v5.9-rc6 without the hand-off after k steals (unbounded unfairness)', hidden: true,
});

/** Registered lock names; hidden ones only when asked. */
export function lockNames(o: { hidden?: boolean } = {}): string[] {
  return [...registry.values()].filter((l) => o.hidden || !l.hidden).map((l) => l.name);
}

export function lockInfo(name: string): LockInfo | undefined {
  return registry.get(name);
}

export function makeLock(name: string, opts: LockOptions = {}): PageLock {
  const l = registry.get(name);
  if (!l) throw new Error(`unknown lock '${name}' (known: ${lockNames({ hidden: true }).join(', ')})`);
  return l.factory(opts);
}
