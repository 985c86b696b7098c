// Uniform random walk: at every decision each runnable actor is equally likely.
import type { Rng } from '../../kernel/rng.ts';
import type { SchedView, Strategy } from './strategy.ts';

export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private r!: Rng;

  begin(_view: SchedView, r: Rng): void {
    this.r = r;
  }

  choose(runnable: Int32Array, n: number): number {
    return runnable[Math.floor(this.r() * n)];
  }

  end(): void {}

  describe(): string {
    return 'random: uniform walk over the runnable actors at every decision';
  }
}
