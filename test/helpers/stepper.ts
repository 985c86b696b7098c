// Drive one protocol generator by hand from a test: step to a named schedule point, run to the
// end. Effects are handled the simplest way that keeps a single-threaded test honest: a wait on a
// word that has already changed returns 'not-equal'; a wait that would really block throws (the
// test interleaved wrongly); wakes are no-ops; the clock advances by 1 us per call.
import type { Step, Yielded } from '../../src/kernel/step.ts';

export class Stepper<T> {
  done = false;
  value: T | undefined;
  last: Yielded | undefined;
  labels: string[] = [];
  private send: unknown = undefined;
  private clock = 0;

  constructor(private readonly gen: Step<T>) {}

  /** Advance to the next schedule point (or the end). Returns the label, or null when done. */
  step(): string | null {
    for (;;) {
      if (this.done) return null;
      const r = this.gen.next(this.send);
      this.send = undefined;
      if (r.done) {
        this.done = true;
        this.value = r.value;
        return null;
      }
      this.last = r.value;
      if (typeof r.value === 'string') {
        this.labels.push(r.value);
        return r.value;
      }
      const e = r.value;
      if (e.kind === 'now') this.send = (this.clock += 1000);
      else if (e.kind === 'wake') this.send = undefined;
      else if (Atomics.load(e.arr, e.index) !== e.expected) this.send = 'not-equal';
      else if (e.timeoutMs !== Infinity) this.send = 'timed-out';
      else throw new Error(`would block forever waiting on word ${e.index} == ${e.expected}`);
    }
  }

  /** Step until the schedule point `label` has been yielded (the step after it has not run). */
  runUntil(label: string): this {
    for (;;) {
      const l = this.step();
      if (l === label) return this;
      if (l === null) throw new Error(`finished without reaching '${label}' (saw ${this.labels.join(', ')})`);
    }
  }

  runToEnd(): T {
    while (this.step() !== null);
    return this.value as T;
  }
}

/** Run an uncontended generator to its end the way the free driver does: every schedule point is
 * recorded in the task's flight ring (what lockdep and the reports read); wakes are no-ops; a wait
 * that would block is an error, since these tests never contend. */
export function runRecorded<T>(t: { record(label: string): void }, g: Step<T>): T {
  let send: unknown;
  for (;;) {
    const r = g.next(send);
    if (r.done) return r.value;
    send = undefined;
    const y = r.value;
    if (typeof y === 'string') t.record(y);
    else if (y.kind === 'now') send = 0;
    else if (y.kind === 'wait') throw new Error(`would block on word ${y.index}`);
  }
}
