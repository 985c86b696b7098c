// The controlled driver on small scenarios written against the contract only.
import { describe, expect, it } from 'vitest';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { RandomStrategy } from '../../src/sched/strategies/random.ts';
import { PctStrategy } from '../../src/sched/strategies/pct.ts';
import { ReplayStrategy } from '../../src/sched/strategies/replay.ts';
import { rng } from '../../src/kernel/rng.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import { futexWait } from '../../src/kernel/step.ts';
import { BIT_WRITEBACK, PG_writeback } from '../../src/shm/shm.ts';
import { cfgFor, counterScenario, miniLocksScenario, testLock, timedScenario } from './controlled.fixtures.ts';

const inc = (n: number): Op[] => Array.from({ length: n }, () => ({ kind: 'inc', args: [0] }));

describe('controlled driver', () => {
  it('runs actors one step at a time and records only real decisions', () => {
    const d = new ControlledDriver({ scenario: counterScenario, cfg: cfgFor('test-counter'), lock: testLock() });
    // one actor: every point is forced, none is a decision
    const solo = d.runIteration({ ops: [inc(2), []], strategy: new RandomStrategy(), rng: rng(1) });
    expect(solo.violation).toBeNull();
    expect(solo.decisions).toBe(0);
    expect(solo.steps).toBe(6); // (op start, load, store) x 2
    expect(d.shm.stampGen[0]).toBe(2);
    // two actors: the replayed schedule [0,1,0,1] puts both loads before both stores
    const r = d.runIteration({ ops: [inc(1), inc(1)], strategy: new ReplayStrategy([0, 1, 0, 1, 0]), rng: rng(1), trace: true });
    expect(r.violation?.id).toBe('LOCK-EXCL');
    expect(r.violation?.message).toMatch(/lost update: counter 1 after 2/);
    expect(r.trace!.map((e) => `${e.task}:${e.label}`)).toEqual(['0:(op start)', '1:(op start)', '0:load', '1:load', '0:store', '1:store']);
    // serial order: no lost update
    const ok = d.runIteration({ ops: [inc(1), inc(1)], strategy: new ReplayStrategy([0, 0, 0, 1]), rng: rng(1) });
    expect(ok.violation).toBeNull();
    expect(Array.from(ok.schedule)).toEqual([0, 0, 0]); // the last step of T1 was forced
  });

  it('is deterministic: the same schedule stream gives the same schedule', () => {
    const d = new ControlledDriver({ scenario: counterScenario, cfg: cfgFor('test-counter', { workers: 3 }), lock: testLock() });
    const run = () => Array.from(d.runIteration({ ops: [inc(3), inc(3), inc(3)], strategy: new RandomStrategy(), rng: rng('s', 7) }).schedule);
    const a = run();
    expect(run()).toEqual(a);
    expect(a.length).toBeGreaterThan(5);
  });

  it('futex model: a sleeper is woken by unlock, FIFO, and mutual exclusion holds', () => {
    const cfg = cfgFor('test-locks', { workers: 3, pages: 1 });
    const d = new ControlledDriver({ scenario: miniLocksScenario, cfg, lock: testLock() });
    const ops: Op[][] = [0, 1, 2].map(() => [{ kind: 'lock', args: [0, 2] }, { kind: 'lock', args: [0, 1] }]);
    for (let s = 0; s < 50; s++) {
      const r = d.runIteration({ ops, strategy: new RandomStrategy(), rng: rng('fifo', s), trace: s === 0 });
      expect(r.violation).toBeNull();
      expect(r.opsDone).toEqual([2, 2, 2]);
      if (s === 0) expect(r.trace!.some((e) => e.note.includes('sleeps on flags[0]'))).toBe(true);
    }
  });

  it('reports a lock left held as LOCK-LEAK', () => {
    const d = new ControlledDriver({ scenario: miniLocksScenario, cfg: cfgFor('test-locks', { pages: 1 }), lock: testLock() });
    const r = d.runIteration({ ops: [[{ kind: 'leak', args: [0, 1] }], []], strategy: new RandomStrategy(), rng: rng(1) });
    expect(r.violation?.id).toBe('LOCK-LEAK');
    // the one violation wording of both modes (src/check/describe.ts violationMessage)
    expect(r.violation?.message).toMatch(/^no task finishes an operation still holding a page lock it took: task 0 \(locker\) op 0, page 0 \[flags PG_locked, /);
  });

  it('a lock that never wakes its waiters is a DEADLOCK with the wait-for chain', () => {
    const d = new ControlledDriver({ scenario: miniLocksScenario, cfg: cfgFor('test-locks', { pages: 1 }), lock: testLock({ wake: false }) });
    const ops: Op[][] = [[{ kind: 'lock', args: [0, 1] }], [{ kind: 'lock', args: [0, 1] }]];
    // T0 takes the lock, T1 sleeps on it, T0 unlocks without a wake
    const r = d.runIteration({ ops, strategy: new ReplayStrategy([0, 0, 1, 1, 1, 0, 0, 0]), rng: rng(1) });
    expect(r.violation?.id).toBe('DEADLOCK');
    expect(r.violation?.message).toMatch(/T1 \(locker, op 0 lock\(0, 1\)\) waits on page 0 \[0\] \(sleeping on flags\[0\]\), which is unlocked: no wake came \(lost wakeup\)/);
  });

  it('a wait cycle names both owners', () => {
    // two locks taken in opposite orders (ABBA)
    const abba = {
      ...miniLocksScenario,
      *runOp(t: any, _role: string, op: Op) {
        const [a, b] = op.args;
        yield* t.ops.lock.lockPage(t, a);
        yield* t.ops.lock.lockPage(t, b);
        yield* t.ops.lock.unlockPage(t, b);
        yield* t.ops.lock.unlockPage(t, a);
      },
    };
    const d = new ControlledDriver({ scenario: abba, cfg: cfgFor('test-locks', { pages: 2 }), lock: testLock() });
    const ops: Op[][] = [[{ kind: 'ab', args: [0, 1] }], [{ kind: 'ba', args: [1, 0] }]];
    const r = d.runIteration({ ops, strategy: new ReplayStrategy([0, 0, 1, 1]), rng: rng(1) });
    expect(r.violation?.id).toBe('DEADLOCK');
    expect(r.violation?.message).toMatch(/T0 .* waits on page 1 .*owned by T1 .*which waits on page 0 .*owned by T0 .*: a cycle/);
  });

  it('a wait on a writeback is followed to the task that started it', () => {
    // T0 starts page 1's writeback and then wants page 0's lock; T1 holds that lock and waits for
    // page 1's writeback to end (on its wait-queue entry, as the real wait_on_page_writeback)
    const wbCycle = {
      ...miniLocksScenario,
      *runOp(t: any, _role: string, op: Op) {
        const shm = t.shm;
        if (op.kind === 'submit') {
          yield 'set_page_writeback';
          t.writebackStarted(1);
          Atomics.or(shm.flags, 1, PG_writeback);
          yield* t.ops.lock.lockPage(t, 0);
        } else {
          yield* t.ops.lock.lockPage(t, 0);
          t.page = 1;
          shm.wqPage[t.id] = 1;
          shm.wqBit[t.id] = BIT_WRITEBACK;
          yield 'wait_on_page_writeback';
          yield futexWait(shm.wqFlags, t.id, shm.wqFlags[t.id]);
        }
      },
    };
    const d = new ControlledDriver({ scenario: wbCycle, cfg: cfgFor('test-locks', { pages: 2 }), lock: testLock() });
    const ops: Op[][] = [[{ kind: 'submit', args: [] }], [{ kind: 'wait', args: [] }]];
    const r = d.runIteration({ ops, strategy: new ReplayStrategy([0, 0, 1, 1, 1, 1, 1, 1]), rng: rng(1) });
    expect(r.violation?.id).toBe('DEADLOCK');
    expect(r.violation?.message).toMatch(/T0 \(locker, op 0 submit\(\)\) waits on page 0 \[[^\]]*\] \(sleeping on flags\[0\]\), owned by T1 \(locker, op 0 wait\(\)\), which waits on page 1's writeback \[PG_writeback[^\]]*\] \(sleeping on wqFlags\[1\]\), under writeback by T0 \(locker, op 0 submit\(\)\): a cycle/);
  });

  it('timeouts run on the virtual clock', () => {
    const d = new ControlledDriver({ scenario: timedScenario, cfg: cfgFor('test-timed'), lock: testLock() });
    const r = d.runIteration({ ops: [[{ kind: 'sleeper', args: [] }], [{ kind: 'clock', args: [] }]], strategy: new RandomStrategy(), rng: rng(3), trace: true });
    expect(r.violation).toBeNull();
    expect(d.shm.stampIndex[0]).toBe(1); // timed out
    expect(r.clockNs).toBeGreaterThanOrEqual(5e6);
    expect(r.trace!.some((e) => e.label === '(timed out)' && e.task === 0)).toBe(true);
  });

  it('a spin nobody ends hits the step bound (HUNG)', () => {
    const spinner = {
      ...counterScenario,
      *runOp() {
        for (;;) yield 'cpu_relax';
      },
    };
    const d = new ControlledDriver({ scenario: spinner, cfg: cfgFor('test-counter'), lock: testLock() });
    const r = d.runIteration({ ops: [inc(1), []], strategy: new PctStrategy(3), rng: rng(1), maxSteps: 500 });
    expect(r.violation?.id).toBe('HUNG');
    expect(r.violation?.message).toMatch(/no end after 500 steps.*'cpu_relax'/);
  });

  it('protocol code that throws is a CRASH, not an exception out of the driver', () => {
    const thrower = {
      ...counterScenario,
      *runOp(): Generator<string, void> {
        yield 'x';
        throw new Error('boom');
      },
    };
    const d = new ControlledDriver({ scenario: thrower, cfg: cfgFor('test-counter'), lock: testLock() });
    const r = d.runIteration({ ops: [inc(1), []], strategy: new RandomStrategy(), rng: rng(1) });
    expect(r.violation?.id).toBe('CRASH');
    expect(r.violation?.message).toMatch(/boom/);
  });
});
