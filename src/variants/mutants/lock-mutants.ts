// The self-test lock mutants of this directory, registered hidden in the lock registry
// (`--lock NAME` accepts them; listings do not show them), each with the matrix cell that says
// what it must trip (LOCK_MUTANT_CELLS, registered by src/matrix). Built from the real algorithms with one deliberate change each; the checker
// knows nothing about them (never special-case a mutant in the checker).
import { registerLock } from '../../locks/index.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import { lockNowake } from './lock-nowake.ts';
import { lockKillableEintr } from './lock-killable-eintr.ts';
import { lockHandoffNobit } from './lock-handoff-nobit.ts';
import { lockBustedNowake } from './lock-busted-nowake.ts';
import { lockBustedNoexcl } from './lock-busted-noexcl.ts';
import { lockBustedUnfair } from './lock-busted-unfair.ts';

registerLock('lock-nowake', lockNowake, {
  description: 'self-test: v5.9 hand-off lock whose unlock never wakes the waiters', hidden: true,
});
registerLock('lock-killable-eintr', lockKillableEintr, {
  description: 'self-test: v5.9 killable lock returns -EINTR after the waker already handed it the lock (lock held by nobody)', hidden: true,
});
registerLock('lock-handoff-nobit', lockHandoffNobit, {
  description: 'self-test: v5.9 waker marks the waiter DONE without taking PG_locked for it (two owners)', hidden: true,
});
// locktorture's busted locks, over v5.9-rc6 (their cells: src/matrix/cells.ts)
registerLock('busted-nowake', lockBustedNowake, {
  description: 'self-test: unlock never wakes waiters (they sleep forever)', hidden: true,
});
registerLock('busted-noexcl', lockBustedNoexcl, {
  description: 'self-test: trylock is a non-atomic check-then-set (two owners)', hidden: true,
});
registerLock('busted-unfair', lockBustedUnfair, {
  description: 'self-test: v5.9-rc6 without the hand-off after k steals (unbounded unfairness)', hidden: true,
});

/** The locks scenario on one page, so every locker contends and every unlock has waiters. */
const ONE_PAGE = { workers: 4, pages: 1 } as const;
const CONTROLLED = { workers: 3, opsPerActor: 4 } as const;

export const LOCK_MUTANT_CELLS: readonly CellSpec[] = [
{
  name: 'locks/lock-nowake', scenario: 'locks', cfg: { lock: 'lock-nowake', ...ONE_PAGE }, controlled: CONTROLLED,
  expected: { breaks: ['LOCK-WAKE', 'HUNG', 'DEADLOCK'] }, hidden: true,
  reasoning: 'unlock_page() never wakes: the first waiter that queues sleeps forever on an unlocked page (free: LOCK-WAKE and '
    + 'HUNG from the watchdog; controlled: no runnable actor, DEADLOCK)',
  source: 'src/variants/mutants/lock-nowake.ts; kernel-protocols §5.2, §5.6',
},
{
  name: 'locks/lock-handoff-nobit', scenario: 'locks', cfg: { lock: 'lock-handoff-nobit', ...ONE_PAGE }, controlled: CONTROLLED,
  expected: { breaks: ['LOCK-EXCL', 'LOCK-UNLOCK'] }, hidden: true,
  reasoning: 'the hand-off marks the waiter as owner without setting PG_locked: a fast-path locker takes the page too '
    + '(LOCK-EXCL), or the waiter unlocks a page that is not locked (LOCK-UNLOCK)',
  source: 'src/variants/mutants/lock-handoff-nobit.ts; 2a9127fcf229 wake_page_function(), kernel-protocols §5.6',
},
{
  name: 'locks/lock-killable-eintr', scenario: 'locks', cfg: { lock: 'lock-killable-eintr', ...ONE_PAGE }, controlled: CONTROLLED,
  expected: { breaks: ['DEADLOCK', 'HUNG', 'LOCK-LEAK'] }, hidden: true,
  reasoning: 'a killable waiter handed the lock between its signal test and finish_wait() returns -EINTR: PG_locked stays set '
    + 'with no owner, and the next locker of the page sleeps forever (controlled: DEADLOCK; free: HUNG). Needs a signal to '
    + 'land on a queued killable waiter just before a hand-off: controlled mode finds it in a few hundred iterations',
  source: 'src/variants/mutants/lock-killable-eintr.ts; kernel-protocols §5.8 ("only after the finish_wait() can we reliably determine if we got woken up or not")',
},
];
