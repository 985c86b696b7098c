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
import { lockWaitersLate } from './lock-waiters-late.ts';
import { lockNorequeue } from './lock-norequeue.ts';
import { lockWakeSkipKillable } from './lock-wake-skip-killable.ts';
import { lockWaitersCleared } from './lock-waiters-cleared.ts';
import { lockFinishwaitClears } from './lock-finishwait-clears.ts';
import { lockSignalFirst } from './lock-signal-first.ts';
import { lockWaitersUnlocked } from './lock-waiters-unlocked.ts';

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
// the wake-up self-test set: one mistake each in the set-waiters, queue, wake, finish-wait and
// signal steps, each a lost wake-up for the owed wake-up accounting (LOCK-WAKE) to catch
registerLock('lock-waiters-late', lockWaitersLate, {
  description: 'self-test: v5.9 sets PG_waiters after its last check (when it queues), not before', hidden: true,
});
registerLock('lock-waiters-unlocked', lockWaitersUnlocked, {
  description: 'self-test: v5.9 sets PG_waiters before taking the wait-queue lock (a concurrent walk clears it)', hidden: true,
});
registerLock('lock-norequeue', lockNorequeue, {
  description: 'self-test: v4.14 woken waiter that lost the race does not queue again (sleeps on no queue)', hidden: true,
});
registerLock('lock-wake-skip-killable', lockWakeSkipKillable, {
  description: 'self-test: v4.14 wake function skips every killable waiter as already running', hidden: true,
});
registerLock('lock-waiters-cleared', lockWaitersCleared, {
  description: 'self-test: v5.9 clears PG_waiters after every walk, with waiters still queued', hidden: true,
});
registerLock('lock-finishwait-clears', lockFinishwaitClears, {
  description: 'self-test: v5.9 finish_wait() of a leaving waiter clears PG_waiters', hidden: true,
});
registerLock('lock-signal-first', lockSignalFirst, {
  description: 'self-test: v4.14 tests the fatal signal before the lock (a8b169afbf06 reverted): a woken killable waiter leaves with the wake', hidden: true,
});

/** The locks scenario on one page, so every locker contends and every unlock has waiters. */
const ONE_PAGE = { workers: 4, pages: 1 } as const;
const CONTROLLED = { workers: 3, opsPerActor: 4 } as const;
/** Lost wake-ups are explored with the random walk (see the locks/v5.9-rc6 cell). */
const WAKE_CONTROLLED = { workers: 4, opsPerActor: 4, strategy: 'random' } as const;
const WAKE_BREAKS = ['LOCK-WAKE', 'LOCK-WAITERS', 'DEADLOCK', 'HUNG'] as const;
/** Over the pre-5.9 lock, which is unfair without bound (LOCK-FAIR fires within seconds on one hot
 * page): the run allows k = 1000 overtakes, so the cell shows the wake-up mistake, not the
 * algorithm's known starvation (locks/v4.14-starve checks that). */
export const PRE_5_9_WAKE = { unfairness: 1000 } as const;
const wakeCell = (lock: string, reasoning: string, source: string, cfg: { unfairness?: number; pages?: number } = {}, modes?: CellSpec['modes']): CellSpec => ({
  name: `locks/${lock}`, scenario: 'locks', cfg: { lock, ...ONE_PAGE, ...cfg }, controlled: WAKE_CONTROLLED,
  expected: { breaks: [...WAKE_BREAKS] }, hidden: true, reasoning, source: `src/variants/mutants/${lock}.ts; ${source}`,
  ...(modes ? { modes } : {}),
});

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
wakeCell('lock-waiters-late',
  'PG_waiters is set after the failed trylock: an unlock between the two skips the walk and the waiter sleeps on an unlocked '
    + 'page with no wake owed (LOCK-WAKE at its io_schedule(); then DEADLOCK / HUNG)',
  '2a9127fcf229 wait_on_page_bit_common(): SetPageWaiters() before the last test, kernel-protocols §5.6'),
wakeCell('lock-waiters-unlocked',
  'PG_waiters set outside the queue lock: a walk that found no waiter of the page clears it after our set, we queue behind a clear '
    + 'PG_waiters and the next unlock skips the walk (LOCK-WAKE when it settles; LOCK-WAITERS in free mode)',
  '2a9127fcf229 wait_on_page_bit_common(): SetPageWaiters() under q->lock, kernel-protocols §5.6'),
wakeCell('lock-norequeue',
  'a woken waiter that lost the race to a stealer sleeps without queueing again: no walk can find it (LOCK-WAKE: asleep on no queue)',
  'the 4.14 loop\'s `if (list_empty(&wait->entry)) __add_wait_queue_entry_tail()`, kernel-protocols §5.3', PRE_5_9_WAKE),
wakeCell('lock-wake-skip-killable',
  'the wake function skips killable sleepers that have no signal: the walk wakes nobody and settles with them asleep on an '
    + 'unlocked page (LOCK-WAKE)',
  'autoremove_wake_function() fails only for a running task, kernel-protocols §5.3', PRE_5_9_WAKE),
wakeCell('lock-waiters-cleared',
  'PG_waiters cleared after every walk: the waiters behind the one handed the lock are skipped by the next unlock (LOCK-WAKE when '
    + 'that unlock settles; LOCK-WAITERS in free mode)',
  'wake_up_page_bit(): ClearPageWaiters only `if (!waitqueue_active(q) || !key.page_match)`, kernel-protocols §5.1'),
wakeCell('lock-finishwait-clears',
  'a killable waiter leaving on a fatal signal clears PG_waiters in finish_wait(): the waiters still queued are skipped by the next '
    + 'unlock (LOCK-WAKE; LOCK-WAITERS in free mode). Needs a signal on a queued waiter with another queued behind or before it',
  'finish_wait() only unlinks the entry, kernel-protocols §5.1'),
// On one page free mode never showed it: the woken waiter's thread runs tens of microseconds after
// the futex wake, and by then another locker of the hot page has nearly always taken the lock
// again (its unlock will walk, so the sleepers behind are covered: no wake-up is lost). Measured
// (10 s, seeds 1-3, one page): 855-1,119 waiters left with a wake-up and -EINTR, 108-163 of
// them with another waiter asleep behind, 1-5 with the page unlocked at that instant, each time
// with another unlock's walk in flight. On 8 pages the next locker is often elsewhere.
wakeCell('lock-signal-first',
  'the signal is tested before the lock: a woken killable waiter with a signal pending leaves with the exclusive wake-up and the '
    + 'waiters behind it sleep on an unlocked page (LOCK-WAKE when its wake is settled). 8 pages, not 1: the loss shows only if '
    + 'nobody locks the page again before the woken waiter runs, which on one hot page (free mode) almost never happens',
  'a8b169afbf06 (the bit is tested before the signal; src/locks/v4_14.ts), kernel-protocols §5.3', { ...PRE_5_9_WAKE, pages: 8 }),
];
