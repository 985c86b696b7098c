// Following an interleaving by its schedule points instead of its decisions. A recorded schedule
// is one choice per decision: exact for the same operations, but once one operation is dropped
// every later decision shifts, and a free run has no decisions at all, only each task's flight
// records. An anchored schedule is the same interleaving as runs of one actor each, every run
// ending at a schedule point that actor reaches, counted inside its operation:
//
//   task 1 until it reaches 'page->mapping' (aux 13) in its op 3 for the 1st time,
//   task 2 until its op 0 is over, task 2 until it reaches 'i_size_write' in its op 1, task 1 ...
//
// so the runs still line up when other operations are gone, when a loop takes fewer turns, or
// when pages got other numbers. Shrinking follows the kept trace this way after dropping
// operations (src/sched/shrink.ts); run --reproduce follows the free run's own flight records
// (src/sched/reproduce.ts). Where the run's actor cannot go on (blocked, or spinning on someone
// else), the actor of a later run goes first; once the runs are used up, `after` chooses (default:
// no preemption, as a replay past its list).
import type { Rng } from '../kernel/rng.ts';
import type { FlightRecord } from '../check/violations.ts';
import type { ControlledDriver, TraceEvent } from './controlled.ts';
import type { SchedView, Strategy } from './strategies/strategy.ts';
import { SPIN_DEMOTE } from './strategies/pct.ts';

/** The run's end: `label` reached with `aux` for the `n`th time in operation `op`; or, with
 * OP_OVER, until that operation is over; with BLOCKS, until the actor blocks. */
export interface Anchor {
  actor: number;
  op: number;
  label: string;
  aux: number;
  n: number;
}

export const OP_OVER = '(op over)';
export const BLOCKS = '(blocks)';

/** The driver's view with what anchors need (ControlledDriver has it). */
type AnchorView = SchedView & Pick<ControlledDriver, 'opOf' | 'onReach'>;

export class AnchoredStrategy implements Strategy {
  readonly name = 'anchored';
  private view!: AnchorView;
  private at = 0;
  /** per actor: reaches so far, by `${op} ${label} ${aux}` */
  private counts: Map<string, number>[] = [];
  private runnable: Int32Array = new Int32Array(0);
  private n = 0;
  /** decisions where the run's actor could not go on and another went first */
  stalled = 0;
  /** decisions left to `after` (or to no preemption) once the runs were used up */
  beyond = 0;

  /** `opCounts[a]`: how many operations actor a has (an actor past them has no run left). */
  constructor(readonly runs: readonly Anchor[], private readonly opCounts: readonly number[], private readonly after: Strategy | null = null) {}

  begin(view: SchedView, r: Rng): void {
    const v = view as AnchorView;
    if (typeof v.opOf !== 'function') throw new Error('anchored schedules need the controlled driver');
    this.view = v;
    this.at = 0;
    this.stalled = 0;
    this.beyond = 0;
    this.counts = Array.from({ length: view.actors }, () => new Map());
    v.onReach = (a, op, label, aux) => {
      const m = this.counts[a];
      const k = `${op} ${label} ${aux}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    };
    this.after?.begin(view, r);
  }

  private canRun(a: number): boolean {
    if (this.view.spin[a] >= SPIN_DEMOTE) return false;
    for (let i = 0; i < this.n; i++) if (this.runnable[i] === a) return true;
    return false;
  }

  private runnableAt(a: number): boolean {
    for (let i = 0; i < this.n; i++) if (this.runnable[i] === a) return true;
    return false;
  }

  /** The run is over: its actor went past the operation or reached the point. */
  private passed(x: Anchor): boolean {
    const op = this.view.opOf(x.actor);
    if (op > x.op || op >= (this.opCounts[x.actor] ?? 0)) return true;
    if (op < x.op || x.label === OP_OVER) return false;
    if (x.label === BLOCKS) return !this.runnableAt(x.actor);
    return (this.counts[x.actor].get(`${x.op} ${x.label} ${x.aux}`) ?? 0) >= x.n;
  }

  choose(runnable: Int32Array, n: number, current: number): number {
    this.runnable = runnable;
    this.n = n;
    while (this.at < this.runs.length && this.passed(this.runs[this.at])) this.at++;
    if (this.at < this.runs.length) {
      const want = this.runs[this.at].actor;
      if (this.canRun(want)) return want;
      this.stalled++;
      for (let j = this.at + 1; j < this.runs.length; j++) if (this.runs[j].actor !== want && this.canRun(this.runs[j].actor)) return this.runs[j].actor;
    } else {
      this.beyond++;
      if (this.after) return this.after.choose(runnable, n, current);
    }
    if (current >= 0 && this.canRun(current)) return current;
    for (let i = 0; i < n; i++) if (runnable[i] > current && this.view.spin[runnable[i]] < SPIN_DEMOTE) return runnable[i];
    for (let i = 0; i < n; i++) if (this.view.spin[runnable[i]] < SPIN_DEMOTE) return runnable[i];
    return runnable[0];
  }

  end(decisions: number): void {
    this.view.onReach = null;
    this.after?.end(decisions);
  }

  describe(): string {
    return `anchored: ${this.runs.length} runs of a recorded interleaving${this.after ? `, then ${this.after.name}` : ''}`;
  }
}

/** `opOf(actor, op)`: the operation's number in the list the anchors are for, or -1 when it is not
 * there (dropped; not rebuilt). */
export type OpMap = (actor: number, op: number) => number;

const REACH_LESS = new Set(['(op start)', '(woken)', '(timed out)']);

/** The runs of a controlled trace (each event steps FROM its label: the point an actor reached is
 * the label of its next event). */
export function traceAnchors(trace: readonly TraceEvent[], map: OpMap = (_a, op) => op): Anchor[] {
  const next = new Int32Array(trace.length).fill(-1);
  const lastOf = new Map<number, number>();
  for (let i = trace.length - 1; i >= 0; i--) {
    next[i] = lastOf.get(trace[i].task) ?? -1;
    lastOf.set(trace[i].task, i);
  }
  // how many times the actor had reached each point, at each event (counted in trace order: a
  // run's end is its actor's next event, after other actors' runs)
  const seen = new Map<string, number>();
  const nOf = new Int32Array(trace.length);
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i];
    if (REACH_LESS.has(e.label)) continue;
    const k = `${e.task} ${e.op} ${e.label} ${e.aux}`;
    nOf[i] = (seen.get(k) ?? 0) + 1;
    seen.set(k, nOf[i]);
  }
  const out: Anchor[] = [];
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i];
    if (i + 1 < trace.length && trace[i + 1].task === e.task) continue; // not the run's last step
    const op = map(e.task, e.op);
    if (op < 0) continue;
    const j = next[i];
    let a: Anchor;
    if (j < 0 || trace[j].op !== e.op) a = { actor: e.task, op, label: OP_OVER, aux: 0, n: 0 };
    else if (trace[j].label === '(woken)' || trace[j].label === '(timed out)') a = { actor: e.task, op, label: BLOCKS, aux: 0, n: 0 };
    else a = { actor: e.task, op, label: trace[j].label, aux: trace[j].aux, n: nOf[j] };
    const prev = out[out.length - 1];
    if (prev && prev.actor === a.actor) out[out.length - 1] = a; // a dropped actor's run between two of this one's
    else out.push(a);
  }
  return out;
}

/** The runs of a free run's flight records, in seq order (records of operations `map` does not
 * know are left out). A record is made as its task reaches the point, before the code after it
 * runs: where the free run switched tasks, the code after a task's last record ran at some time
 * before its next one; the run is taken to end at that next record (the code right after the
 * point ran before the switch), or with the operation's end when the next record is in a later
 * operation or there is none (the reporter's last record: the violation comes in the code after
 * it). The count of a point inside an operation starts at the oldest record the rings held. */
export function flightAnchors(flight: readonly FlightRecord[], map: OpMap): Anchor[] {
  const recs = [...flight].filter((f) => f.task >= 0 && map(f.task, f.op) >= 0).sort((a, b) => a.seq - b.seq);
  const seen = new Map<string, number>();
  const nOf = recs.map((f) => {
    const k = `${f.task} ${f.op} ${f.label} ${f.aux}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return n;
  });
  const next = new Int32Array(recs.length).fill(-1);
  const after = new Map<number, number>();
  for (let i = recs.length - 1; i >= 0; i--) {
    next[i] = after.get(recs[i].task) ?? -1;
    after.set(recs[i].task, i);
  }
  const out: Anchor[] = [];
  for (let i = 0; i < recs.length; i++) {
    const f = recs[i];
    if (i + 1 < recs.length && recs[i + 1].task === f.task) continue;
    const j = next[i];
    const op = map(f.task, f.op);
    if (j >= 0 && recs[j].op === f.op) out.push({ actor: f.task, op, label: recs[j].label, aux: recs[j].aux, n: nOf[j] });
    else out.push({ actor: f.task, op, label: OP_OVER, aux: 0, n: 0 });
  }
  return out;
}
