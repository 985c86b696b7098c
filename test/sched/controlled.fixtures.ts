// Small scenarios and locks for the controlled-mode tests: they depend on nothing but the
// contract (src/kernel/step.ts, src/kernel/scenario.ts), so the driver can be tested on its own.
import { lockOverride } from '../../src/locks/index.ts';
import type { Finding, Op, Scenario } from '../../src/kernel/scenario.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { below, type Rng } from '../../src/kernel/rng.ts';
import { futexWait, futexWake, type Step } from '../../src/kernel/step.ts';
import type { Task } from '../../src/kernel/task.ts';
import type { PageLock } from '../../src/locks/types.ts';
import { CTL } from '../../src/shm/layout.ts';
import { NIL, PG_locked, PG_waiters, type Shm } from '../../src/shm/shm.ts';

export function cfgFor(scenario: string, over: Partial<RunConfig> = {}): RunConfig {
  return { ...DEFAULTS, scenario, workers: 2, pages: 4, buckets: 4, extra: {}, ...over };
}

const noPages = (pages: number) => ({ pages, buckets: 4, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1 });

function initPagesInUse(shm: Shm): void {
  shm.flags.fill(0);
  shm.refcount.fill(1);
  shm.freeNext.fill(NIL);
  shm.ctl[CTL.FREE_HEAD] = NIL;
  shm.ctl[CTL.FREE_COUNT] = 0;
}

/** A lost-update race: `inc` reads a counter, yields, writes it back + 1. Two incrementers with a
 * context switch between the load and the store lose an update (a depth-2 bug). */
export const counterScenario: Scenario = {
  name: 'test-counter',
  description: 'unlocked read-modify-write of one counter',
  roles: (cfg) => Array.from({ length: cfg.workers }, () => 'inc'),
  sizes: () => noPages(1),
  init: initPagesInUse,
  nextOp: (_role: string, r: Rng): Op => ({ kind: 'inc', args: [below(r, 3)] }),
  *runOp(t: Task, _role: string, op: Op): Step {
    t.page = 0;
    for (let i = 0; i < op.args[0]; i++) yield 'think';
    yield 'load';
    const v = t.shm.stampGen[0];
    yield 'store';
    t.shm.stampGen[0] = v + 1;
    Atomics.add(t.shm.stampIndex, 0, 1);
  },
  quiescentCheck(shm: Shm): Finding[] {
    const data = shm.stampGen[0], n = shm.stampIndex[0];
    return data === n ? [] : [{ id: 'LOCK-EXCL', page: 0, values: [data, n], message: `lost update: counter ${data} after ${n} increments` }];
  },
};

/** A small sleeping page lock: PG_locked, PG_waiters, a futex on the flags word. `wake: false`
 * gives the busted lock that never wakes its waiters. It keeps the shadow owner and the held list
 * as the real locks do, and reports LOCK-EXCL on a double acquire. */
export function testLock(o: { wake: boolean } = { wake: true }): PageLock {
  function* acquire(t: Task, pfn: number): Step<boolean> {
    yield 'trylock_page';
    if ((Atomics.or(t.shm.flags, pfn, PG_locked) & PG_locked) !== 0) return false;
    if (Atomics.compareExchange(t.shm.owner, pfn, 0, t.id + 1) !== 0) t.violation('LOCK-EXCL', pfn, t.shm.owner[pfn]);
    t.heldAdd(pfn);
    return true;
  }
  // the public entries are this lock's; lockOverride() fills the algorithm's steps, which these never call
  const lock: PageLock = lockOverride('v5.9', {}, {
    name: o.wake ? 'test-futex' : 'test-busted-nowake',
    trylockPage: acquire,
    *lockPage(t, pfn) {
      t.page = pfn;
      while (!(yield* acquire(t, pfn))) {
        yield 'SetPageWaiters';
        const v = Atomics.or(t.shm.flags, pfn, PG_waiters) | PG_waiters;
        if (v & PG_locked) yield futexWait(t.shm.flags, pfn, v);
      }
    },
    *lockPageKillable(t, pfn) {
      yield* lock.lockPage(t, pfn);
      return 0;
    },
    *unlockPage(t, pfn) {
      yield 'unlock_page';
      if (Atomics.compareExchange(t.shm.owner, pfn, t.id + 1, 0) !== t.id + 1) t.violation('LOCK-UNLOCK', pfn);
      t.heldRemove(pfn);
      const old = Atomics.and(t.shm.flags, pfn, ~(PG_locked | PG_waiters));
      if (o.wake && old & PG_waiters) yield futexWake(t.shm.flags, pfn, Infinity);
    },
    *waitOnPageLocked(t, pfn) {
      for (;;) {
        yield 'PageLocked';
        const v = Atomics.or(t.shm.flags, pfn, 0);
        if (!(v & PG_locked)) return;
        yield futexWait(t.shm.flags, pfn, v);
      }
    },
    *waitOnPageWriteback() {},
    *endPageWriteback() {},
  });
  return lock;
}

/** Lockers: lock a page (of `pages`), hold for 1-2 points, unlock. `leak` ops forget to unlock. */
export const miniLocksScenario: Scenario = {
  name: 'test-locks',
  description: 'lock, hold, unlock',
  roles: (cfg) => Array.from({ length: cfg.workers }, () => 'locker'),
  sizes: (cfg) => noPages(cfg.pages),
  init: initPagesInUse,
  nextOp: (_role: string, r: Rng, cfg: RunConfig): Op => ({ kind: 'lock', args: [below(r, cfg.pages), 1 + below(r, 2)] }),
  *runOp(t: Task, _role: string, op: Op): Step {
    const [pfn, hold] = op.args;
    yield* t.ops.lock.lockPage(t, pfn);
    for (let i = 0; i < hold; i++) yield 'hold';
    if (op.kind !== 'leak') yield* t.ops.lock.unlockPage(t, pfn);
  },
};

/** Timed waits: a sleeper waits on a word nobody changes with a timeout; a waker may wake it. */
export const timedScenario: Scenario = {
  name: 'test-timed',
  description: 'futex timeouts on the virtual clock',
  roles: () => ['sleeper', 'clock'],
  sizes: () => noPages(1),
  init: initPagesInUse,
  nextOp: (role: string): Op => ({ kind: role, args: [] }),
  *runOp(t: Task, role: string): Step {
    if (role === 'sleeper') {
      const t0: number = yield { kind: 'now' };
      const r = yield futexWait(t.shm.stampGen, 0, 0, 5);
      const t1: number = yield { kind: 'now' };
      t.shm.stampIndex[0] = r === 'timed-out' ? 1 : 2;
      t.aux = Math.round((t1 - t0) / 1e6);
      yield 'after';
    } else {
      yield 'tick';
    }
  },
};
