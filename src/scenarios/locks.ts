// Scenario `locks`: page-lock torture, in the spirit of kernel/locking/locktorture.c.
//
// Every actor is a locker. Each operation picks a page with a Zipf-ish choice (a few pages are
// hot, so the slow paths, hand-offs and steals all happen) and does one of: lock_page, trylock_page,
// lock_page_killable, wait_on_page_locked; odd-numbered tasks also send fatal signals to others, so
// killable waits really return -EINTR (and in controlled mode, with --signal-events, a fatal signal
// can also arrive from outside at any decision, to a task in a killable wait). While it holds a page lock a task updates the page's data
// non-atomically (read, schedule points, write + 1): if two tasks ever hold the lock at once an
// update is lost, which the quiescent check sees even if the shadow-owner check were blind.
import type { Finding, Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, zipf, type Rng } from '../kernel/rng.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { CTL } from '../shm/layout.ts';
import { NIL, WQ_FLAG_WOKEN, type Shm } from '../shm/shm.ts';
import { sendFatalSignal } from '../locks/index.ts';
import { WQ_TASK_KILLABLE } from '../locks/waitqueue.ts';

/** Operation mix, per mille of a task's operations (signal senders only: see nextOp). */
export const LOCKS_MIX = { lock: 400, killable: 250, trylock: 200, waitlocked: 100, signal: 50 } as const;
/** Schedule points a holder spends in its critical section: 1..MAX_HOLD. */
export const MAX_HOLD = 4;

/** Odd-numbered tasks send fatal signals (when there is someone to signal and --signals is on). */
const sendsSignals = (task: number, cfg: RunConfig) => task % 2 === 1 && cfg.workers > 1 && cfg.extra.signals !== false;

/** --signal-events (with --signals): signals aimed at killable waits, and controlled mode's signal events. */
const aimedSignals = (cfg: RunConfig): boolean => cfg.extra.signals !== false && cfg.extra['signal-events'] === true;

/**
 * The victim of an aimed signal: a task in a killable wait that has been woken (WQ_FLAG_WOKEN: it
 * has not yet acted on the wake-up), else any task in a killable wait, else the drawn victim; among
 * equals the first from the drawn victim on, never the sender, never a task with a fatal signal
 * pending. A signal matters where it races with a wake-up of a killable waiter (the lost wake-ups
 * of kernel history: 777c6c5f1f6e, Oleg's June 2020 report, 5ef64cc8987a); a signal sent to a task
 * that is not waiting only stays pending.
 */
function aimVictim(shm: Shm, self: number, drawn: number, n: number): number {
  let waiting = -1;
  for (let i = 0; i < n; i++) {
    const v = (drawn + i) % n;
    if (v === self || Atomics.load(shm.fatal, v) !== 0) continue;
    const f = Atomics.load(shm.wqFlags, v);
    if (!(f & WQ_TASK_KILLABLE)) continue;
    if (f & WQ_FLAG_WOKEN) return v;
    if (waiting < 0) waiting = v;
  }
  return waiting >= 0 ? waiting : drawn;
}

/**
 * The page's data, guarded by its lock: `stampGen` is updated non-atomically by the holder and
 * `stampIndex` counts (atomically) the updates made. In this scenario the page has no file, so
 * the data-stamp words are free to serve as the protected data.
 */
function* updatePageData(t: Task, pfn: number, holdSteps: number): Step {
  const shm = t.shm;
  t.page = pfn;
  const seen = shm.stampGen[pfn];
  for (let i = 0; i < holdSteps; i++) yield 'hold';
  shm.stampGen[pfn] = seen + 1;
  Atomics.add(shm.stampIndex, pfn, 1);
}

export const locksScenario: Scenario = {
  name: 'locks',
  description: 'lockers lock / trylock / killable-lock / wait-on a Zipf-hot set of pages, hold, unlock; some send fatal signals',
  options: [
    { name: 'signals', kind: 'bool', default: true, help: 'odd-numbered tasks send fatal signals, so killable waits return -EINTR' },
    {
      name: 'signal-events', kind: 'bool', default: true,
      help: 'with --signals, fatal signals are aimed at killable waits: a signal operation hits a task whose killable wait was woken, else one in a '
        + 'killable wait, else its drawn victim; in controlled mode a signal may also arrive from outside the tasks at any decision, where the '
        + 'strategy places it (docs/strategies.md)',
    },
  ],
  invariants: ['LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-FAIR', 'LOCK-WAKE', 'DEADLOCK', 'HUNG', 'CRASH'],

  // true only when set (the CLI sets its default): repro files written before the option replay
  // with the signals they were recorded with
  signalEvents: (cfg) => aimedSignals(cfg),

  roles(cfg) {
    return Array.from({ length: cfg.workers }, () => 'locker');
  },

  sizes(cfg) {
    return { pages: cfg.pages, buckets: cfg.buckets, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1 };
  },

  init(shm: Shm) {
    // every page is in use (refcount 1, unmapped, unlocked, data counter 0): nothing is allocated
    shm.flags.fill(0);
    shm.refcount.fill(1);
    shm.freeNext.fill(NIL);
    shm.ctl[CTL.FREE_HEAD] = NIL;
    shm.ctl[CTL.FREE_COUNT] = 0;
  },

  nextOp(_role: string, r: Rng, cfg: RunConfig, task: number): Op {
    // a fixed number of draws in a fixed order: the op depends on (seed, task, opNo) only
    const pick = below(r, 1000);
    const pfn = zipf(r, cfg.pages);
    const hold = 1 + below(r, MAX_HOLD);
    const victimDraw = below(r, Math.max(1, cfg.workers - 1));
    let p = pick;
    if ((p -= LOCKS_MIX.lock) < 0) return { kind: 'lock', args: [pfn, hold] };
    if ((p -= LOCKS_MIX.killable) < 0) return { kind: 'killable', args: [pfn, hold] };
    if ((p -= LOCKS_MIX.trylock) < 0) return { kind: 'trylock', args: [pfn, hold] };
    if ((p -= LOCKS_MIX.waitlocked) < 0) return { kind: 'waitlocked', args: [pfn] };
    if (!sendsSignals(task, cfg)) return { kind: 'lock', args: [pfn, hold] };
    return { kind: 'signal', args: [(task + 1 + victimDraw) % cfg.workers] }; // never itself
  },

  *runOp(t: Task, _role: string, op: Op, cfg: RunConfig): Step {
    const L = t.ops.lock;
    const [a, hold] = op.args;
    t.page = op.kind === 'signal' ? -1 : a;
    switch (op.kind) {
      case 'lock':
        yield* L.lockPage(t, a);
        yield* updatePageData(t, a, hold);
        yield* L.unlockPage(t, a);
        break;
      case 'trylock':
        if (yield* L.trylockPage(t, a)) {
          yield* updatePageData(t, a, hold);
          yield* L.unlockPage(t, a);
        }
        break;
      case 'killable':
        if ((yield* L.lockPageKillable(t, a)) === 0) {
          yield* updatePageData(t, a, hold);
          yield* L.unlockPage(t, a);
        }
        break;
      case 'waitlocked':
        yield* L.waitOnPageLocked(t, a);
        break;
      case 'signal': {
        const victim = aimedSignals(cfg) ? aimVictim(t.shm, t.id, a, cfg.workers) : a;
        t.aux = victim;
        yield* sendFatalSignal(t, victim);
        break;
      }
      default:
        throw new Error(`locks: unknown op '${op.kind}'`);
    }
    // A pending fatal signal stays pending until a killable sleep returns -EINTR for it (the lock
    // code delivers it there), exactly as a kernel task ignores it in non-killable sleeps.
  },

  quiescentCheck(shm: Shm): Finding[] {
    const out: Finding[] = [];
    for (let pfn = 0; pfn < shm.sizes.pages; pfn++) {
      const data = shm.stampGen[pfn], updates = shm.stampIndex[pfn];
      if (data !== updates)
        out.push({
          id: 'LOCK-EXCL', page: pfn, values: [data, updates],
          message: `lost update under the page lock: page ${pfn} data counter ${data} after ${updates} locked updates`,
        });
    }
    return out;
  },

  summary(shm: Shm) {
    let data = 0, updates = 0;
    for (let pfn = 0; pfn < shm.sizes.pages; pfn++) {
      data += shm.stampGen[pfn];
      updates += shm.stampIndex[pfn];
    }
    return { lockedUpdates: updates, dataCounter: data, lostUpdates: updates - data };
  },
};
