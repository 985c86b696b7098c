// Uniform random walk: at every decision each runnable actor is equally likely.
//
// Signal events (Strategy.signal): each iteration draws a rate from SIGNAL_RATES (swarm testing,
// Groce et al., ISSTA 2012: a rate per run rather than one for all, so some runs kill killable
// waiters early and often and others leave them alone), 0 meaning no signal events at all. In an
// iteration with signals, a candidate whose wait entry just changed (queued, woken, handed the
// lock) gets one with probability FRESH_SIGNAL, and at any other decision one arrives with the
// iteration's rate. A signal matters where it races with a change of the waiter's state; a flat
// rate high enough to land right after a wake-up would kill nearly every waiter long before it.
import type { Rng } from '../../kernel/rng.ts';
import type { SchedView, Strategy } from './strategy.ts';

/** Per-decision chance of a signal event, one drawn per iteration (0: none in that iteration). */
export const SIGNAL_RATES: readonly number[] = [0, 1 / 64, 1 / 16, 1 / 4];
/** Chance of a signal for a candidate whose wait entry changed since the last decision. */
export const FRESH_SIGNAL = 1 / 2;

/** The signal-event choice of the random walk and POS (see above): a victim, or -1. */
export function swarmSignal(s: Rng, rate: number, candidates: Int32Array, m: number, fresh: number): number {
  if (rate === 0) return -1;
  if (fresh > 0 && s() < FRESH_SIGNAL) return candidates[Math.floor(s() * fresh)];
  return s() < rate ? candidates[Math.floor(s() * m)] : -1;
}

/** The describe() line of the signal events. */
export const swarmSignalText = (): string => `signal events: a rate per iteration from ${SIGNAL_RATES.map((p) => (p === 0 ? '0' : `1/${1 / p}`)).join(', ')}`
  + ` per decision, 1/${1 / FRESH_SIGNAL} right after a killable waiter's wait entry changes`;

export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private r!: Rng;
  private s: Rng | null = null;
  private rate = 0;
  /** an iteration had a signal stream (the scenario has signal events): describe() says so */
  private signals = false;

  begin(_view: SchedView, r: Rng, signals?: Rng): void {
    this.r = r;
    this.s = signals ?? null;
    if (signals) this.signals = true;
    this.rate = signals ? SIGNAL_RATES[Math.floor(signals() * SIGNAL_RATES.length)] : 0;
  }

  choose(runnable: Int32Array, n: number): number {
    return runnable[Math.floor(this.r() * n)];
  }

  signal(candidates: Int32Array, m: number, fresh: number): number {
    return swarmSignal(this.s!, this.rate, candidates, m, fresh);
  }

  end(): void {}

  describe(): string {
    return `random: uniform walk over the runnable actors at every decision${this.signals ? ` (${swarmSignalText()})` : ''}`;
  }
}
