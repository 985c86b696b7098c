// One interface for every controlled-mode scheduling strategy. The driver asks a strategy only at
// real decisions (two or more actors runnable); a point where one actor can run is not a choice.
import type { Rng } from '../../kernel/rng.ts';

/** What the driver shows a strategy about the iteration in progress. Arrays are indexed by actor. */
export interface SchedView {
  readonly actors: number;
  /** consecutive steps in which an actor yielded the same schedule point (label, page, aux) as
   * one or two steps before: a spin loop waiting for someone who is not running */
  readonly spin: Int32Array;
}

export interface Strategy {
  /** e.g. 'pct(d=3)', 'random' */
  readonly name: string;
  /** A new iteration begins, with its own schedule stream. */
  begin(view: SchedView, r: Rng): void;
  /** Pick one of runnable[0..n) (n >= 2, ascending actor ids). `current` ran the last step (-1 at
   * the start). Called once per decision, in order; the return value must be in the list. */
  choose(runnable: Int32Array, n: number, current: number): number;
  /** The iteration ended after `decisions` decisions. */
  end(decisions: number): void;
  /** One line about the strategy's parameters and guarantee, for the final stats (PCT: the
   * iterations needed for `confidence`, default 0.95). */
  describe(confidence?: number): string;
}

/** How `explore` names strategies on the command line and in repro files. */
export interface StrategySpec {
  kind: 'pct' | 'random';
  /** PCT bug depth d (d - 1 priority change points) */
  depth: number;
}

export function specName(s: StrategySpec): string {
  return s.kind === 'pct' ? `pct(d=${s.depth})` : 'random';
}
