// A killable lock_page waiter and a fatal signal that arrives while it goes to sleep
// (src/locks/waitqueue.ts: sendFatalSignal(), ioSchedule()). The kernel cannot lose that wake-up:
// signal_wake_up() sets the task TASK_RUNNING (try_to_wake_up), and __schedule() does not dequeue
// a TASK_KILLABLE task with a fatal signal pending (signal_pending_state()); and a signal is
// dequeued under sighand->siglock, which the sender holds until its signal_wake_up() is done, so
// the wake-up of a signal cannot land in the victim's next wait.
import { describe, expect, it } from 'vitest';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { ReplayStrategy } from '../../src/sched/strategies/index.ts';
import { decodeSchedule } from '../../src/sched/repro.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { readViolations } from '../../src/check/violations.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import type { Yielded } from '../../src/kernel/step.ts';
import { rng } from '../../src/kernel/rng.ts';
import { Task } from '../../src/kernel/task.ts';
import { STAT, STAT_STRIDE } from '../../src/shm/layout.ts';
import { WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN } from '../../src/shm/shm.ts';
import { WQ_SIGNAL_KICK, WQ_TASK_KILLABLE, ioSchedule, sendFatalSignal } from '../../src/locks/waitqueue.ts';
import '../../src/variants/index.ts';

const locks = SCENARIOS.get('locks')!;
const cfg: RunConfig = {
  ...DEFAULTS, scenario: 'locks', lock: 'v4.14', seed: '2', workers: 3, pages: 1, extra: { signals: true, 'signal-events': true },
};

// Found by exploration (seed 2, iteration 15215, novelty): T1's signal op sends SIGKILL to T2
// (send_sig) while T2's op 2 is about to return -EINTR for an earlier one; T2 returns, starts op 3
// (killable), queues, and only then does T1's signal_wake_up run; T2 tests the bit (locked by
// T0), a signal event `s2` sends T2 a new SIGKILL, and T2 goes to io_schedule(). Before the fix the
// stale wake-up had set WQ_SIGNAL_KICK in T2's word already, the new signal's kick did not change
// it, and T2 blocked with a fatal signal pending: after T0's unlock (whose walk rightly skips the
// running T2) nothing could run, a DEADLOCK with no LOCK-WAKE.
const OPS: Op[][] = [
  [{ kind: 'lock', args: [0, 4] }, { kind: 'lock', args: [0, 4] }, { kind: 'killable', args: [0, 4] }, { kind: 'lock', args: [0, 4] }],
  [{ kind: 'lock', args: [0, 4] }, { kind: 'lock', args: [0, 3] }, { kind: 'lock', args: [0, 2] }, { kind: 'signal', args: [2] }],
  [{ kind: 'lock', args: [0, 2] }, { kind: 'killable', args: [0, 4] }, { kind: 'killable', args: [0, 2] }, { kind: 'killable', args: [0, 4] }],
];
const SCHEDULE = '0*2 2*2 1 0 1 0 2 1*4 2*4 0 2 0 1*6 0 2*2 0 2 0*4 2*4 0*2 2 0*2 2*2 0 2 0*4 2 s2 0*2 2*4 0*2 2*2 0 2 0*2 2*2 0*2 '
  + '2*2 0*5 s0 2 0*2 2 0*2 2*2 0*3 2 0 2*3 1 2*2 1 2 1 2 1 0*3 1*4 2 1*7 0 1 0 2 1*2 2*4 1 0 1 0 2*2 1*3 0 2*3 0 1 0 2 0*4 2*2 0*2 '
  + '2*2 0 2*2 1 2 s2 2';

const eintr = (d: ControlledDriver, task: number) => d.shm.stats[task * STAT_STRIDE + STAT.eintr];

describe('a fatal signal while a killable waiter goes to sleep', () => {
  it('v4.14, the explored schedule: T2 returns -EINTR for the signal event and every operation ends', () => {
    const d = new ControlledDriver({ scenario: locks, cfg, lock: makeLock('v4.14', { unfairness: cfg.unfairness }) });
    const strategy = new ReplayStrategy(decodeSchedule(SCHEDULE, 3));
    const r = d.runIteration({ ops: OPS, strategy, rng: rng('replay'), trace: true });
    expect(strategy.diverged).toBe(0);
    expect(r.violation).toBeNull();
    expect(readViolations(d.shm)).toEqual([]);
    // T1's signal_wake_up for the signal T2 had already taken does not wake T2's next wait
    const trace = r.trace!;
    const stale = trace.find((e) => e.label === 'signal_wake_up');
    expect(stale?.note ?? '').not.toMatch(/wakes/);
    // the last signal event reaches T2 in its op 3 before it blocks: it never sleeps there, and
    // op 3 ends in -EINTR (op 2 returned -EINTR for the first signal)
    const last = trace.filter((e) => e.label === '(SIGKILL)').at(-1)!;
    expect([last.task, last.op]).toEqual([2, 3]);
    const after = trace.filter((e) => e.step > last.step && e.task === 2 && e.op === 3);
    expect(after.some((e) => /sleeps/.test(e.note ?? ''))).toBe(false);
    expect(after.map((e) => e.label)).toContain('signal_pending_state');
    expect(eintr(d, 2)).toBe(2);
  });
});

describe('the two halves, hand-stepped', () => {
  const driver = () => new ControlledDriver({ scenario: locks, cfg, lock: makeLock('v4.14') });
  const drain = (g: Generator<Yielded, unknown, unknown>): Yielded[] => {
    const out: Yielded[] = [];
    for (let r = g.next(); !r.done; r = g.next('not-equal')) out.push(r.value);
    return out;
  };

  it('io_schedule() of a TASK_KILLABLE waiter with a fatal signal pending does not block (__schedule)', () => {
    const d = driver(), shm = d.shm, t = d.tasks[1];
    const seen = WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE;
    Atomics.store(shm.wqFlags, 1, seen);
    Atomics.store(shm.fatal, 1, 1);
    expect(drain(ioSchedule(t, 0, 0, seen)).filter((y) => typeof y !== 'string')).toEqual([]);
    // TASK_UNINTERRUPTIBLE (lock_page) ignores it and sleeps
    const waits = drain(ioSchedule(t, 0, 0, WQ_FLAG_EXCLUSIVE)).filter((y) => typeof y !== 'string' && y.kind === 'wait');
    expect(waits).toHaveLength(1);
    // and without a signal a killable waiter sleeps
    Atomics.store(shm.fatal, 1, 0);
    expect(drain(ioSchedule(t, 0, 0, seen)).filter((y) => typeof y !== 'string' && y.kind === 'wait')).toHaveLength(1);
  });

  it('signal_wake_up after the victim took the signal (its fatal word is clear again) leaves its next wait alone', () => {
    const d = driver(), shm = d.shm, sender = new Task({ id: 0, shm, ops: d.tasks[0].ops });
    const g = sendFatalSignal(sender, 1);
    expect(g.next().value).toBe('send_sig(SIGKILL)');
    expect(g.next().value).toBe('signal_wake_up');
    expect(Atomics.load(shm.fatal, 1)).toBe(1);
    Atomics.store(shm.fatal, 1, 0); // the victim returned -EINTR (deliverFatalSignal) ...
    Atomics.store(shm.wqFlags, 1, WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE); // ... and waits again
    const rest: Yielded[] = [];
    for (let r = g.next(); !r.done; r = g.next()) rest.push(r.value);
    expect(rest).toEqual([]);
    expect(Atomics.load(shm.wqFlags, 1) & WQ_SIGNAL_KICK).toBe(0);
    // a signal still pending is kicked as before
    const h = sendFatalSignal(sender, 1);
    h.next();
    h.next();
    const kick = h.next().value as Yielded;
    expect(typeof kick !== 'string' && kick.kind).toBe('wake');
    expect(Atomics.load(shm.wqFlags, 1) & WQ_SIGNAL_KICK).toBe(WQ_SIGNAL_KICK);
  });
});

describe('free mode: a kick left in the word of a killable wait', () => {
  it('is taken back before the sleep, so the next signal changes the word the waiter sleeps on', () => {
    const d = new ControlledDriver({ scenario: locks, cfg, lock: makeLock('v4.14') }), shm = d.shm, t = d.tasks[1];
    const seen = WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE | WQ_SIGNAL_KICK; // a kick of a signal already taken
    Atomics.store(shm.wqFlags, 1, seen);
    const g = ioSchedule(t, 0, 0, seen);
    expect(g.next().value).toBe('io_schedule');
    const w = g.next().value as Yielded;
    expect(typeof w !== 'string' && w.kind === 'wait' && w.expected).toBe(WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE);
    expect(Atomics.load(shm.wqFlags, 1)).toBe(WQ_FLAG_EXCLUSIVE | WQ_TASK_KILLABLE);
    // the word changed between the waiter's read and its sleep (here a wake-up): the
    // compare-exchange fails, and io_schedule() returns without sleeping
    Atomics.store(shm.wqFlags, 1, seen);
    const h = ioSchedule(t, 0, 0, seen);
    h.next();
    Atomics.or(shm.wqFlags, 1, WQ_FLAG_WOKEN);
    expect(h.next().done).toBe(true);
  });
});
