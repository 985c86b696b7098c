// Scenario `lock-order`: the latent lock-order inversion that the 5.9 fair hand-off turned into a
// deadlock (Matthieu Baerts' MPTCP hang; Linus's explanation, Msg-ID
// CAHk-=wgZEUoiGoKh92stUh3sBA-7D24i6XqQN2UMm3u4=XkQkg@mail.gmail.com, kernel-protocols §5.7):
//
//   thread A: lock_page(); do something
//   thread B: lock_page()  -> blocks
//   thread A: unlock_page()  -> fair case: lock transferred to B
//             .. do more work
//             lock_page()    -> blocks: B already owns the lock
//   thread B: does something that requires A to have continued  -> ABBA deadlock
//
// "with the unfair locks, thread A would get the page lock and finish whatever it did". The bug is
// the callers' (an ABBA that "has never worked with lockdep"), not the lock's: the fair lock only
// makes the bad interleaving the common one. Here the "something" is I/O on a second page Y:
//
//   submitter (A)  lock_page(X); hold; SetPageWriteback(Y)   -- starts I/O on Y under X
//                  unlock_page(X); lock_page(X) at once      -- holds "Y under writeback" across lock_page(X)
//                  end_page_writeback(Y); unlock_page(X)     -- completes Y's I/O only now
//   waiter (B)     lock_page(X); wait_on_page_writeback(Y); unlock_page(X)
//
// B waits for Y's writeback holding X; A ends Y's writeback only after re-taking X. If B gets X in
// the window between A's unlock and A's re-lock, neither can go on. With the fair hand-off
// (v5.9, or v5.9-rc6 once a waiter's unfairness is used up) B gets X at A's unlock whenever it was
// queued; with wake-then-race (v4.10 / v4.14, v5.9-rc6 before k steals) A's immediate re-lock takes the
// fast path and wins unless B runs in between. Actors come in pairs (even task: submitter, odd:
// waiter), pair p on pages 2p (X) and 2p + 1 (Y).
//
// Detection: the controlled driver reports DEADLOCK (no actor can run); in free mode the watchdog
// reports HUNG (B's wait is on a bit with no owner, so the wait-for graph has no cycle to see).
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, type Rng } from '../kernel/rng.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { CTL } from '../shm/layout.ts';
import { NIL, PG_writeback, type Shm } from '../shm/shm.ts';
import type { CellSpec } from '../kernel/cells.ts';

export const LOCK_ORDER_ROLES = ['submitter', 'waiter'] as const;
/** Schedule points A spends in "do something" while holding X: 1..MAX_HOLD. */
export const MAX_HOLD = 3;

/** The pages of pair p: X (the page lock both take) and Y (the page under writeback). */
export const pairPages = (task: number): { x: number; y: number } => ({ x: 2 * (task >> 1), y: 2 * (task >> 1) + 1 });

/** test_set_page_writeback(): PG_writeback on a page whose I/O this task now owns. */
function* setPageWriteback(t: Task, pfn: number): Step {
  t.page = pfn;
  yield 'set_page_writeback';
  t.writebackStarted(pfn);
  Atomics.or(t.shm.flags, pfn, PG_writeback);
}

export const lockOrderScenario: Scenario = {
  name: 'lock-order',
  description: 'latent ABBA (page lock X vs writeback of page Y) that the fair lock hand-off turns into a deadlock (MPTCP hang, kernel-protocols §5.7)',
  invariants: ['DEADLOCK', 'HUNG', 'LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'CRASH'],

  validate(cfg) {
    if (cfg.workers < 2 || cfg.workers % 2 !== 0) return `lock-order runs submitter/waiter pairs: --workers must be even (got ${cfg.workers})`;
    return null;
  },

  roles(cfg) {
    return Array.from({ length: cfg.workers }, (_, i) => LOCK_ORDER_ROLES[i % 2]);
  },

  sizes(cfg) {
    return { pages: Math.max(2, cfg.workers), buckets: cfg.buckets, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1 };
  },

  init(shm: Shm) {
    // every page is in use (refcount 1), unlocked, not under writeback; nothing is allocated
    shm.flags.fill(0);
    shm.refcount.fill(1);
    shm.freeNext.fill(NIL);
    shm.ctl[CTL.FREE_HEAD] = NIL;
    shm.ctl[CTL.FREE_COUNT] = 0;
  },

  nextOp(role: string, r: Rng, _cfg: RunConfig, task: number): Op {
    const { x, y } = pairPages(task);
    const hold = 1 + below(r, MAX_HOLD);
    return role === 'submitter' ? { kind: 'submit', args: [x, y, hold] } : { kind: 'wait', args: [x, y] };
  },

  *runOp(t: Task, _role: string, op: Op): Step {
    const L = t.ops.lock;
    const [x, y, hold] = op.args;
    t.page = x;
    if (op.kind === 'submit') {
      yield* L.lockPage(t, x);
      for (let i = 0; i < hold; i++) {
        t.page = x;
        yield 'do_something';
      }
      yield* setPageWriteback(t, y);
      yield* L.unlockPage(t, x);
      // ".. do more work" — short: A is back in lock_page(X) at once, well within a wakeup latency
      yield* L.lockPage(t, x); // the inversion: "Y under writeback" is held across lock_page(X)
      yield* L.endPageWriteback(t, y);
      yield* L.unlockPage(t, x);
    } else if (op.kind === 'wait') {
      yield* L.lockPage(t, x);
      yield* L.waitOnPageWriteback(t, y); // "does something that requires A to have continued"
      yield* L.unlockPage(t, x);
    } else {
      throw new Error(`lock-order: unknown op '${op.kind}'`);
    }
  },
};

// ---- matrix cells -------------------------------------------------------------------------------
// The scenario is buggy by construction (the callers' latent ABBA); the cells say which lock
// algorithm makes it the common interleaving. Measured (free mode, 2 workers, --perturb off
// --no-stutter, seeds 1-5): v5.9 stalls after a median of ~330 operations, v4.14 (then named v4.10) after ~1,800,
// v5.9-rc6 (k = 5) after ~2,300 — every algorithm gets there, because B does win A's re-race now
// and then (a preempted A). With the default perturbation (seeded sleeps at schedule points) all
// three stall within a second, and controlled mode, which does not model wake-up latency, finds
// it under all of them in ~40% of iterations. Hence 'open' for the unfair ones.
const MPTCP = 'Linus, Msg-ID CAHk-=wgZEUoiGoKh92stUh3sBA-7D24i6XqQN2UMm3u4=XkQkg@mail.gmail.com; kernel-protocols §5.7';
const PAIR = { workers: 2 } as const;
const PAIR_CONTROLLED = { workers: 2, opsPerActor: 3 } as const;

export const LOCK_ORDER_CELLS: readonly CellSpec[] = [
  {
    name: 'lock-order/v5.9', scenario: 'lock-order', cfg: { lock: 'v5.9', ...PAIR }, controlled: PAIR_CONTROLLED,
    expected: { breaks: ['DEADLOCK', 'HUNG'] }, source: MPTCP,
    reasoning: 'fair hand-off: when A unlocks X with B queued, X goes to B; A blocks in its immediate re-lock and B waits for the '
      + 'writeback A ends only after that re-lock — the MPTCP hang',
  },
  {
    name: 'lock-order/v5.9-rc6-k0', scenario: 'lock-order', cfg: { lock: 'v5.9-rc6', unfairness: 0, ...PAIR }, controlled: PAIR_CONTROLLED,
    expected: { breaks: ['DEADLOCK', 'HUNG'] }, source: MPTCP,
    reasoning: 'sysctl_page_lock_unfairness = 0 makes every exclusive wait a hand-off wait: the v5.9 behaviour',
  },
  {
    name: 'lock-order/v5.9-rc6', scenario: 'lock-order', cfg: { lock: 'v5.9-rc6', ...PAIR }, controlled: PAIR_CONTROLLED,
    expected: 'open', source: MPTCP,
    reasoning: "bounded unfairness (k = 5): B's first waits are not hand-off waits, so A's immediate re-lock usually wins, as with "
      + 'v4.14; the ABBA is still there whenever B wins the race (report how soon it shows)',
  },
  {
    name: 'lock-order/v4.14', scenario: 'lock-order', cfg: { lock: 'v4.14', ...PAIR }, controlled: PAIR_CONTROLLED,
    expected: 'open', source: MPTCP,
    reasoning: '"with the unfair locks, thread A would get the page lock and finish whatever it did": wake-then-race lets A\'s '
      + 'immediate re-lock win unless B runs in between; the latent ABBA is reachable but rare (report how soon it shows)',
  },
];
