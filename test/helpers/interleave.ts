// Interleave several protocol generators by hand in one thread, with blocking: a task whose
// futexWait would sleep (timed or not) is parked until its word changes or a futexWake on that
// word arrives; stepping a parked task does nothing. For tests that need "A holds the lock, B blocks on it,
// A finishes, B goes on" (test/helpers/stepper.ts throws on a blocking wait instead).
import type { FutexWait, Step, Yielded } from '../../src/kernel/step.ts';

interface Actor {
  gen: Step<unknown>;
  task?: { record(label: string): void };
  send: unknown;
  blocked: FutexWait | null;
  woken: boolean;
  done: boolean;
  value: unknown;
  labels: string[];
}

export class Interleaver {
  private readonly actors = new Map<string, Actor>();
  private clock = 0;

  /** `task`: its flight recorder gets every schedule point, as the drivers do. */
  add(name: string, gen: Step<unknown>, task?: { record(label: string): void }): this {
    this.actors.set(name, { gen, task, send: undefined, blocked: null, woken: false, done: false, value: undefined, labels: [] });
    return this;
  }

  private get(name: string): Actor {
    const a = this.actors.get(name);
    if (!a) throw new Error(`no actor '${name}'`);
    return a;
  }

  done(name: string): boolean {
    return this.get(name).done;
  }
  value<T>(name: string): T {
    return this.get(name).value as T;
  }
  labels(name: string): string[] {
    return this.get(name).labels;
  }
  blocked(name: string): boolean {
    const a = this.get(name);
    return a.blocked !== null && !a.woken && Atomics.load(a.blocked.arr, a.blocked.index) === a.blocked.expected;
  }

  /** Advance `name` to its next schedule point. Returns the label, 'blocked' (no progress), or
   * null when it has finished. */
  step(name: string): string | null {
    const a = this.get(name);
    if (a.done) return null;
    if (a.blocked) {
      if (this.blocked(name)) return 'blocked';
      a.blocked = null;
      a.woken = false;
      a.send = 'ok';
    }
    for (;;) {
      const r = a.gen.next(a.send);
      a.send = undefined;
      if (r.done) {
        a.done = true;
        a.value = r.value;
        return null;
      }
      const y: Yielded = r.value;
      if (typeof y === 'string') {
        a.labels.push(y);
        a.task?.record(y);
        return y;
      }
      if (y.kind === 'now') a.send = (this.clock += 1000);
      else if (y.kind === 'wake') {
        let n = y.count;
        for (const other of this.actors.values())
          if (n > 0 && other.blocked && other.blocked.arr === y.arr && other.blocked.index === y.index && !other.woken) {
            other.woken = true;
            n--;
          }
      } else if (Atomics.load(y.arr, y.index) !== y.expected) a.send = 'not-equal';
      else {
        // a timed wait too (a spinlock's nap): by hand, time passes only when the word changes
        a.blocked = y;
        return 'blocked';
      }
    }
  }

  /** Step `name` until it has yielded `label` (the step after it has not run). */
  runUntil(name: string, label: string): this {
    for (;;) {
      const l = this.step(name);
      if (l === label) return this;
      if (l === null || l === 'blocked') throw new Error(`${name} ${l ?? 'finished'} before '${label}' (saw ${this.labels(name).slice(-12).join(', ')})`);
    }
  }

  /** Step `name` until it blocks (true) or finishes (false). */
  runUntilBlocked(name: string): boolean {
    for (;;) {
      const l = this.step(name);
      if (l === 'blocked') return true;
      if (l === null) return false;
    }
  }

  /** Run `name` to its end; throws if it blocks. */
  runToEnd<T>(name: string): T {
    for (;;) {
      const l = this.step(name);
      if (l === null) return this.value<T>(name);
      if (l === 'blocked') throw new Error(`${name} blocked (after ${this.labels(name).slice(-8).join(', ')})`);
    }
  }

  /** Round-robin every actor until all have finished; throws on a deadlock. */
  runAll(): void {
    for (;;) {
      let progressed = false, live = false;
      for (const name of this.actors.keys()) {
        if (this.get(name).done) continue;
        live = true;
        const l = this.step(name);
        if (l !== 'blocked') progressed = true;
      }
      if (!live) return;
      if (!progressed) throw new Error('deadlock: every live actor is blocked');
    }
  }
}
