// The lock self-test mutants (src/variants/mutants/lock-*.ts): each caught in controlled mode, in
// the locks scenario on one hot page, for seeds 1-5 within a bounded number of iterations, as the
// invariant its file names; the real v5.9 lock they are built from shows nothing on the same
// exploration. The killable mutant's window is also stepped by hand.
import { kernelOps } from '../../src/variants/index.ts';
import { describe, expect, it } from 'vitest';
import '../../src/variants/mutants/lock-mutants.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { EINTR, lockInfo, lockNames, makeLock, sendFatalSignal } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { Shm, PG_locked } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';
import { Interleaver } from '../helpers/interleave.ts';

const cfgFor = (lock: string): RunConfig => ({ ...DEFAULTS, scenario: 'locks', lock, workers: 3, pages: 1, buckets: 4, extra: {} });

function exploreLock(lock: string, seed: string, iterations: number) {
  return explore({ scenario: locksScenario, cfg: cfgFor(lock), lock: makeLock(lock), strategies: portfolio(3), iterations, opsPerActor: 4, seed });
}

const MUTANTS: [string, string[], number][] = [
  // name, invariants it must trip, iteration budget per seed
  ['lock-nowake', ['DEADLOCK', 'LOCK-WAKE', 'HUNG'], 50],
  ['lock-handoff-nobit', ['LOCK-EXCL', 'LOCK-UNLOCK'], 50],
  ['lock-killable-eintr', ['DEADLOCK', 'HUNG', 'LOCK-LEAK'], 2500],
];

describe('lock mutants', () => {
  it('are registered hidden: accepted by name, not listed', () => {
    for (const [name] of MUTANTS) {
      expect(lockInfo(name)?.hidden, name).toBe(true);
      expect(lockNames()).not.toContain(name);
      expect(lockNames({ hidden: true })).toContain(name);
    }
  });

  for (const [name, ids, budget] of MUTANTS) {
    it(`${name}: caught as ${ids.join(' / ')} for seeds 1-5 within ${budget} iterations`, () => {
      for (const seed of ['1', '2', '3', '4', '5']) {
        const r = exploreLock(name, seed, budget);
        expect(r.finds.length, `seed ${seed}`).toBe(1);
        expect(ids, `seed ${seed}: ${r.finds[0].violation.message}`).toContain(r.finds[0].violation.id);
      }
    }, 30_000);
  }

  it('the v5.9 lock they are built from: nothing in the same 2,500 iterations of seed 1', () => {
    const r = exploreLock('v5.9', '1', 2500);
    expect(r.finds).toEqual([]);
    expect(r.stats.iterations).toBe(2500);
  }, 30_000);
});

describe('lock-killable-eintr by hand: the hand-off lands between the signal test and finish_wait()', () => {
  function race(lockName: string) {
    const shm = new Shm({
      pages: 1, buckets: 1, tasks: 3, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
      flightEntries: 16, violationSlots: 8,
    });
    initShm(shm);
    shm.flags.fill(0);
    const lock = makeLock(lockName);
    const [holder, waiter, killer] = [0, 1, 2].map((id) => new Task({ id, shm, ops: kernelOps({ lock }) }));
    const il = new Interleaver();
    il.add('holder', lock.lockPage(holder, 0), holder).runToEnd('holder');
    il.add('waiter', lock.lockPageKillable(waiter, 0), waiter);
    expect(il.runUntilBlocked('waiter')).toBe(true); // queued, asleep
    il.add('killer', sendFatalSignal(killer, waiter.id), killer).runToEnd('killer');
    il.runUntil('waiter', 'finish_wait'); // woke on the signal, broke out, entry still queued
    il.add('unlock', lock.unlockPage(holder, 0), holder).runToEnd('unlock'); // hand-off to the queued waiter
    return { shm, ret: il.runToEnd<number>('waiter') };
  }

  it('v5.9: the result is read after finish_wait(): 0, the waiter owns the lock', () => {
    const { shm, ret } = race('v5.9');
    expect(ret).toBe(0);
    expect(shm.owner[0]).toBe(1 + 1); // shadow owner = task id + 1
  });

  it('mutant: -EINTR, and PG_locked stays set with no owner (the lock leaked)', () => {
    const { shm, ret } = race('lock-killable-eintr');
    expect(ret).toBe(EINTR);
    expect(shm.flags[0] & PG_locked).toBeTruthy();
    expect(shm.owner[0]).toBe(0);
    expect(shm.heldCount[1]).toBe(0);
  });
});
