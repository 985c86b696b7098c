// Replay: follow a recorded list of choices, one per decision. Where the recorded actor is not
// runnable, or the list has run out, keep running the current actor if it can run and is not
// spinning, else the next runnable actor after it. An exact replay never needs that fallback;
// shrinking relies on it (a shortened list then means fewer context switches, not a different
// program, and a spinner hands over to the actor it waits for instead of spinning forever).
//
// A recorded signal event is a choice SIGNAL(v) = -(v + 1) (written `s<v>` in repro files): it is
// followed when the driver asks for a signal at that decision and v is in a killable wait; where
// it cannot be followed it is passed over (diverged), so the choices after it keep their places.
import type { Rng } from '../../kernel/rng.ts';
import type { SchedView, Strategy } from './strategy.ts';
import { SPIN_DEMOTE } from './pct.ts';
import { signalVictim } from './strategy.ts';

export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  private at = 0;
  /** decisions where the recorded choice could not be followed (not runnable) */
  diverged = 0;
  /** decisions made after the list ran out */
  beyond = 0;

  constructor(private readonly choices: ArrayLike<number>) {}

  private view!: SchedView;

  begin(view: SchedView, _r: Rng): void {
    this.view = view;
    this.at = 0;
    this.diverged = 0;
    this.beyond = 0;
  }

  signal(candidates: Int32Array, m: number): number {
    if (this.at >= this.choices.length || this.choices[this.at] >= 0) return -1;
    const v = signalVictim(this.choices[this.at++]);
    for (let i = 0; i < m; i++) if (candidates[i] === v) return v;
    this.diverged++;
    return -1;
  }

  choose(runnable: Int32Array, n: number, current: number): number {
    // a signal the driver did not ask for here (nobody in a killable wait): passed over
    while (this.at < this.choices.length && this.choices[this.at] < 0) {
      this.at++;
      this.diverged++;
    }
    if (this.at < this.choices.length) {
      const want = this.choices[this.at++];
      for (let i = 0; i < n; i++) if (runnable[i] === want) return want;
      this.diverged++;
    } else {
      this.beyond++;
    }
    if (this.view.spin[current] < SPIN_DEMOTE) for (let i = 0; i < n; i++) if (runnable[i] === current) return current;
    for (let i = 0; i < n; i++) if (runnable[i] > current) return runnable[i];
    return runnable[0];
  }

  /** recorded choices not consumed by the run */
  get unused(): number {
    return Math.max(0, this.choices.length - this.at);
  }

  end(): void {}

  describe(): string {
    return `replay of ${this.choices.length} recorded decisions`;
  }
}
