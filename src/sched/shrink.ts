// Shrinking a failing schedule to the few steps that matter. Starting from a repro file, try
// smaller variations and keep one whenever the SAME invariant id still fails, the run has no more
// steps and no more operations, and it is smaller in one of steps, operations, context switches:
//   1. drop a whole actor (it keeps its task id, with no operations);
//   2. drop operations, delta-debugging style (chunks of all operations, halving the chunk size);
//      where the recorded schedule no longer lines up, the kept trace's interleaving is followed
//      by its schedule points instead of its decisions (src/sched/anchored.ts: each actor runs
//      until the point where it was preempted), then a few seeded schedules over what is left are
//      tried (search-based shrinking) and the smallest that still fails is kept. Without the
//      anchored try, a find whose race needs two preemptions among many operations (patch4 seed
//      1: a faulter's fault-around that reads page->mapping, then the truncator shrinks the file,
//      deletes the page and grows the file again before the faulter's i_size_read) was a local
//      minimum at 822 steps and 14 operations: dropping any operation shifted every later
//      decision, and over 12 operations no search was tried;
//   3. drop context switches: cut the tail of the choice list (the replay then keeps running the
//      current actor), remove one run of choices (its neighbours merge), halve a run;
//   4. preempt earlier: follow the schedule to some decision, switch actor there, then run
//      without preemption, when that makes the violation come sooner (one more switch allowed);
//   5. with a handful of operations left, try other operations the same actor's role could have
//      drawn from the scenario's op stream (another truncation size), kept when the trace gets
//      shorter.
// Each kept variation is re-recorded (the choices actually made), so the result replays exactly.
// The search is deterministic (a fixed order of tries, no randomness) and bounded by a number of
// runs and a time budget.
import type { Op } from '../kernel/scenario.ts';
import type { IterationResult, TraceEvent } from './controlled.ts';
import { AnchoredStrategy, traceAnchors } from './anchored.ts';
import { ControlledDriver } from './controlled.ts';
import { opRng, rng } from '../kernel/rng.ts';
import { PctStrategy } from './strategies/pct.ts';
import { RandomStrategy } from './strategies/random.ts';
import { BoundedStrategy } from './strategies/bounded.ts';
import { choiceActor, type Strategy } from './strategies/strategy.ts';
import { iterationSignature, sameSignature, signatureText, type FindSignature } from './signature.ts';
import { fileSignature, runRepro, ReproError, encodeSchedule, violationSummary, type LoadedRepro, type ReproFile } from './repro.ts';

export interface Shape {
  steps: number;
  decisions: number;
  switches: number;
  ops: number;
}

export interface ShrinkOptions {
  /** at most this many trial runs (default 20000) */
  maxRuns?: number;
  /** at most this long, ms (default 30 s) */
  budgetMs?: number;
  now?: () => number;
  /** the driver the trial runs use (default: a new one); the shrink command's worker passes one
   * with a heartbeat, so a trial whose step never returns is seen (src/run/explore-parallel.ts) */
  driver?: ControlledDriver;
}

export interface ShrinkResult {
  ops: Op[][];
  choices: number[];
  /** the final run, traced */
  result: IterationResult;
  before: Shape;
  after: Shape;
  runs: number;
  elapsedMs: number;
  stoppedBy: 'fixpoint' | 'runs' | 'time';
  /** the find every kept candidate matched */
  signature: FindSignature;
}

interface Candidate {
  ops: Op[][];
  choices: number[];
  /** the chosen actor's op number at each decision */
  choiceOps: number[];
  shape: Shape;
}

const totalOps = (ops: Op[][]) => ops.reduce((n, a) => n + a.length, 0);

/** [[task, count], ...] runs of equal choices */
function runsOf(choices: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < choices.length;) {
    let j = i + 1;
    while (j < choices.length && choices[j] === choices[i]) j++;
    out.push([i, j - i]);
    i = j;
  }
  return out;
}

/** Seeded schedules tried per operation set when the recorded one no longer lines up and no
 * schedule with at most one preemption breaks it. */
export const SEARCH_TRIES = 32;
/** ... and only when at most this many operations are left (random schedules rarely hit a
 * narrow window among many operations). */
export const SEARCH_MAX_OPS = 12;
/** Alternative operations drawn per operation, when at most SUBSTITUTE_MAX_OPS are left ... */
export const SUBSTITUTES = 160;
/** ... of which this many are also searched (when the kept schedule does not fit them). */
export const SEARCHED_SUBSTITUTES = 32;
/** At most this many one-preemption schedules are enumerated per operation set. */
export const ENUMERATE_MAX = 600;
export const SUBSTITUTE_MAX_OPS = 4;

export function shrink(l: LoadedRepro, o: ShrinkOptions = {}): ShrinkResult {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const maxRuns = o.maxRuns ?? 20_000;
  const budgetMs = o.budgetMs ?? 30_000;
  const driver = o.driver ?? new ControlledDriver({ scenario: l.scenario, cfg: l.cfg, lock: l.lock });
  const target = l.file.violation.id;
  /** the find to keep (no slippage to another bug that breaks the same invariant): the file's
   * signature, or for a file without one the signature of its first replay */
  let want: FindSignature | undefined = fileSignature(l.file);
  let runs = 0;
  let searches = 0;
  let stoppedBy: ShrinkResult['stoppedBy'] = 'fixpoint';

  const candidate = (ops: Op[][], res: IterationResult): Candidate => ({
    ops, choices: Array.from(res.schedule), choiceOps: Array.from(res.scheduleOps),
    shape: { steps: res.steps, decisions: res.decisions, switches: res.switches, ops: totalOps(ops) },
  });
  // A trial longer than the best so far cannot be kept: stop it there (unless the violation is
  // the step bound itself).
  const bound = () => (target === 'HUNG' ? l.file.maxSteps : Math.min(l.file.maxSteps, best.shape.steps + 1));
  const replay = (ops: Op[][], choices: number[]): Candidate | null => {
    runs++;
    const r = runRepro(l, { ops, choices, driver, maxSteps: first ? bound() : l.file.maxSteps, want });
    if (!first && r.signature) want ??= r.signature;
    return r.reproduced ? candidate(ops, r.result) : null;
  };
  /** A few seeded schedules over `ops` (PCT at depths 2 and 3, random walks); the smallest that
   * still fails with the same id. Deterministic: the seeds depend only on how many searches ran. */
  const search = (ops: Op[][], maxSteps = bound(), pct = true): Candidate | null => {
    const id = searches++;
    let found: Candidate | null = null;
    const tryOne = (strategy: Strategy, k: number): number => {
      runs++;
      const res = driver.runIteration({ ops, strategy, rng: rng('shrink', id, k), signalRng: rng('shrink-signals', id, k), maxSteps });
      if (res.violation?.id === target && sameSignature(iterationSignature(driver.shm, driver.roles, ops, res.violation), want!)) {
        const c = candidate(ops, res);
        if (!found || smaller(c.shape, found.shape)) found = c;
      }
      return res.decisions;
    };
    // the simplest schedules first (CHESS): no preemption from each starting actor, then one
    // preemption at every decision of those runs (before the best trace's length: the kept
    // trace contains it), to every other actor, while that is a few hundred runs
    const actors = ops.map((o, a) => (o.length ? a : -1)).filter((a) => a >= 0);
    const plain = actors.map((a) => Math.min(tryOne(new BoundedStrategy(a), 0), best.shape.steps));
    if (plain.reduce((x, y) => x + y, 0) * (actors.length - 1) <= ENUMERATE_MAX) {
      actors.forEach((a, i) => {
        for (let d = 0; d < plain[i] && !out(); d++)
          for (const b of actors) if (b !== a) tryOne(new BoundedStrategy(a, [[d, b]]), 0);
      });
    }
    if (found || !pct) return found;
    if (found) return found;
    // then seeded PCT (depth 2 is the likeliest to hit one narrow window; each new instance first
    // measures k with one oldest-first run) and random walks
    const strategies: Strategy[] = [new PctStrategy(2), new PctStrategy(3), new PctStrategy(2), new RandomStrategy()];
    for (let k = 0; k < SEARCH_TRIES && !out(); k++) tryOne(strategies[k % 4], k);
    return found;
  };

  let first: Candidate | null = null;
  first = replay(l.ops, l.choices);
  if (!first) {
    const why = want ? ` (${signatureText(want)})` : '';
    throw new ReproError(`the file does not reproduce its ${target} violation${why}, so there is nothing to shrink (replay it to see what happens)`);
  }
  let best = first;
  const before = first.shape;

  function out(): boolean {
    if (stoppedBy !== 'fixpoint') return true;
    if (runs >= maxRuns) stoppedBy = 'runs';
    else if (now() - t0 >= budgetMs) stoppedBy = 'time';
    return stoppedBy !== 'fixpoint';
  }
  /** no more operations, and fewer steps, or as many steps and fewer context switches */
  const fewerSwitches = (c: Shape, b: Shape) =>
    c.ops <= b.ops && (c.steps < b.steps || (c.steps === b.steps && c.switches < b.switches));
  /** fewer operations, no more steps (switches are dealt with afterwards) */
  const fewerOps = (c: Shape, b: Shape) => c.ops < b.ops && c.steps <= b.steps;

  /** The kept candidate's trace (one traced replay per kept candidate). */
  let traced: { of: Candidate; trace: TraceEvent[] } | null = null;
  const traceOf = (c: Candidate): TraceEvent[] => {
    if (traced?.of !== c) {
      runs++;
      traced = { of: c, trace: runRepro(l, { ops: c.ops, choices: c.choices, driver, trace: true, want }).result.trace ?? [] };
    }
    return traced.trace;
  };
  /** The kept trace's interleaving followed by its schedule points (src/sched/anchored.ts) over
   * what is left once `drop` goes: each actor runs until the point where it was preempted, so the
   * race lines up again when the operations that set the scene in between are gone (the recorded
   * choices no longer do: every decision after a dropped one shifts). */
  const anchored = (ops: Op[][], drop: (a: number, k: number) => boolean): Candidate | null => {
    if (out()) return null;
    const trace = traceOf(best);
    const renumber = best.ops.map((list, a) => {
      let k2 = 0;
      return list.map((_, k) => (drop(a, k) ? -1 : k2++));
    });
    const strategy = new AnchoredStrategy(traceAnchors(trace, (a, k) => renumber[a]?.[k] ?? -1), ops.map((list) => list.length));
    runs++;
    const res = driver.runIteration({ ops, strategy, rng: rng('shrink', 'anchored'), maxSteps: bound() });
    if (res.violation?.id !== target || !sameSignature(iterationSignature(driver.shm, driver.roles, ops, res.violation), want!)) return null;
    return candidate(ops, res);
  };
  /** Drop the operations `drop` says (actor, op index): first keep the recorded schedule minus the
   * dropped operations' choices (the rest still lines up with the steps it was made for), else
   * search a few schedules over what is left. */
  const dropOps = (drop: (a: number, k: number) => boolean): boolean => {
    if (out()) return false;
    const ops = best.ops.map((list, a) => list.filter((_, k) => !drop(a, k)));
    const n = totalOps(ops);
    if (n === best.shape.ops || n === 0) return false;
    // a signal event goes with its victim's operation
    const choices = best.choices.filter((c, i) => !drop(choiceActor(c), best.choiceOps[i]));
    let c = replay(ops, choices);
    if (!c || !fewerOps(c.shape, best.shape)) c = anchored(ops, drop) ?? c;
    if ((!c || !fewerOps(c.shape, best.shape)) && n <= SEARCH_MAX_OPS) c = search(ops);
    if (c && fewerOps(c.shape, best.shape)) {
      best = c;
      return true;
    }
    return false;
  };
  const tryChoices = (choices: number[]): boolean => {
    if (out()) return false;
    const c = replay(best.ops, choices);
    if (c && fewerSwitches(c.shape, best.shape)) {
      best = c;
      return true;
    }
    return false;
  };
  /** Follow a schedule up to decision d, switch to actor b there, then run without preemption:
   * the violation may come sooner (after the damage, not at the end of a long op). Returns the
   * variation with the fewest steps, even at the cost of one more context switch, or null. */
  const preemptEarlier = (base: Candidate): Candidate | null => {
    let pick: Candidate | null = null;
    const actors = base.ops.map((o, a) => (o.length ? a : -1)).filter((a) => a >= 0);
    // a switch at decision d comes after at least d steps: past the best trace it cannot help
    const limit = Math.min(base.choices.length, best.shape.steps);
    for (let d = 0; d < limit && !out(); d++) {
      for (const b of actors) {
        if (b === base.choices[d]) continue;
        const c = replay(base.ops, [...base.choices.slice(0, d), b]);
        if (c && c.shape.steps < (pick ?? base).shape.steps && c.shape.ops <= base.shape.ops) pick = c;
      }
    }
    return pick;
  };
  const improve = (c: Candidate): Candidate => {
    for (let better = preemptEarlier(c); better; better = preemptEarlier(c)) c = better;
    return c;
  };
  /** Other operations the same actor could have drawn (the scenario's op stream under another
   * seed) in place of one of its operations: a truncation to another size may reach the page
   * sooner. First every alternative of the same kind under the kept schedule (one run each),
   * then a few alternatives of any kind with a search; kept when, preempted as above, the trace
   * gets shorter. */
  const substitute = (): boolean => {
    const roles = l.scenario.roles(l.cfg);
    const loose = Math.min(l.file.maxSteps, 2 * before.steps + 100);
    const keep = (found: Candidate | null): boolean => {
      if (!found) return false;
      const c = improve(found);
      if (c.shape.steps < best.shape.steps && c.shape.ops <= best.shape.ops) {
        best = c;
        return true;
      }
      return false;
    };
    for (let a = 0; a < best.ops.length; a++) {
      for (let k = 0; k < best.ops[a].length; k++) {
        const alternatives: Op[] = [];
        const seen = new Set(best.ops[a].map((op) => JSON.stringify(op)));
        for (let j = 0; j < SUBSTITUTES; j++) {
          const op = l.scenario.nextOp(roles[a], opRng(`${l.file.seeds.master}~shrink`, a, j), l.cfg, a);
          const key = JSON.stringify(op);
          if (!seen.has(key)) alternatives.push(op);
          seen.add(key);
        }
        const withOp = (op: Op) => best.ops.map((list, x) => (x === a ? list.map((o, i) => (i === k ? op : o)) : list));
        const sameKind = alternatives.filter((op) => op.kind === best.ops[a][k].kind);
        for (const op of sameKind) {
          if (out()) return false;
          runs++;
          const ops = withOp(op);
          const r = runRepro(l, { ops, choices: best.choices, driver, maxSteps: loose, want });
          if (r.reproduced && keep(candidate(ops, r.result))) return true;
        }
        for (const op of alternatives.slice(0, SEARCHED_SUBSTITUTES)) {
          if (out()) return false;
          if (keep(search(withOp(op), loose, false))) return true;
        }
      }
    }
    return false;
  };

  /** Drop every operation that was over before decision d (in the best run so far) and every
   * operation that had not started when the violation came. The order of what remains is kept,
   * so for a model whose state between operations does not matter the schedule still fits. */
  const dropBefore = (d: number): boolean => {
    const last = new Map<string, number>();
    const lastOp = best.ops.map(() => -1);
    // the last op each actor ran at a decision: a loop, never Math.max(...list) (a schedule of
    // 500,000 decisions overflows the stack as call arguments)
    const ran = best.ops.map(() => -1);
    best.choices.forEach((c, i) => {
      const a = choiceActor(c), k = best.choiceOps[i];
      last.set(`${a}:${k}`, i);
      if (i >= d) lastOp[a] = Math.max(lastOp[a], k);
      if (k > ran[a]) ran[a] = k;
    });
    return dropOps((a, k) => (k < lastOp[a] && (last.get(`${a}:${k}`) ?? -1) < d) || k > ran[a] + 1);
  };

  for (let changed = true; changed && !out();) {
    changed = false;
    // 0. a window in time: everything over before decision d goes, for the largest d that works
    for (const f of [15 / 16, 7 / 8, 3 / 4, 1 / 2, 1 / 4]) {
      if (dropBefore(Math.floor(best.choices.length * f))) {
        changed = true;
        break;
      }
    }
    // 1. whole actors
    for (let a = 0; a < best.ops.length; a++) if (best.ops[a].length && dropOps((x) => x === a)) changed = true;
    // 2. operations, delta-debugging style: chunks of all the operations, halving the chunk size
    //    when no chunk can go; the last operations first (they are the likeliest to be unneeded)
    for (let parts = 2; !out();) {
      const all: [number, number][] = [];
      best.ops.forEach((list, a) => list.forEach((_, k) => all.push([a, k])));
      all.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      if (all.length <= 1) break;
      const size = Math.ceil(all.length / Math.min(parts, all.length));
      let progress = false;
      for (let from = 0; from < all.length && !progress; from += size) {
        const chunk = new Set(all.slice(from, from + size).map(([a, k]) => `${a}:${k}`));
        progress = dropOps((a, k) => chunk.has(`${a}:${k}`));
      }
      if (progress) {
        changed = true;
        parts = Math.max(2, parts - 1);
      } else if (size === 1) break;
      else parts *= 2;
    }
    // 3. context switches: cut the tail of the choices (the replay keeps running the current
    //    actor), remove one run of choices, halve a run
    for (let cut = best.choices.length >> 1; cut < best.choices.length && !out();) {
      if (tryChoices(best.choices.slice(0, cut))) {
        changed = true;
        cut = best.choices.length >> 1;
      } else {
        const next = (cut + best.choices.length + 1) >> 1;
        if (next === cut || next >= best.choices.length) break;
        cut = next;
      }
    }
    let rs = runsOf(best.choices);
    for (let k = rs.length - 1; k >= 0 && !out(); k--) {
      if (k >= rs.length) continue;
      const [at, n] = rs[k];
      const c = best.choices;
      if (tryChoices([...c.slice(0, at), ...c.slice(at + n)])) {
        changed = true;
        rs = runsOf(best.choices);
        continue;
      }
      if (n > 1 && tryChoices([...c.slice(0, at + (n >> 1)), ...c.slice(at + n)])) {
        changed = true;
        rs = runsOf(best.choices);
      }
    }
  }

  // 4. a preemption right after the damage, while it shortens the trace
  best = improve(best);
  // 5. with a handful of operations left: other operations of the same roles
  if (best.shape.ops <= SUBSTITUTE_MAX_OPS) while (!out() && substitute());

  // the final, traced run of the smallest variation
  const final = runRepro(l, { ops: best.ops, choices: best.choices, driver, trace: true, want });
  if (!final.reproduced) throw new Error('shrink: the chosen variation did not reproduce on its final run (nondeterminism?)');
  return {
    ops: best.ops, choices: best.choices, result: final.result, before, after: best.shape, runs, elapsedMs: now() - t0, stoppedBy,
    signature: want!,
  };
}

const smaller = (c: Shape, b: Shape) => c.steps < b.steps || (c.steps === b.steps && c.switches < b.switches);

/** The shrunk repro file, next to the original as *.min.json. */
export function shrunkRepro(l: LoadedRepro, s: ShrinkResult, from: string): ReproFile {
  const f = l.file;
  return {
    ...f,
    actors: f.actors.map((a, i) => ({ ...a, ops: s.ops[i] })),
    schedule: encodeSchedule(s.choices),
    decisions: s.result.decisions,
    steps: s.result.steps,
    violation: violationSummary(s.result.violation!),
    signature: s.signature,
    shrunk: { from, ...s.before },
  };
}

export function minPathFor(path: string): string {
  return path.endsWith('.min.json') ? path : path.replace(/(\.json)?$/, '.min.json');
}
