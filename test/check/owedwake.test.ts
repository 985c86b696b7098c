// LOCK-WAKE by the owed wake-up accounting (src/locks/waitqueue.ts, "owed wake-ups"): the rule on
// hand-made states, the known lost wake-up of v5.9-rc6 stepped by hand, the clean algorithms
// explored with signals on (nothing), the pre-5.9 and bounded-unfairness locks without signals
// (nothing), and a bounded free run of the clean algorithms (nothing).
import { describe, expect, it } from 'vitest';
import { Shm, PG_locked, PG_waiters, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import type { ShmSizes } from '../../src/shm/layout.ts';
import {
  WQ_TASK_KILLABLE, listDelInit, lostSleeper, sleepMark, pageWaitQueue, unlockWalked, wakeOwedTo, wakeTokenReady,
} from '../../src/locks/waitqueue.ts';
import { EINTR, makeLock, sendFatalSignal } from '../../src/locks/index.ts';
import { spinTrylockDirect, spinUnlockDirect } from '../../src/check/lockstate.ts';
import { explore } from '../../src/sched/explore.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { readViolations } from '../../src/check/violations.ts';
import { Interleaver } from '../helpers/interleave.ts';

const SIZES: ShmSizes = {
  pages: 2, buckets: 1, tasks: 3, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
  flightEntries: 16, violationSlots: 8,
};

function fresh(): Shm {
  const shm = new Shm(SIZES);
  initShm(shm);
  shm.flags.fill(0);
  return shm;
}

/** Task 1 asleep on page 1's lock (exclusive, not woken, queued). */
function sleeper(flags: number, o: { linked?: boolean; owed?: number; wq?: number; fatal?: boolean } = {}): Shm {
  const shm = fresh();
  shm.flags[1] = flags;
  shm.wqPage[1] = 1;
  shm.wqBit[1] = 0;
  shm.wqFlags[1] = o.wq ?? WQ_FLAG_EXCLUSIVE;
  shm.wqLinked[1] = o.linked === false ? 0 : 1;
  sleepMark(shm, 1, 1);
  shm.wakeOwed[1] = o.owed ?? 0;
  shm.fatal[1] = o.fatal ? 1 : 0;
  return shm;
}

describe('the owed wake-up rule', () => {
  it('a queued sleeper on an unlocked page with no wake owed is lost', () => {
    expect(lostSleeper(sleeper(PG_waiters), 1)).toBe(1);
    expect(lostSleeper(sleeper(PG_waiters), 1, 1)).toBe(1);
    expect(lostSleeper(sleeper(PG_waiters), 0)).toBe(-1); // another page
  });

  it('covered: the page locked, a recorded owner, or a wake owed', () => {
    expect(lostSleeper(sleeper(PG_locked | PG_waiters), 1)).toBe(-1);
    expect(lostSleeper(sleeper(PG_waiters, { owed: 1 }), 1)).toBe(-1);
    const owned = sleeper(PG_waiters);
    owned.owner[1] = 2 + 1;
    expect(lostSleeper(owned, 1)).toBe(-1);
  });

  it('not a sleeper: woken, or killable with a fatal signal (it wakes itself)', () => {
    expect(lostSleeper(sleeper(PG_waiters, { wq: WQ_FLAG_EXCLUSIVE | WQ_FLAG_WOKEN }), 1)).toBe(-1);
    expect(lostSleeper(sleeper(PG_waiters, { wq: WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE, fatal: true }), 1)).toBe(-1);
    expect(lostSleeper(sleeper(PG_waiters, { wq: WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE }), 1)).toBe(1);
  });

  it('a sleeper on no queue is lost whatever the page: no walk can find it', () => {
    expect(lostSleeper(sleeper(PG_locked | PG_waiters, { linked: false, owed: 1 }), 1)).toBe(1);
  });
});

describe('the accounting in the lock steps', () => {
  const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);

  function tasks(lockName: string) {
    const shm = fresh();
    const lock = makeLock(lockName);
    return { shm, lock, ts: [0, 1, 2].map((id) => new Task({ id, shm, ops: kernelOps({ lock }) })) };
  }

  it('a plain contended lock / unlock owes and settles every wake-up, and reports nothing', () => {
    for (const name of ['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10']) {
      const { shm, lock, ts: [a, b] } = tasks(name);
      const il = new Interleaver();
      il.add('a', lock.lockPage(a, 0), a).runToEnd('a');
      il.add('b', lock.lockPage(b, 0), b);
      expect(il.runUntilBlocked('b'), name).toBe(true);
      expect(shm.wqSleep[b.id], name).toBe(0 + 1);
      il.add('u', lock.unlockPage(a, 0), a).runToEnd('u');
      il.runToEnd('b');
      il.add('u2', lock.unlockPage(b, 0), b).runToEnd('u2');
      expect(ids(shm), name).toEqual([]);
      expect([...shm.wakeOwed], name).toEqual([0, 0]);
      expect([...shm.wqToken, ...shm.unlockToken], name).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('an unlock with PG_waiters clear owes no walk and counts nothing; with PG_waiters set it owes and settles one', () => {
    for (const name of ['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10']) {
      const { shm, lock, ts: [a] } = tasks(name);
      const il = new Interleaver();
      il.add('a', lock.lockPage(a, 0), a).runToEnd('a');
      il.add('u', lock.unlockPage(a, 0), a).runToEnd('u');
      expect(shm.flags[0] & PG_locked, name).toBe(0);
      expect([shm.wakeUnlocks[0], shm.wakeOwed[0], shm.unlockToken[a.id]], name).toEqual([0, 0, 0]);
      il.add('a2', lock.lockPage(a, 0), a).runToEnd('a2');
      Atomics.or(shm.flags, 0, PG_waiters); // a waiter announced (gone again before it queued)
      il.add('u2', lock.unlockPage(a, 0), a).runToEnd('u2');
      expect([shm.wakeUnlocks[0], shm.wakeOwed[0], shm.unlockToken[a.id]], name).toEqual([1, 0, 0]);
      expect(ids(shm), name).toEqual([]);
    }
  });

  it('an unlock with PG_waiters clear still reports a sleeper nothing will wake (the bit lost while it slept), as settling its owed wake-up did', () => {
    for (const name of ['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10']) {
      const { shm, lock, ts: [a] } = tasks(name);
      const il = new Interleaver();
      il.add('a', lock.lockPage(a, 1), a).runToEnd('a');
      // task 1 asleep on page 1, queued, and PG_waiters clear: only the unlock can see it lost
      shm.wqPage[1] = 1;
      shm.wqBit[1] = 0;
      shm.wqFlags[1] = WQ_FLAG_EXCLUSIVE;
      shm.wqLinked[1] = 1;
      sleepMark(shm, 1, 1);
      expect(ids(shm), name).toEqual([]);
      il.add('u', lock.unlockPage(a, 1), a).runToEnd('u');
      expect(ids(shm), name).toEqual(['LOCK-WAKE']);
      expect(readViolations(shm)[0].values[0], name).toBe(1);
    }
  });

  it('v5.9-rc6: the killable waiter woken without the lock after its signal test leaves -EINTR with the wake; the waiter behind it is reported lost at once', () => {
    const { shm, lock, ts: [holder, killable, other] } = tasks('v5.9-rc6');
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('killable', lock.lockPageKillable(killable, 0), killable);
    expect(il.runUntilBlocked('killable')).toBe(true);
    il.add('other', lock.lockPage(other, 0), other);
    expect(il.runUntilBlocked('other')).toBe(true);
    il.add('kill', sendFatalSignal(holder, killable.id), holder).runToEnd('kill');
    il.runUntil('killable', 'finish_wait'); // broke out on the signal, still queued
    il.add('unlock', lock.unlockPage(holder, 0), holder).runToEnd('unlock'); // wakes it, not a hand-off
    expect(ids(shm)).toEqual([]); // the wake is owed by the woken waiter
    expect(il.runToEnd<number>('killable')).toBe(EINTR);
    expect(ids(shm)).toEqual(['LOCK-WAKE']);
    const [v] = readViolations(shm);
    expect(v.values.slice(0, 1)).toEqual([other.id]); // the sleeper named
  });

  it('v5.9-rc6, free-mode order: a waiter on its way to sleep that looks at its token between the waker\'s count and its WOKEN store does not settle that wake; nothing reported, nobody overtaken', () => {
    // the writeback scenario's false LOCK-WAKE: the wake is in flight, not one the waiter used up
    const { shm, lock, ts: [holder, a, c] } = tasks('v5.9-rc6');
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('a', lock.lockPage(a, 0), a).runUntil('a', 'io_schedule'); // queued, not yet asleep
    il.add('c', lock.lockPage(c, 0), c);
    expect(il.runUntilBlocked('c')).toBe(true); // queued behind a, asleep
    // unlock_page() by the holder, its walk stepped by hand so that a runs inside wakeEntry()'s
    // one step: the count (wakeOwedTo), then a, then the WOKEN store and the rest
    const b = pageWaitQueue(shm, 0);
    expect(lock.releasePageLock(holder, 0) & PG_waiters).toBe(PG_waiters);
    expect(spinTrylockDirect(shm, b)).toBe(true);
    expect(wakeOwedTo(shm, a.id, WQ_FLAG_WOKEN)).toBe(true); // v5.9-rc6's wake of a non-CUSTOM waiter
    expect(il.step('a')).toBe('blocked'); // io_schedule(): a goes to sleep with WOKEN not yet stored
    Atomics.or(shm.wqFlags, a.id, WQ_FLAG_WOKEN);
    wakeTokenReady(shm, a.id);
    listDelInit(shm, b, a.id);
    spinUnlockDirect(shm, b);
    unlockWalked(holder, 0); // the walk is over: the unlock's own owed wake-up is settled
    expect(ids(shm)).toEqual([]); // c is covered: the wake in flight to a is still owed
    expect(shm.wakeOwed[0]).toBe(1);
    il.runToEnd('a'); // woken: takes the bit itself
    il.add('ua', lock.unlockPage(a, 0), a).runToEnd('ua');
    il.runToEnd('c');
    il.add('uc', lock.unlockPage(c, 0), c).runToEnd('uc');
    expect(ids(shm)).toEqual([]);
    expect(shm.wakeMissed[a.id]).toBe(0); // a was never overtaken
    expect([...shm.wakeOwed]).toEqual([0, 0]);
    expect([...shm.wqToken, ...shm.unlockToken]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('v5.9-rc6, the same order after a was overtaken once: the wake before is used up, the one in flight is still owed', () => {
    const { shm, lock, ts: [holder, a, c] } = tasks('v5.9-rc6');
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('a', lock.lockPage(a, 0), a);
    expect(il.runUntilBlocked('a')).toBe(true);
    il.add('u1', lock.unlockPage(holder, 0), holder).runToEnd('u1'); // wakes a without the lock
    il.add('steal', lock.trylockPage(holder, 0), holder);
    expect(il.runToEnd<boolean>('steal')).toBe(true);
    il.runUntil('a', 'test_and_set_bit').runUntil('a', 'io_schedule'); // overtaken: re-queued, not yet asleep
    il.add('c', lock.lockPage(c, 0), c);
    expect(il.runUntilBlocked('c')).toBe(true);
    const b = pageWaitQueue(shm, 0);
    expect(lock.releasePageLock(holder, 0) & PG_waiters).toBe(PG_waiters);
    expect(spinTrylockDirect(shm, b)).toBe(true);
    expect(wakeOwedTo(shm, a.id, WQ_FLAG_WOKEN)).toBe(true);
    expect(il.step('a')).toBe('blocked'); // settles the first wake only
    Atomics.or(shm.wqFlags, a.id, WQ_FLAG_WOKEN);
    wakeTokenReady(shm, a.id);
    listDelInit(shm, b, a.id);
    spinUnlockDirect(shm, b);
    unlockWalked(holder, 0);
    expect(ids(shm)).toEqual([]);
    expect(shm.wakeOwed[0]).toBe(1);
    expect(shm.wakeMissed[a.id]).toBe(1);
    il.runToEnd('a');
    il.add('ua', lock.unlockPage(a, 0), a).runToEnd('ua');
    il.runToEnd('c');
    il.add('uc', lock.unlockPage(c, 0), c).runToEnd('uc');
    expect(ids(shm)).toEqual([]);
    expect([...shm.wakeOwed]).toEqual([0, 0]);
    expect([...shm.wqToken, ...shm.unlockToken]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('v5.9-rc6-wakepass, the same race: the wake is passed on, nothing reported', () => {
    const { shm, lock, ts: [holder, killable, other] } = tasks('v5.9-rc6-wakepass');
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('killable', lock.lockPageKillable(killable, 0), killable);
    expect(il.runUntilBlocked('killable')).toBe(true);
    il.add('other', lock.lockPage(other, 0), other);
    expect(il.runUntilBlocked('other')).toBe(true);
    il.add('kill', sendFatalSignal(holder, killable.id), holder).runToEnd('kill');
    il.runUntil('killable', 'finish_wait');
    il.add('unlock', lock.unlockPage(holder, 0), holder).runToEnd('unlock');
    expect(il.runToEnd<number>('killable')).toBe(EINTR);
    il.runToEnd('other');
    expect(ids(shm)).toEqual([]);
  });
});

const cfgFor = (lock: string, signals: boolean): RunConfig => ({
  ...DEFAULTS, scenario: 'locks', lock, workers: 3, pages: 1, buckets: 4, extra: { signals },
});

function exploreRandom(lock: string, signals: boolean, seed: string, iterations: number) {
  return explore({
    scenario: locksScenario, cfg: cfgFor(lock, signals), lock: makeLock(lock), strategies: [{ kind: 'random', depth: 3 }],
    iterations, opsPerActor: 4, seed,
  });
}

describe('controlled: the clean algorithms never trip it', () => {
  for (const lock of ['v5.9', 'v5.9-rc6-wakefix', 'v5.9-rc6-wakepass']) {
    it(`${lock}, signals on: nothing in 1,500 random-walk iterations`, () => {
      const r = exploreRandom(lock, true, '1', 1500);
      expect(r.finds.map((f) => f.violation.message)).toEqual([]);
      expect(r.stats.iterations).toBe(1500);
    }, 60_000);
  }
  for (const lock of ['v4.10', 'v4.14', 'v5.9-rc6', 'v5.10']) {
    it(`${lock}, signals off: nothing in 1,500 random-walk iterations`, () => {
      const r = exploreRandom(lock, false, '1', 1500);
      expect(r.finds.map((f) => f.violation.message)).toEqual([]);
    }, 60_000);
  }
  it('v5.9-rc6, signals on: the killable lost wake-up is found as LOCK-WAKE (seed 2 within 2,000 iterations)', () => {
    const r = exploreRandom('v5.9-rc6', true, '2', 2000);
    expect(r.finds.map((f) => f.violation.id)).toEqual(['LOCK-WAKE']);
  }, 60_000);
});

describe('free: the clean algorithms never trip it (bounded by operations)', () => {
  for (const lock of ['v5.9', 'v5.9-rc6-wakefix', 'v5.9-rc6-wakepass']) {
    it(`${lock}: 4 workers on one page, 10,000 operations each, signals on: no violation`, { timeout: 60_000 }, async () => {
      const r = await runStress({
        ...DEFAULTS, scenario: 'locks', lock, workers: 4, pages: 1, seed: '1', durationMs: 0, ops: 10_000, perturb: 'low',
        hungMs: 30_000, reproduce: false, extra: { signals: true },
      });
      expect(r.violations.map((v) => v.message)).toEqual([]);
    });
  }
});
