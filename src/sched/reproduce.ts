// From a free-mode failure to a repro file. A violation found by real threads carries every
// task's recent flight records: they name the tasks and the operation numbers involved, and the
// order in which those tasks reached their schedule points. Operations are a pure function of
// (seed, task, opNo), so they can be rebuilt exactly and run under the controlled driver, every
// other actor idle: first in the free run's own order (followed by schedule points,
// src/sched/anchored.ts), then in that order up to the race and explored from there, then
// explored plainly, taking turns with exploration of the scenario's own workloads (the rebuilt
// operations lack the model state the free run had reached: reproduceFree), until a schedule
// breaks the same invariant: that schedule is a repro file, if it is the same find
// (src/sched/signature.ts: the same invariant, reporting role and operation kind, schedule point
// and page state kind; another bug breaking the same invariant is not this one). The operation
// sets go from the reporting task and its partners on the page to every task that stepped in the
// window; a flight ring holds a task's last steps only, so each set is also tried with one and two
// earlier operations per task.
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import type { ViolationRecord } from '../check/violations.ts';
import { opRng, rng, type Rng } from '../kernel/rng.ts';
import { explore, mergeStats, stepBoundFor, type ExploreStats, type Find } from './explore.ts';
import { ControlledDriver, DEFAULT_MAX_STEPS } from './controlled.ts';
import { makeStrategy, portfolio, specName, type Strategy, type StrategySpec } from './strategies/index.ts';
import { AnchoredStrategy, flightAnchors, type Anchor } from './anchored.ts';
import { iterationSignature, recordSignature, sameSignature, type FindSignature } from './signature.ts';

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

/** The narrow sets: the reporting task's operation and, of each partner (a task that stepped on
 * the violation's page inside the race window, from the start of the reporter's operation), its
 * last operation on the page (`through: false`: the one that changed the page under the
 * reporter, as the race report shows it, src/report/interleaving.ts), or that one and every later
 * one up to the report (`through: true`: what it did afterwards can be what the reporter then
 * read; patch4 seed 1 in free mode: the truncator deleted the page in one truncate and grew the
 * file again in another, both while the mapper was preempted between its page->mapping check and
 * its i_size_read). Tasks that never touched the page are left out (the window of a reporter
 * preempted for long holds thousands of steps of theirs). `before` earlier operations are added
 * to each. A whole-state violation (no page, no task) has none: []. */
export function partnerTasks(v: ViolationRecord, actors: number, before = 0, through = false): Involved[] {
  if (v.task < 0 || v.page < 0 || v.op < 0) return [];
  const mine = v.flight.filter((f) => f.task === v.task && f.op === v.op);
  const from = mine.length ? Math.min(...mine.map((f) => f.seq)) : v.seq;
  const onPage = new Map<number, number>([[v.task, v.op]]);
  const last = new Map<number, number>([[v.task, v.op]]);
  for (const f of v.flight) {
    if (f.task < 0 || f.task >= actors || f.op < 0 || f.task === v.task || f.seq > v.seq) continue;
    last.set(f.task, Math.max(last.get(f.task) ?? -1, f.op));
    if (f.page === v.page && f.seq >= from) onPage.set(f.task, Math.max(onPage.get(f.task) ?? -1, f.op));
  }
  return [...onPage].sort((a, b) => a[0] - b[0]).map(([task, op]) => {
    const first = Math.max(0, op - before);
    const end = through ? Math.max(op, last.get(task) ?? op) : op;
    return { task, ops: Array.from({ length: end - first + 1 }, (_, i) => first + i) };
  });
}

export interface ReproduceOptions {
  scenario: Scenario;
  /** the free run's configuration (its seed rebuilds the operations) */
  cfg: RunConfig;
  lock: PageLock;
  violation: ViolationRecord;
  /** at most this many controlled iterations in all */
  iterations: number;
  /** earlier operations to try adding per task, 0..attempts-1 (default 3) */
  attempts?: number;
  durationMs?: number;
  depth?: number;
  maxSteps?: number;
  now?: () => number;
  /** about once a second while searching (the heartbeat run --reproduce prints) */
  onProgress?: (p: ReproduceProgress) => void;
  progressMs?: number;
}

export interface ReproduceProgress {
  elapsedMs: number;
  /** controlled iterations so far */
  iterations: number;
  /** the operation sets tried so far */
  sets: number;
  /** what is being tried now, in words */
  now: string;
}

export interface Reproduction {
  find: Find | null;
  /** the operations of the find (or, with none, of the widest set tried) */
  involved: Involved[];
  stats: ExploreStats[];
  elapsedMs: number;
  /** how the find came: 'free interleaving' (the free run's own order, followed by its schedule
   * points), 'free interleaving, then <strategy>' (its order up to the race, explored from there),
   * or the exploring strategy's name */
  how: string | null;
  /** controlled iterations in all */
  iterations: number;
}

/** `how` of a find made in lane C: a workload of the scenario's own, not the free run's
 * operations (followed by ', <strategy>'). */
export const WORKLOADS_HOW = 'fresh workloads';
/** Operations per actor of lane C's workloads: explore's default --ops-per-actor. */
export const WORKLOAD_OPS = 4;

/** One operation set to search: the operations rebuilt from the seed and the free run's
 * interleaving of them (src/sched/anchored.ts). */
interface Attempt {
  involved: Involved[];
  ops: Op[][];
  anchors: Anchor[];
  what: string;
  /** every task that stepped in the window (not only the partners on the page) */
  wide: boolean;
  /** earlier operations added per task */
  before: number;
  /** names its iterations' schedule streams */
  key: number;
  /** the next iteration of plain exploration (lane A) and of lane B */
  plain: number;
  other: number;
  stats: ExploreStats;
}

/**
 * Search the controlled driver for the free run's find, using what the free run knows:
 *   1. its own interleaving: for each operation set (the reporting task and its partners' last
 *      operations on the page; the partners from there to the report; every task that stepped in
 *      the window; each with 0, 1, 2 earlier operations), the flight records' order followed by
 *      schedule points (src/sched/anchored.ts), one run each;
 *   2. then three lanes taking turns (A, B, C, B): plain exploration of every task in the window
 *      (lane A, what the search did before it followed the free run); set by set (the smallest
 *      most often), plain exploration of the set, now and then from the free run's order up to a
 *      point near the race (lane B, every other turn); and the scenario's own workloads from the
 *      start, as `explore` runs them (lane C, WORKLOADS_HOW); every other turn once two rounds
 *      broke nothing at all on the free run's operations.
 * Until a find with the violation's signature, the iteration limit or the time limit.
 *
 * Why lane C: the free run's operations are rebuilt exactly, but not the state they ran in. The
 * search starts them from the scenario's initial model (every file whole, every page cached),
 * while the free run was thousands of operations in (pages truncated or reclaimed, PTEs zapped).
 * A race that needs that state cannot happen on the rebuilt operations under any schedule:
 * patch4 free finds reported by the faulter (its fault-around, filemap_map_pages(), maps a page
 * truncate_pagecache() is deleting) need the faulted page and its neighbours to be absent; from
 * the initial model the previous fault's fault-around has mapped them all, the reporter's fault
 * finds its PTE present and never calls ->map_pages. Those searches ran out their budget without
 * a single violation of any kind, and running each task's earlier operations first (32, 256, all
 * of them, in their estimated order) did not rebuild that state either: the interleaving that
 * made it is not recorded. Controlled exploration of fresh workloads reaches the same bug (the
 * same signature: the same invariant, reporting role and operation kind, schedule point and page
 * state kind) in a few thousand iterations, as `explore` does.
 */
export function reproduceFree(o: ReproduceOptions): Reproduction {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const roles = o.scenario.roles(o.cfg);
  const want = freeSignature(o.scenario, o.cfg, roles, o.violation);
  const driver = new ControlledDriver({ scenario: o.scenario, cfg: o.cfg, lock: o.lock });
  const maxSteps = o.maxSteps ?? DEFAULT_MAX_STEPS;
  const specs = portfolio(o.depth ?? 3);
  const strategies: Strategy[] = specs.map(makeStrategy);
  const progressMs = o.progressMs ?? 1_000;
  let nextBeat = t0 + progressMs;
  let total = 0;

  // the sets, narrow first, without repeats
  const attempts: Attempt[] = [];
  const seen = new Map<string, Attempt>();
  const add = (involved: Involved[], what: string, wide: boolean, before: number) => {
    const key = JSON.stringify(involved);
    if (!involved.length) return;
    const same = seen.get(key);
    if (same) {
      if (wide && !same.wide) Object.assign(same, { wide, before, what });
      return;
    }
    const ops: Op[][] = roles.map(() => []);
    const index = new Map<string, number>();
    for (const inv of involved) {
      ops[inv.task] = inv.ops.map((n) => o.scenario.nextOp(roles[inv.task], opRng(o.cfg.seed, inv.task, n), o.cfg, inv.task));
      inv.ops.forEach((n, k) => index.set(`${inv.task}:${n}`, k));
    }
    const anchors = flightAnchors(o.violation.flight, (t, op) => index.get(`${t}:${op}`) ?? -1);
    const a: Attempt = { involved, ops, anchors, what, wide, before, key: attempts.length, plain: 0, other: 0, stats: emptyStats(specs) };
    attempts.push(a);
    seen.set(key, a);
  };
  for (let before = 0; before < (o.attempts ?? 3); before++) {
    add(partnerTasks(o.violation, roles.length, before), 'the reporting task and its partners\' last operations on the page', false, before);
    add(partnerTasks(o.violation, roles.length, before, true), 'the reporting task and its partners from their last operation on the page', false, before);
    add(involvedTasks(o.violation, roles.length, before), 'every task that stepped in the window', true, before);
  }

  // lane C's iterations (below)
  let workloads = emptyStats(specs);
  const done = (a: Attempt | null, find: Find | null, how: string | null): Reproduction => ({
    find, involved: a ? a.involved : attempts.length ? attempts[attempts.length - 1].involved : [],
    stats: [...attempts, { stats: workloads }].map((x) => ({ ...x.stats, elapsedMs: now() - t0 })), elapsedMs: now() - t0, how, iterations: total,
  });
  const outOfTime = () => !!o.durationMs && now() - t0 >= o.durationMs;

  /** Iteration i of attempt a with strategy s; the find when it has the violation's signature. */
  const run = (a: Attempt, s: Strategy, r: Rng, i: number, label: string): Find | null => {
    total++;
    const bound = stepBoundFor(maxSteps, a.ops);
    // fatal signals from outside where the scenario has them (Scenario.signalEvents), as explore
    // sends them: a free run's killer sends them too
    const signalRng = driver.signalEvents ? rng(o.cfg.seed, 'reproduce', 'signals', a.key, label, i) : undefined;
    const res = driver.runIteration({ ops: a.ops, strategy: s, rng: r, signalRng, maxSteps: bound });
    a.stats.iterations++;
    a.stats.steps += res.steps;
    a.stats.decisions += res.decisions;
    a.stats.maxDecisions = Math.max(a.stats.maxDecisions, res.decisions);
    if (!res.violation) return null;
    a.stats.finds++;
    a.stats.findsById[res.violation.id] = (a.stats.findsById[res.violation.id] ?? 0) + 1;
    const signature = iterationSignature(driver.shm, driver.roles, a.ops, res.violation);
    if (!sameSignature(signature, want)) return null;
    a.stats.stoppedBy = 'find';
    return {
      iteration: i, strategy: label, opsSeed: null, ops: a.ops, schedule: Array.from(res.schedule), steps: res.steps, decisions: res.decisions,
      switches: res.switches, maxSteps: bound, violation: res.violation, signature,
    };
  };
  const beat = (a: Attempt) => {
    if (!o.onProgress) return;
    const t = now();
    if (t < nextBeat) return;
    nextBeat = t + progressMs;
    o.onProgress({ elapsedMs: t - t0, iterations: total, sets: attempts.filter((x) => x.stats.iterations > 0).length, now: `${a.what} (${who(a.involved)})` });
  };

  // 1. the free run's own order, once per set
  for (const a of attempts) {
    if (!a.anchors.length) continue;
    const f = run(a, new AnchoredStrategy(a.anchors, a.ops.map((l) => l.length)), rng(o.cfg.seed, 'reproduce', 'anchored'), 0, 'free interleaving');
    if (f) return done(a, f, 'free interleaving');
  }
  // 2. three lanes, taking turns of LANE_MS (or LANE_ITERATIONS without a time limit: then the
  //    search is deterministic) in the order A, B, C, B: lane A explores every task that
  //    stepped in the window plainly, the iterations the search ran before it followed the free
  //    run (the portfolio, seed '<seed>/reproduce/0'); lane B takes the sets in turn, the
  //    cheapest most often, and explores each plainly, one iteration in four following the free
  //    run's order up to a point near the race first (iteration i gives up the last
  //    1 + (i / 16) mod k runs of the order; strategy (i / 4) mod 4). Measured on patch4's free
  //    finds (seeds 1-5): the finds past step 1 came from plain exploration of the reporter and
  //    its partner's last operation on the page (lane B) and of the whole window (lane A); lane
  //    C explores the scenario's own workloads (WORKLOAD_OPS operations per actor from the op
  //    streams seeded '<seed>/reproduce/workloads.<i>', iteration i's schedule from
  //    rng('<seed>/reproduce/workloads', 'sched', i): explore() itself), for the finds whose
  //    operations need a state the initial model does not have (above)
  // a set with one busy actor has one schedule, run in step 1: nothing to explore
  const explorable = attempts.filter((a) => a.ops.filter((l) => l.length > 0).length >= 2);
  const wide = explorable.find((a) => a.wide && a.before === 0) ?? null;
  const timed = !!o.durationMs;
  let turn = 0;
  let fresh = 0;
  for (let turns = 0; total < o.iterations && !outOfTime(); turns++) {
    // two rounds in which the rebuilt operations broke nothing at all: they lack the state the
    // bug needs (above), lane C gets every other turn
    const starved = turns >= 2 * LANES.length && attempts.every((a) => a.stats.finds === 0);
    const lane = (starved ? LANES_STARVED : LANES)[turns % LANES.length];
    const until = now() + LANE_MS;
    const more = (j: number) => total < o.iterations && (timed ? now() < until && !outOfTime() : j < LANE_ITERATIONS);
    if (lane === 'C') {
      const e = explore({
        scenario: o.scenario, cfg: o.cfg, lock: o.lock, strategies: specs, opsPerActor: WORKLOAD_OPS, seed: `${o.cfg.seed}/reproduce/workloads`,
        start: fresh, iterations: Math.min(timed ? Infinity : LANE_ITERATIONS, o.iterations - total), maxSteps, now,
        durationMs: timed ? Math.max(1, Math.min(until, t0 + o.durationMs!) - now()) : 0,
        keepGoing: true, until: (f) => sameSignature(f.signature, want),
      });
      fresh += e.stats.iterations;
      total += e.stats.iterations;
      workloads = mergeStats([workloads, e.stats]);
      const f = e.stats.stoppedBy === 'find' ? e.finds[e.finds.length - 1] : null;
      if (f) {
        workloads.stoppedBy = 'find';
        const involved = f.ops.map((l, task) => ({ task, ops: l.map((_, n) => n) })).filter((i) => i.ops.length);
        return { ...done(null, f, `${WORKLOADS_HOW}, ${f.strategy}`), involved };
      }
      if (o.onProgress && now() >= nextBeat) {
        nextBeat = now() + progressMs;
        o.onProgress({ elapsedMs: now() - t0, iterations: total, sets: attempts.filter((x) => x.stats.iterations > 0).length, now: `the scenario's own workloads (${fresh} so far)` });
      }
      continue;
    }
    if (lane === 'A') {
      if (!wide) continue;
      for (let j = 0; more(j); j++) {
        const i = wide.plain++;
        const s = strategies[i % strategies.length];
        const f = run(wide, s, rng(`${o.cfg.seed}/reproduce/0`, 'sched', i), i, s.name);
        if (f) return done(wide, f, s.name);
        beat(wide);
      }
      continue;
    }
    // the cheapest sets most often (a ruler sequence: the set with the fewest operations every
    // other turn, the next every fourth, ...): a reporter and one partner explore in a fraction
    // of a millisecond per iteration, a window of hundreds of operations in tens
    const lanes = explorable.filter((a) => a.anchors.length > 1 || a !== wide).sort((x, y) => opCount(x) - opCount(y) || x.key - y.key);
    if (!lanes.length) continue;
    const a = lanes[Math.min(ruler(++turn), lanes.length - 1)];
    for (let j = 0; more(j); j++) {
      const i = a.other++;
      const s = strategies[(i >> 2) % strategies.length];
      if (a.anchors.length > 1 && (i % 4 === 0 || a === wide)) {
        const keep = a.anchors.length - 1 - ((i >> 4) % Math.min(a.anchors.length - 1, 16));
        const how = `free interleaving, then ${s.name}`;
        const f = run(a, new AnchoredStrategy(a.anchors.slice(0, keep), a.ops.map((l) => l.length), s), rng(o.cfg.seed, 'reproduce', 'prefix', a.key, i), i, how);
        if (f) return done(a, f, how);
      } else {
        const f = run(a, s, rng(o.cfg.seed, 'reproduce', 'explore', a.key, i), i, s.name);
        if (f) return done(a, f, s.name);
      }
      beat(a);
    }
  }
  for (const x of [...attempts, { stats: workloads }]) x.stats.stoppedBy = outOfTime() ? 'duration' : 'iterations';
  return done(null, null, null);
}

const opCount = (a: Attempt) => a.ops.reduce((n, l) => n + l.length, 0);

/** 0 for odd n, 1 for n = 2 mod 4, 2 for n = 4 mod 8, ...: the trailing zero bits of n > 0. */
const ruler = (n: number) => 31 - Math.clz32(n & -n);

/** How long one lane runs before the other's turn, and (without a time limit) how many
 * iterations. */
const LANE_MS = 500;
const LANE_ITERATIONS = 100;
/** The lanes' turns (step 2 of reproduceFree); once two rounds of them broke nothing on the
 * free run's operations, LANES_STARVED. */
const LANES = ['A', 'B', 'C', 'B'] as const;
const LANES_STARVED = ['A', 'C', 'B', 'C'] as const;

const emptyStats = (specs: StrategySpec[]): ExploreStats => ({
  iterations: 0, steps: 0, decisions: 0, maxDecisions: 0, finds: 0, findsById: {}, elapsedMs: 0, driverMs: 0, stoppedBy: 'iterations',
  strategies: ['anchored (the free run\'s interleaving)', ...specs.map(specName)],
});

/** 'task 0 op 12, task 2 ops 40-43', 'task 2 ops 40, 97' */
export const who = (involved: Involved[]): string =>
  involved.map((i) => `task ${i.task} op${i.ops.length > 1 ? 's' : ''} ${opList(i.ops)}`).join(', ');

/** '12', '40-43', '40, 97-98' */
function opList(ops: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ops.length;) {
    let j = i;
    while (j + 1 < ops.length && ops[j + 1] === ops[j] + 1) j++;
    parts.push(j > i ? `${ops[i]}-${ops[j]}` : String(ops[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

/** The signature of a free-mode violation: its operation kind from the op stream (operations are
 * a function of the seed, the task and the operation number). */
export function freeSignature(scenario: Scenario, cfg: RunConfig, roles: readonly string[], v: ViolationRecord): FindSignature {
  return recordSignature(v, (t) => roles[t] ?? '?', (t, op) => scenario.nextOp(roles[t], opRng(cfg.seed, t, op), cfg, t).kind);
}
