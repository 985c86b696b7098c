// The killable-wait lost wake-up of mainline's page lock (5ef64cc8987a, src/locks/v5_9_rc6.ts) and
// its two proposed fixes, v5.9-rc6-wakefix and v5.9-rc6-wakepass (src/locks/v5_9_rc6_wakefix.ts;
// docs/findings/killable-lost-wakeup.md).
//
// 1. The shrunk interleaving, stepped by hand: a killable waiter breaks out on a fatal signal, the
//    unlock wakes it (WOKEN, not DONE) before its finish_wait(), the walk ends there. Mainline
//    leaves the waiter queued behind it asleep on an unlocked page; both fixes do not.
// 2. Controlled exploration (deterministic: seed + iteration give the schedule): the locks scenario
//    with signals finds the lost wake-up (LOCK-WAKE) on mainline at a fixed iteration of seed 1; the fixed locks show
//    nothing on the same iterations. With the hook reverted to mainline's `return EINTR` both fixed
//    locks fail these tests.
import { describe, expect, it } from 'vitest';
import { EINTR, makeLock, pageWaitQueue, sendFatalSignal } from '../../src/locks/index.ts';
import { queuedEntries } from '../../src/locks/waitqueue.ts';
import { explore } from '../../src/sched/explore.ts';
import type { StrategySpec } from '../../src/sched/strategies/index.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { Shm, PG_locked, PG_waiters } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';
import { Interleaver } from '../helpers/interleave.ts';

const FIXED = ['v5.9-rc6-wakefix', 'v5.9-rc6-wakepass'] as const;

/**
 * T0 holds page 0; T1 waits killable, T2 waits (lock_page) behind it; T3 sends T1 a SIGKILL; T1
 * breaks out of its wait loop and stops before finish_wait(); T0 unlocks: its walk wakes T1, the
 * first exclusive entry, without taking the lock for it (T1's first pass is not CUSTOM) and ends;
 * then T1 finishes its wait.
 */
function lostWakeRace(lockName: string) {
  const shm = new Shm({
    pages: 1, buckets: 1, tasks: 4, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
    flightEntries: 16, violationSlots: 8,
  });
  initShm(shm);
  shm.flags.fill(0);
  const lock = makeLock(lockName);
  const [holder, waiter, behind, killer] = [0, 1, 2, 3].map((id) => new Task({ id, shm, ops: kernelOps({ lock }) }));
  const il = new Interleaver();
  il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
  il.add('waiter', lock.lockPageKillable(waiter, 0), waiter);
  expect(il.runUntilBlocked('waiter')).toBe(true);
  il.add('behind', lock.lockPage(behind, 0), behind);
  expect(il.runUntilBlocked('behind')).toBe(true);
  expect(queuedEntries(shm, pageWaitQueue(shm, 0))).toEqual([1, 2]);
  il.add('killer', sendFatalSignal(killer, waiter.id), killer).runToEnd('killer');
  il.runUntil('waiter', 'finish_wait'); // saw the signal, broke out; its entry is still queued
  il.add('unlock', lock.unlockPage(holder, 0), holder).runToEnd('unlock');
  expect(queuedEntries(shm, pageWaitQueue(shm, 0))).toEqual([2]); // the walk woke T1 and stopped
  const ret = il.runToEnd<number>('waiter');
  return { shm, il, lock, waiter, ret };
}

describe('the lost wake-up, stepped by hand', () => {
  it('v5.9-rc6 (mainline): T1 returns -EINTR, T2 sleeps on an unlocked page and nobody will wake it', () => {
    const { shm, il, ret } = lostWakeRace('v5.9-rc6');
    expect(ret).toBe(EINTR);
    expect(shm.flags[0] & PG_locked).toBe(0);
    expect(shm.flags[0] & PG_waiters).toBeTruthy(); // left set: only the next unlock would look
    expect(il.blocked('behind')).toBe(true);
    expect(() => il.runAll()).toThrow(/deadlock/);
  });

  it('v5.9-rc6-wakefix: T1 takes the lock after all (0, owner, signal still pending); its unlock wakes T2', () => {
    const { shm, il, lock, waiter, ret } = lostWakeRace('v5.9-rc6-wakefix');
    expect(ret).toBe(0);
    expect(shm.owner[0]).toBe(waiter.id + 1);
    expect(shm.flags[0] & PG_locked).toBeTruthy();
    expect(shm.fatal[waiter.id]).toBe(1); // not delivered: the caller owns the lock, as after a hand-off
    il.add('unlock1', lock.unlockPage(waiter, 0), waiter).runToEnd('unlock1');
    expect(il.blocked('behind')).toBe(false);
    il.runToEnd('behind');
    expect(shm.owner[0]).toBe(2 + 1);
  });

  it('v5.9-rc6-wakefix: when the page was re-locked before T1 looks, -EINTR, and the new owner wakes T2', () => {
    const shm = new Shm({
      pages: 1, buckets: 1, tasks: 5, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
      flightEntries: 16, violationSlots: 8,
    });
    initShm(shm);
    shm.flags.fill(0);
    const lock = makeLock('v5.9-rc6-wakefix');
    const [holder, waiter, behind, killer, thief] = [0, 1, 2, 3, 4].map((id) => new Task({ id, shm, ops: kernelOps({ lock }) }));
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('waiter', lock.lockPageKillable(waiter, 0), waiter);
    il.runUntilBlocked('waiter');
    il.add('behind', lock.lockPage(behind, 0), behind);
    il.runUntilBlocked('behind');
    il.add('killer', sendFatalSignal(killer, waiter.id), killer).runToEnd('killer');
    il.runUntil('waiter', 'finish_wait');
    il.add('unlock', lock.unlockPage(holder, 0), holder).runToEnd('unlock');
    il.add('thief', lock.trylockPage(thief, 0), thief);
    expect(il.runToEnd<boolean>('thief')).toBe(true); // a fast-path locker steals the page
    expect(il.runToEnd<number>('waiter')).toBe(EINTR);
    expect(shm.fatal[waiter.id]).toBe(0); // delivered with the -EINTR
    expect(il.blocked('behind')).toBe(true);
    il.add('unlock2', lock.unlockPage(thief, 0), thief).runToEnd('unlock2');
    il.runToEnd('behind');
    expect(shm.owner[0]).toBe(behind.id + 1);
  });

  it('v5.9-rc6-wakepass: T1 returns -EINTR and passes the wake-up on: T2 is woken and takes the lock', () => {
    const { shm, il, ret, waiter } = lostWakeRace('v5.9-rc6-wakepass');
    expect(ret).toBe(EINTR);
    expect(shm.owner[0]).toBe(0);
    expect(shm.fatal[waiter.id]).toBe(0);
    expect(il.blocked('behind')).toBe(false);
    il.runToEnd('behind');
    expect(shm.owner[0]).toBe(2 + 1);
  });
});

// ---- controlled exploration --------------------------------------------------------------------

/** As the CLI's `explore --scenario locks --signals --workers 3 --ops-per-actor 4` (64 pages). */
const cfgFor = (lock: string): RunConfig => ({ ...DEFAULTS, scenario: 'locks', lock, workers: 3, extra: { signals: true } });
const RANDOM: StrategySpec[] = [{ kind: 'random', depth: 3 }];

function exploreLock(lock: string, o: { iterations: number; ops?: Op[][] }) {
  return explore({
    scenario: locksScenario, cfg: cfgFor(lock), lock: makeLock(lock), strategies: RANDOM,
    iterations: o.iterations, opsPerActor: 4, seed: '1', ops: o.ops,
  });
}

/** The workload of the shrunk find (docs/findings/killable-lost-wakeup.repro.json). */
const SHRUNK_OPS: Op[][] = [
  [{ kind: 'killable', args: [0, 3] }],
  [{ kind: 'signal', args: [0] }, { kind: 'lock', args: [0, 2] }, { kind: 'trylock', args: [0, 2] }],
  [{ kind: 'lock', args: [0, 2] }],
];

/** Seed 1, random walk: mainline's first find is iteration 22,288 (0-based). */
const FIND_ITERATION = 22_288;
const BUDGET = 30_000;

describe('controlled exploration, locks scenario with fatal signals, seed 1', () => {
  // the owed wake-up accounting (src/locks/waitqueue.ts) reports it the instant the woken waiter
  // leaves with the wake-up (before it, the controlled driver saw the same iteration as DEADLOCK)
  it(`v5.9-rc6: LOCK-WAKE (a waiter asleep on an unlocked page, no wake owed) at iteration ${FIND_ITERATION}`, () => {
    const r = exploreLock('v5.9-rc6', { iterations: BUDGET });
    expect(r.finds).toHaveLength(1);
    const f = r.finds[0];
    expect(f.iteration).toBe(FIND_ITERATION);
    expect(f.violation.id).toBe('LOCK-WAKE');
    expect(f.violation.message).toMatch(/sleeper \d+, flags PG_waiters, queued 1$/);
  }, 60_000);

  for (const lock of FIXED)
    it(`${lock}: nothing in the first ${BUDGET.toLocaleString('en')} iterations`, () => {
      const r = exploreLock(lock, { iterations: BUDGET });
      expect(r.finds.map((f) => f.violation.message)).toEqual([]);
      expect(r.stats.iterations).toBe(BUDGET);
    }, 60_000);

  it('the shrunk workload under 3,000 random schedules: mainline loses the wake-up, the fixes never do', () => {
    const main = exploreLock('v5.9-rc6', { iterations: 3_000, ops: SHRUNK_OPS });
    expect(main.finds.map((f) => f.violation.id)).toEqual(['LOCK-WAKE']);
    for (const lock of FIXED) {
      const r = exploreLock(lock, { iterations: 3_000, ops: SHRUNK_OPS });
      expect(r.finds.map((f) => `${lock}: ${f.violation.message}`)).toEqual([]);
    }
  }, 60_000);
});
