// Shrinking a failing schedule to the few steps that matter. Starting from a repro file, try
// smaller variations and keep one whenever the SAME invariant id still fails and the run is no
// bigger in any of: steps, context switches, operations (and smaller in one):
//   1. drop a whole actor (it keeps its task id, with no operations);
//   2. drop operations: an actor's tail, then each operation on its own;
//   3. drop context switches: cut the tail of the choice list (the replay then keeps running the
//      current actor), remove one run of choices (its neighbours merge), halve a run.
// Each kept variation is re-recorded (the choices actually made), so the result replays exactly.
// The search is deterministic (a fixed order of tries, no randomness) and bounded by a number of
// runs and a time budget.
import type { Op } from '../run/scenario.ts';
import type { IterationResult } from './controlled.ts';
import { ControlledDriver } from './controlled.ts';
import { runRepro, ReproError, encodeSchedule, violationSummary, type LoadedRepro, type ReproFile } from './repro.ts';

export interface Shape {
  steps: number;
  decisions: number;
  switches: number;
  ops: number;
}

export interface ShrinkOptions {
  /** at most this many trial runs (default 5000) */
  maxRuns?: number;
  /** at most this long, ms (default 30 s) */
  budgetMs?: number;
  now?: () => number;
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

export function shrink(l: LoadedRepro, o: ShrinkOptions = {}): ShrinkResult {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const maxRuns = o.maxRuns ?? 5000;
  const budgetMs = o.budgetMs ?? 30_000;
  const driver = new ControlledDriver({ scenario: l.scenario, cfg: l.cfg, lock: l.lock });
  let runs = 0;
  let stoppedBy: ShrinkResult['stoppedBy'] = 'fixpoint';

  const trial = (ops: Op[][], choices: number[]): Candidate | null => {
    runs++;
    const r = runRepro(l, { ops, choices, driver });
    if (!r.reproduced) return null;
    const res = r.result;
    return {
      ops, choices: Array.from(res.schedule), choiceOps: Array.from(res.scheduleOps),
      shape: { steps: res.steps, decisions: res.decisions, switches: res.switches, ops: totalOps(ops) },
    };
  };

  const first = trial(l.ops, l.choices);
  if (!first) throw new ReproError(`the file does not reproduce its ${l.file.violation.id} violation, so there is nothing to shrink (replay it to see what happens)`);
  let best = first;
  const before = first.shape;

  const out = (): boolean => {
    if (stoppedBy !== 'fixpoint') return true;
    if (runs >= maxRuns) stoppedBy = 'runs';
    else if (now() - t0 >= budgetMs) stoppedBy = 'time';
    return stoppedBy !== 'fixpoint';
  };
  const better = (c: Shape, b: Shape) =>
    c.steps <= b.steps && c.switches <= b.switches && c.ops <= b.ops
    && (c.steps < b.steps || c.switches < b.switches || c.ops < b.ops);
  const attempt = (ops: Op[][], choices: number[]): boolean => {
    if (out()) return false;
    const c = trial(ops, choices);
    if (c && better(c.shape, best.shape)) {
      best = c;
      return true;
    }
    return false;
  };
  const withOps = (a: number, list: Op[]) => best.ops.map((x, i) => (i === a ? list : x));
  // The choices that belong to the dropped operations go with them, so the rest of the schedule
  // still lines up with the steps it was made for.
  const dropOps = (a: number, drop: (op: number) => boolean): boolean => {
    const keep = best.ops[a].filter((_, k) => !drop(k));
    if (keep.length === best.ops[a].length) return false;
    const choices = best.choices.filter((c, i) => c !== a || !drop(best.choiceOps[i]));
    return attempt(withOps(a, keep), choices) || attempt(withOps(a, keep), best.choices);
  };

  for (let changed = true; changed && !out();) {
    changed = false;
    // 1. whole actors
    for (let a = 0; a < best.ops.length; a++)
      if (best.ops[a].length && dropOps(a, () => true)) changed = true;
    // 2. operations: tails (halving), then one at a time from the end
    for (let a = 0; a < best.ops.length; a++) {
      for (let chunk = Math.ceil(best.ops[a].length / 2); chunk >= 1 && best.ops[a].length > 0;) {
        const from = best.ops[a].length - Math.min(chunk, best.ops[a].length);
        if (dropOps(a, (k) => k >= from)) changed = true;
        else chunk >>= 1;
      }
      for (let j = best.ops[a].length - 1; j >= 0; j--) {
        if (j >= best.ops[a].length) continue;
        if (dropOps(a, (k) => k === j)) changed = true;
      }
    }
    // 3. context switches
    for (let cut = best.choices.length >> 1; cut < best.choices.length;) {
      if (attempt(best.ops, best.choices.slice(0, cut))) {
        changed = true;
        cut = best.choices.length >> 1;
      } else {
        const next = (cut + best.choices.length) >> 1;
        if (next === cut) break;
        cut = next;
      }
    }
    let rs = runsOf(best.choices);
    for (let k = rs.length - 1; k >= 0; k--) {
      if (k >= rs.length) continue;
      const [at, n] = rs[k];
      const c = best.choices;
      if (attempt(best.ops, [...c.slice(0, at), ...c.slice(at + n)])) {
        changed = true;
        rs = runsOf(best.choices);
        continue;
      }
      if (n > 1 && attempt(best.ops, [...c.slice(0, at + (n >> 1)), ...c.slice(at + n)])) {
        changed = true;
        rs = runsOf(best.choices);
      }
    }
  }

  // the final, traced run of the smallest variation
  const final = runRepro(l, { ops: best.ops, choices: best.choices, driver, trace: true });
  if (!final.reproduced) throw new Error('shrink: the chosen variation did not reproduce on its final run (nondeterminism?)');
  return {
    ops: best.ops, choices: best.choices, result: final.result, before, after: best.shape, runs, elapsedMs: now() - t0, stoppedBy,
  };
}

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
    shrunk: { from, ...s.before },
  };
}

export function minPathFor(path: string): string {
  return path.endsWith('.min.json') ? path : path.replace(/(\.json)?$/, '.min.json');
}
