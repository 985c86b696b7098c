// Preemption-bounded schedules (CHESS's iterative context bounding, PLDI'07): run actors without
// preemption — the current actor keeps running until it blocks, finishes or spins — except at a
// few given decisions, where a given actor takes over. Enumerating every schedule with 0, then 1
// preemption over a small set of operations finds the simplest interleaving that breaks an
// invariant: the shrinker uses it to turn a long random schedule into one a person can read.
import type { Rng } from '../../kernel/rng.ts';
import type { SchedView, Strategy } from './strategy.ts';
import { SPIN_DEMOTE } from './pct.ts';

export class BoundedStrategy implements Strategy {
  readonly name: string;
  private view!: SchedView;
  private d = 0;
  private next = 0;

  /** `first`: the actor to run first; `switches`: [decision index, actor] preemptions, ascending. */
  constructor(private readonly first: number, private readonly switches: readonly (readonly [number, number])[] = []) {
    this.name = `bounded(${first}${switches.map(([d, a]) => ` ${d}:${a}`).join('')})`;
  }

  begin(view: SchedView, _r: Rng): void {
    this.view = view;
    this.d = 0;
    this.next = 0;
  }

  choose(runnable: Int32Array, n: number, current: number): number {
    const d = this.d++;
    let want = -1;
    if (this.next < this.switches.length && this.switches[this.next][0] === d) want = this.switches[this.next++][1];
    else if (current < 0) want = this.first;
    else if (this.view.spin[current] < SPIN_DEMOTE) want = current;
    for (let i = 0; i < n; i++) if (runnable[i] === want) return want;
    for (let i = 0; i < n; i++) if (runnable[i] > current) return runnable[i];
    return runnable[0];
  }

  end(): void {}

  describe(): string {
    return `${this.name}: no preemption except at the listed decisions`;
  }
}
