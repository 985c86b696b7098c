// The self-test lock mutants of this directory, registered hidden in the lock registry
// (`--lock NAME` accepts them; listings do not show them). What each must trip is declared in its
// file and as a matrix cell (src/variants/scenarios/cells.ts). Built from the real algorithms with one deliberate change each; the checker
// knows nothing about them (never special-case a mutant in the checker).
import { registerLock } from '../../locks/index.ts';
import { PageLockNowake } from './lock-nowake.ts';
import { PageLockKillableEintr } from './lock-killable-eintr.ts';
import { PageLockHandoffNobit } from './lock-handoff-nobit.ts';

registerLock('lock-nowake', () => new PageLockNowake(), {
  description: 'self-test: v5.9 hand-off lock whose unlock never wakes the waiters', hidden: true,
});
registerLock('lock-killable-eintr', () => new PageLockKillableEintr(), {
  description: 'self-test: v5.9 killable lock returns -EINTR after the waker already handed it the lock (lock held by nobody)', hidden: true,
});
registerLock('lock-handoff-nobit', () => new PageLockHandoffNobit(), {
  description: 'self-test: v5.9 waker marks the waiter DONE without taking PG_locked for it (two owners)', hidden: true,
});
