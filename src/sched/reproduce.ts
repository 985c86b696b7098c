// From a free-mode failure to a repro file. A violation found by real threads carries every
// task's recent flight records; from the first step on the violation's page to the violation,
// they name the tasks and the operation numbers involved. Operations are a pure function of
// (seed, task, opNo), so they can be rebuilt exactly and explored under the controlled driver,
// every other actor idle, until a schedule breaks the same invariant: that schedule is a repro
// file, if it is the same find (src/sched/signature.ts: the same invariant, reporting role and
// operation kind, schedule point and page state kind; another bug breaking the same invariant
// is not this one). A flight ring holds a task's last steps only: when the window is longer than that, the
// earlier operations come in on later attempts (one more operation per task each).
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import type { ViolationRecord } from '../check/violations.ts';
import { opRng } from '../kernel/rng.ts';
import { explore, type ExploreStats, type Find } from './explore.ts';
import { portfolio } from './strategies/index.ts';
import { recordSignature, sameSignature, type FindSignature } from './signature.ts';

export interface Involved {
  task: number;
  /** the operation numbers to rebuild, oldest first */
  ops: number[];
}

/** The tasks that took steps in the violation's window, and the operations they were in: the
 * window opens at the first recorded step on the violation's page (or the reporting task's
 * oldest record) and closes at the violation. `before` earlier operations of each are added:
 * state they set up, or steps a task's flight ring no longer holds. */
export function involvedTasks(v: ViolationRecord, actors: number, before = 0): Involved[] {
  const onPage = v.page >= 0 ? v.flight.filter((f) => f.page === v.page) : [];
  const own = v.flight.filter((f) => f.task === v.task);
  const from = onPage.length ? Math.min(...onPage.map((f) => f.seq)) : own.length ? Math.min(...own.map((f) => f.seq)) : -Infinity;
  const range = new Map<number, [number, number]>();
  const add = (task: number, op: number) => {
    if (task < 0 || task >= actors || op < 0) return;
    const r = range.get(task);
    range.set(task, r ? [Math.min(r[0], op), Math.max(r[1], op)] : [op, op]);
  };
  add(v.task, v.op);
  for (const f of v.flight) if (f.seq >= from) add(f.task, f.op);
  return [...range].sort((a, b) => a[0] - b[0]).map(([task, [lo, hi]]) => {
    const first = Math.max(0, lo - before);
    return { task, ops: Array.from({ length: hi - first + 1 }, (_, i) => first + i) };
  });
}

export interface ReproduceOptions {
  scenario: Scenario;
  /** the free run's configuration (its seed rebuilds the operations) */
  cfg: RunConfig;
  lock: PageLock;
  violation: ViolationRecord;
  /** iterations per attempt (each attempt adds one earlier operation per task) */
  iterations: number;
  /** earlier operations to try adding per task, 0..attempts-1 (default 3) */
  attempts?: number;
  durationMs?: number;
  depth?: number;
  maxSteps?: number;
  now?: () => number;
}

export interface Reproduction {
  find: Find | null;
  involved: Involved[];
  stats: ExploreStats[];
  elapsedMs: number;
}

export function reproduceFree(o: ReproduceOptions): Reproduction {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const roles = o.scenario.roles(o.cfg);
  const stats: ExploreStats[] = [];
  let involved: Involved[] = [];
  const want = freeSignature(o.scenario, o.cfg, roles, o.violation);
  for (let before = 0; before < (o.attempts ?? 3); before++) {
    involved = involvedTasks(o.violation, roles.length, before);
    const ops: Op[][] = roles.map(() => []);
    for (const inv of involved)
      ops[inv.task] = inv.ops.map((n) => o.scenario.nextOp(roles[inv.task], opRng(o.cfg.seed, inv.task, n), o.cfg, inv.task));
    const left = o.durationMs ? Math.max(1, o.durationMs - (now() - t0)) : 0;
    const r = explore({
      scenario: o.scenario, cfg: o.cfg, lock: o.lock, strategies: portfolio(o.depth ?? 3), iterations: o.iterations,
      durationMs: left, opsPerActor: 0, seed: `${o.cfg.seed}/reproduce/${before}`, ops, keepGoing: true, maxSteps: o.maxSteps, now,
      until: (f) => sameSignature(f.signature, want),
    });
    stats.push(r.stats);
    const find = r.stats.stoppedBy === 'find' ? r.finds[r.finds.length - 1] : undefined;
    if (find) return { find, involved, stats, elapsedMs: now() - t0 };
    if (o.durationMs && now() - t0 >= o.durationMs) break;
  }
  return { find: null, involved, stats, elapsedMs: now() - t0 };
}

/** The signature of a free-mode violation: its operation kind from the op stream (operations are
 * a function of the seed, the task and the operation number). */
export function freeSignature(scenario: Scenario, cfg: RunConfig, roles: readonly string[], v: ViolationRecord): FindSignature {
  return recordSignature(v, (t) => roles[t] ?? '?', (t, op) => scenario.nextOp(roles[t], opRng(cfg.seed, t, op), cfg, t).kind);
}
