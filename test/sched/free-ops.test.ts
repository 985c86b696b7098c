// The free driver: a task's operations are a pure function of (seed, task, opNo), whatever the
// outcomes (trylock results, EINTR) and whatever the perturbation level.
import { lockOverride } from '../../src/locks/index.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import type { Op, Scenario } from '../../src/kernel/scenario.ts';
import { opRng } from '../../src/kernel/rng.ts';
import { FreeDriver, WAIT_SLICE_MS, type FreeWall } from '../../src/sched/free.ts';
import { futexWait, type Step } from '../../src/kernel/step.ts';
import { SPIN_NAPPERS, SPIN_NAP_MS } from '../../src/locks/spinlock.ts';
import { Task } from '../../src/kernel/task.ts';
import type { PageLock } from '../../src/locks/types.ts';
import { CTL, type ShmSizes } from '../../src/shm/layout.ts';
import { Shm, TASK_DONE } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { rng } from '../../src/kernel/rng.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';

const cfg = (over: Partial<RunConfig> = {}): RunConfig => ({ ...DEFAULTS, scenario: 'locks', workers: 4, pages: 16, ...over });

function opsOf(c: RunConfig, task: number, n: number): Op[] {
  return Array.from({ length: n }, (_, i) => locksScenario.nextOp('locker', opRng(c.seed, task, i), c, task));
}

/** A lock whose outcomes are random (from its own stream), never blocking: outcomes vary by
 * `outcomeSeed` and must not change which operations the driver runs. */
function chaoticLock(outcomeSeed: string): PageLock {
  const r = rng('outcomes', outcomeSeed);
  // the public entries are this lock's; lockOverride() fills the algorithm's steps, which these never call
  return lockOverride('v5.9', {}, {
    name: 'chaotic',
    *trylockPage(t, pfn) { yield 'trylock_page'; const ok = r() < 0.5; if (ok) t.heldAdd(pfn); return ok; },
    *lockPage(t, pfn) { yield 'lock_page'; t.heldAdd(pfn); },
    *lockPageKillable(t, pfn) { yield 'lock_page_killable'; if (r() < 0.5) return -4; t.heldAdd(pfn); return 0; },
    *unlockPage(t, pfn) { yield 'unlock_page'; t.heldRemove(pfn); },
    *waitOnPageLocked() { yield 'wait_on_page_locked'; },
    *waitOnPageWriteback() { yield 'wait_on_page_writeback'; },
    *endPageWriteback() { yield 'end_page_writeback'; },
  });
}

function shmFor(c: RunConfig, s: Scenario): Shm {
  const sizes: ShmSizes = { ...s.sizes(c), tasks: c.workers + 1, flightEntries: 16, violationSlots: 4 };
  const shm = new Shm(sizes);
  initShm(shm);
  s.init(shm, c);
  return shm;
}

/** Run `ops` operations of one task in this thread, recording the ops the driver ran. */
function runRecorded(c: RunConfig, task: number, lock: PageLock): Op[] {
  const seen: Op[] = [];
  const recording: Scenario = {
    ...locksScenario,
    *runOp(t, role, op, cc): Step {
      seen.push(op);
      // signals go to a task that is not running here: harmless
      yield* locksScenario.runOp(t, role, op, cc);
    },
  };
  const shm = shmFor(c, recording);
  const t = new Task({ id: task, shm, ops: kernelOps({ lock }) });
  const end = new FreeDriver({ t, scenario: recording, role: 'locker', cfg: c }).run();
  expect(end).toMatchObject({ ops: c.ops, endedBy: 'ops' });
  expect(shm.taskState[task]).toBe(TASK_DONE);
  expect(shm.heartbeat[task]).toBe(c.ops);
  return seen;
}

describe('locks scenario: operation sequence', () => {
  it('is the same for the same (seed, task) and differs across tasks and seeds', () => {
    const c = cfg({ seed: '7' });
    expect(opsOf(c, 1, 200)).toEqual(opsOf(c, 1, 200));
    expect(opsOf(c, 1, 200)).not.toEqual(opsOf(c, 2, 200));
    expect(opsOf(c, 1, 200)).not.toEqual(opsOf(cfg({ seed: '8' }), 1, 200));
  });

  it('mixes every kind, hits a hot page most, and never signals itself', () => {
    const c = cfg({ seed: '3' });
    const ops = [0, 1, 2, 3].flatMap((t) => opsOf(c, t, 2000).map((op) => ({ t, op })));
    const kinds = new Set(ops.map(({ op }) => op.kind));
    expect([...kinds].sort()).toEqual(['killable', 'lock', 'signal', 'trylock', 'waitlocked']);
    for (const { t, op } of ops) if (op.kind === 'signal') {
      expect(t % 2).toBe(1);
      expect(op.args[0]).not.toBe(t);
      expect(op.args[0]).toBeGreaterThanOrEqual(0);
      expect(op.args[0]).toBeLessThan(4);
    }
    const byPage = new Array(16).fill(0);
    for (const { op } of ops) if (op.kind !== 'signal') byPage[op.args[0]]++;
    expect(byPage[0]).toBe(Math.max(...byPage));
    expect(byPage[0]).toBeGreaterThan(3 * byPage[15]);
  });

  it('the driver runs exactly that sequence, whatever the outcomes and the perturbation', () => {
    const c = cfg({ seed: '11', ops: 300, perturb: 'off' });
    const want = opsOf(c, 1, 300);
    expect(runRecorded(c, 1, chaoticLock('a'))).toEqual(want);
    expect(runRecorded(c, 1, chaoticLock('b'))).toEqual(want);
    expect(runRecorded({ ...c, perturb: 'high' }, 1, chaoticLock('c'))).toEqual(want);
  });
});

describe('free driver', () => {
  it('reports LOCK-LEAK once per leaked page and keeps going', () => {
    const c = cfg({ ops: 5, perturb: 'off' });
    const leaky: Scenario = {
      ...locksScenario,
      nextOp: () => ({ kind: 'leak', args: [3] }),
      *runOp(t, _r, op) { yield 'lock'; if (t.op === 0) t.heldAdd(op.args[0]); },
    };
    const shm = shmFor(c, leaky);
    const t = new Task({ id: 0, shm, ops: kernelOps({ lock: chaoticLock('x') }) });
    new FreeDriver({ t, scenario: leaky, role: 'locker', cfg: c }).run();
    expect(shm.ctl[CTL.VIOLATIONS]).toBe(1);
  });

  it('returns a long wait early (a spurious wake-up) so STOP is seen', () => {
    const c = cfg({ ops: 0, perturb: 'off' });
    const word = new Int32Array(new SharedArrayBuffer(4));
    const results: string[] = [];
    const waiting: Scenario = {
      ...locksScenario,
      nextOp: () => ({ kind: 'wait', args: [] }),
      *runOp(t) {
        const r: string = yield futexWait(word, 0, 0);
        results.push(r);
        Atomics.store(t.shm.ctl, CTL.STOP, 1);
      },
    };
    const shm = shmFor(c, waiting);
    const t = new Task({ id: 0, shm, ops: kernelOps({ lock: chaoticLock('x') }) });
    const t0 = performance.now();
    const end = new FreeDriver({ t, scenario: waiting, role: 'locker', cfg: c }).run();
    expect(end).toMatchObject({ ops: 1, endedBy: 'stop' });
    expect(results).toEqual(['timed-out']);
    expect(performance.now() - t0).toBeLessThan(WAIT_SLICE_MS * 20);
  });

  it('accounts where its wall time went: perturbation sleeps and holds, naps, other waits', () => {
    // each operation: a spinner's nap, a 1 ms wait, then 10 schedule points holding page 1
    const c = cfg({ ops: 300, perturb: 'high', seed: '5' });
    const word = new Int32Array(new SharedArrayBuffer(4));
    const timed: Scenario = {
      ...locksScenario,
      nextOp: () => ({ kind: 'timed', args: [] }),
      *runOp(t) {
        yield futexWait(word, 0, 0, SPIN_NAP_MS);
        yield futexWait(word, 0, 0, 1);
        t.heldAdd(1);
        for (let i = 0; i < 10; i++) yield 'held';
        t.heldRemove(1);
      },
    };
    const shm = shmFor(c, timed);
    const t = new Task({ id: 0, shm, ops: kernelOps({ lock: chaoticLock('x') }) });
    const t0 = performance.now();
    const { wall: w } = new FreeDriver({ t, scenario: timed, role: 'locker', cfg: c }).run();
    const elapsed = performance.now() - t0;
    expect(w.naps).toBe(300);
    expect(w.waits).toBe(300);
    expect(w.waitMs).toBeGreaterThanOrEqual(300 * 0.9);
    expect(w.napMs).toBeGreaterThanOrEqual(300 * SPIN_NAP_MS * 0.9);
    // 3,000 points at --perturb high: 1/256 each a sleep (20-1000 us) and a hold (1-5 ms)
    expect(w.sleeps).toBeGreaterThan(0);
    expect(w.holds).toBeGreaterThan(0);
    expect(w.sleepMs).toBeGreaterThanOrEqual(w.sleeps * 0.02 * 0.9);
    expect(w.holdMs).toBeGreaterThanOrEqual(w.holds * 1 * 0.9);
    expect(w.parkMs).toBe(0);
    const parts = w.sleepMs + w.holdMs + w.napMs + w.waitMs + w.parkMs;
    expect(parts).toBeLessThanOrEqual(w.totalMs);
    expect(w.totalMs).toBeLessThanOrEqual(elapsed);
  });

  it("a spinner's nap (the word marked SPIN_NAPPERS) is a timed nap the driver counts as one; a word that changed first is no nap", () => {
    const c = cfg({ perturb: 'off' });
    const shm = shmFor(c, locksScenario);
    const t = new Task({ id: 0, shm, ops: kernelOps({ lock: chaoticLock('x') }) });
    const d = new FreeDriver({ t, scenario: locksScenario, role: 'locker', cfg: c });
    const word = new Int32Array(new SharedArrayBuffer(4));
    word[0] = 6 | SPIN_NAPPERS; // task 5 holds it, a spinner naps: nobody here unlocks it
    expect(d.effect(futexWait(word, 0, 6 | SPIN_NAPPERS, SPIN_NAP_MS))).toBe('timed-out');
    // the word changed before the nap: no nap at all
    expect(d.effect(futexWait(word, 0, 6, SPIN_NAP_MS))).toBe('not-equal');
    const w = (d as unknown as { wall: FreeWall }).wall; // both counted as naps, none as another wait
    expect([w.naps, w.waits]).toEqual([2, 0]);
  });
});
