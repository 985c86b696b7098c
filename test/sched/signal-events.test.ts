// Signal events (src/sched/controlled.ts): a fatal signal from outside the actors as a scheduler
// choice, placed by the strategy at any decision, recorded as `s<victim>` and replayed exactly.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlledDriver, type IterationResult } from '../../src/sched/controlled.ts';
import { explore, opsFor, scheduleRngFor, signalRngFor } from '../../src/sched/explore.ts';
import { PctStrategy, RandomStrategy, ReplayStrategy, signalChoice } from '../../src/sched/strategies/index.ts';
import { decodeSchedule, encodeSchedule, readRepro, runRepro, type Resolver } from '../../src/sched/repro.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { lockNames, makeLock } from '../../src/locks/index.ts';
import { readViolations } from '../../src/check/violations.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import { rng } from '../../src/kernel/rng.ts';
import { WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../../src/shm/shm.ts';
import { WQ_TASK_KILLABLE } from '../../src/locks/waitqueue.ts';
import '../../src/variants/index.ts';

const locks = SCENARIOS.get('locks')!;
const cfgFor = (lock: string, o: Partial<RunConfig> = {}, events = true): RunConfig => ({
  ...DEFAULTS, scenario: 'locks', lock, workers: 3, pages: 1, ...o, extra: { signals: true, 'signal-events': events },
});
const driverFor = (cfg: RunConfig) => new ControlledDriver({ scenario: locks, cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }) });
const replay = (d: ControlledDriver, ops: Op[][], choices: number[]) => {
  const strategy = new ReplayStrategy(choices);
  const r = d.runIteration({ ops, strategy, rng: rng('replay'), trace: true });
  return { r, strategy };
};

// The pre-5.9 killable missed wake-up (Oleg Nesterov, 20200624161142.GA12184@redhat.com; the
// hand-stepped form is in test/locks/locks.test.ts) as one controlled schedule: T0 locks and
// unlocks with nobody queued yet (T1 has queued but not set PG_waiters: no walk), T1 sees the bit
// clear, T0 takes the lock again before T1's test_and_set_bit_lock(), T1 loses and stops before its
// signal test, T2 queues behind T1 and sleeps, T0's unlock wakes T1 (the walk ends there), a
// SIGKILL arrives for T1 (the signal event `s1`), and T1 returns -EINTR with the wake-up.
const OLEG_OPS: Op[][] = [
  [{ kind: 'lock', args: [0, 1] }, { kind: 'lock', args: [0, 1] }],
  [{ kind: 'killable', args: [0, 1] }],
  [{ kind: 'lock', args: [0, 1] }],
];
const OLEG = '0*2 1*3 0*2 1*4 0*2 1 2*8 0*5 s1 1*7';

describe('signal events', () => {
  it('the schedule format: s<task> is a signal to that task, and round-trips', () => {
    const c = decodeSchedule(OLEG, 3);
    expect(c.filter((x) => x < 0)).toEqual([signalChoice(1)]);
    expect(encodeSchedule(c)).toBe(OLEG);
    expect(encodeSchedule([0, signalChoice(2), signalChoice(2), 1])).toBe('0 s2*2 1');
    expect(() => decodeSchedule('0 s7', 3)).toThrow(/task 7 does not exist/);
    expect(() => decodeSchedule('0 x1', 3)).toThrow(/not a choice/);
  });

  it('v4.14: a signal event after the wake-up and before the signal test loses the wake-up (LOCK-WAKE at that instant)', () => {
    const d = driverFor(cfgFor('v4.14'));
    const { r, strategy } = replay(d, OLEG_OPS, decodeSchedule(OLEG, 3));
    expect(strategy.diverged).toBe(0);
    expect(r.violation?.id).toBe('LOCK-WAKE');
    expect(r.violation?.task).toBe(1); // reported as T1 leaves
    expect(readViolations(d.shm)[0].values[0]).toBe(2); // T2 is the stranded sleeper
    const sig = r.trace!.find((e) => e.label === '(SIGKILL)')!;
    expect(sig.task).toBe(1);
    // the signal comes right after T0's wake_up_state for T1, and T1's next step is its signal test
    const at = r.trace!.indexOf(sig);
    expect(r.trace![at - 1]).toMatchObject({ task: 0, label: 'wake_up_state', aux: 1 });
    expect(r.trace!.slice(at + 1).find((e) => e.task === 1)!.label).toBe('signal_pending_state');
  });

  it('the same schedule without the signal, or with signal events off, loses nothing', () => {
    const choices = decodeSchedule(OLEG, 3);
    const without = replay(driverFor(cfgFor('v4.14')), OLEG_OPS, choices.filter((c) => c >= 0));
    expect(without.r.violation).toBeNull();
    expect(without.r.opsDone).toEqual([2, 1, 1]);
    const off = replay(driverFor(cfgFor('v4.14', {}, false)), OLEG_OPS, choices);
    expect(off.strategy.diverged).toBe(1); // the signal was not followed
    expect(off.r.violation).toBeNull();
  });

  it('v5.9 (the fair hand-off): the same interleaving up to the signal is clean', () => {
    // v5.9 takes other steps, so the recorded list does not line up; what it must show is that no
    // placement of signal events loses a wake-up: explore a few hundred iterations of this workload
    for (const lock of ['v5.9', 'v5.10']) {
      const cfg = cfgFor(lock);
      const res = explore({ scenario: locks, cfg, lock: makeLock(lock), strategies: [{ kind: 'random', depth: 3 }], iterations: 300, opsPerActor: 4, seed: '1', ops: OLEG_OPS });
      expect(res.finds).toEqual([]);
    }
  });

  it('an iteration in which the strategy places no signal chooses exactly as without a signal stream', () => {
    const on = driverFor(cfgFor('v5.9-rc6'));
    const off = driverFor(cfgFor('v5.9-rc6'));
    let compared = 0, signalled = 0;
    // one instance per driver, PCT's k (learnt from the iterations seen) kept the same in both
    for (const [s, t] of [[new RandomStrategy(), new RandomStrategy()], [new PctStrategy(3), new PctStrategy(3)]]) {
      for (let i = 0; i < 60; i++) {
        if (s instanceof PctStrategy && t instanceof PctStrategy) s.k = t.k = Math.max(s.k, t.k);
        const ops = opsFor(locks, on.cfg, `1.${i}`, 4);
        const a: IterationResult = on.runIteration({ ops, strategy: s, rng: scheduleRngFor('1', i), signalRng: signalRngFor('1', i) });
        const withSignals = Array.from(a.schedule);
        const b = off.runIteration({ ops, strategy: t, rng: scheduleRngFor('1', i) });
        if (withSignals.some((c) => c < 0)) {
          signalled++;
          continue;
        }
        expect(Array.from(b.schedule)).toEqual(withSignals);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(signalled).toBeGreaterThan(5);
  });

  it('signals go only to actors in a killable wait, at most one per wait; PCT places at most one per iteration', () => {
    const d = driverFor(cfgFor('v5.9', { workers: 4 }));
    let events = 0;
    for (const s of [new RandomStrategy(), new PctStrategy(3)]) {
      for (let i = 0; i < 80; i++) {
        const ops = opsFor(locks, d.cfg, `2.${i}`, 4);
        const r = d.runIteration({ ops, strategy: s, rng: scheduleRngFor('2', i), signalRng: signalRngFor('2', i), trace: true });
        expect(r.violation).toBeNull();
        const sigs = r.trace!.filter((e) => e.label === '(SIGKILL)');
        events += sigs.length;
        if (s instanceof PctStrategy) expect(sigs.length).toBeLessThanOrEqual(1);
        for (const e of sigs) expect(ops[e.task][e.op].kind).toBe('killable');
        // one per operation: a pending signal is not sent again
        expect(new Set(sigs.map((e) => `${e.task}:${e.op}`)).size).toBe(sigs.length);
      }
    }
    expect(events).toBeGreaterThan(10);
  });

  it('the repro files written before signal events still replay as recorded', () => {
    const resolver: Resolver = {
      scenario: (n) => SCENARIOS.get(n),
      scenarioNames: () => [...SCENARIOS.keys()],
      lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
      lockNames: () => lockNames({ hidden: true }),
    };
    const dir = join(__dirname, '../../docs/findings');
    const files = readdirSync(dir).filter((f) => f.endsWith('.repro.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const l = readRepro(join(dir, f), resolver);
      const r = runRepro(l);
      expect(r.reproduced, f).toBe(true);
      expect(r.diverged, f).toBe(0);
      expect(r.result.steps, f).toBe(l.file.steps);
    }
    expect(lockNames()).toContain('v4.14');
  });
});

describe('aimed signal operations (locks --signal-events)', () => {
  const send = (events: boolean, flags: number): Int32Array => {
    const d = driverFor(cfgFor('v4.14', { workers: 4 }, events));
    Atomics.store(d.shm.wqFlags, 2, flags);
    const g = locks.runOp(d.tasks[1], 'locker', { kind: 'signal', args: [0] }, d.cfg);
    for (let r = g.next(); !r.done; r = g.next());
    return d.shm.fatal;
  };
  it('a signal operation hits a killable waiter, a woken one first, rather than its drawn victim', () => {
    expect(Array.from(send(true, WQ_TASK_KILLABLE | WQ_FLAG_WOKEN | WQ_FLAG_EXCLUSIVE)).slice(0, 4)).toEqual([0, 0, 1, 0]); // woken killable waiter
    expect(Array.from(send(true, WQ_TASK_KILLABLE | WQ_FLAG_EXCLUSIVE)).slice(0, 4)).toEqual([0, 0, 1, 0]); // killable waiter
    expect(Array.from(send(true, WQ_FLAG_EXCLUSIVE)).slice(0, 4)).toEqual([1, 0, 0, 0]); // not killable: the drawn victim
    expect(Array.from(send(false, WQ_TASK_KILLABLE | WQ_FLAG_WOKEN | WQ_FLAG_EXCLUSIVE)).slice(0, 4)).toEqual([1, 0, 0, 0]); // off: the drawn victim
  });
});
