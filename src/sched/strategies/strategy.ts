// One interface for every controlled-mode scheduling strategy. The driver asks a strategy only at
// real decisions (two or more actors runnable); a point where one actor can run is not a choice.
import type { Rng } from '../../kernel/rng.ts';
import type { Shm } from '../../shm/shm.ts';

/** What the driver shows a strategy about the iteration in progress. Arrays are indexed by actor. */
export interface SchedView {
  readonly actors: number;
  /** consecutive steps in which an actor yielded the same schedule point (label, page, aux) as
   * one or two steps before: a spin loop waiting for someone who is not running */
  readonly spin: Int32Array;
  /** the model the actors run on, read-only to a strategy (a coverage-guided strategy observes
   * the state at its decisions: src/sched/strategies/novelty.ts) */
  readonly shm?: Shm;
}

export interface Strategy {
  /** e.g. 'pct(d=3)', 'random' */
  readonly name: string;
  /** A new iteration begins, with its own schedule stream, and (when the scenario has signal
   * events, Scenario.signalEvents) a separate stream for where fatal signals arrive: an iteration
   * in which no signal is placed chooses exactly as it would without signal events. */
  begin(view: SchedView, r: Rng, signals?: Rng): void;
  /** Pick one of runnable[0..n) (n >= 2, ascending actor ids). `current` ran the last step (-1 at
   * the start). Called once per decision, in order; the return value must be in the list. */
  choose(runnable: Int32Array, n: number, current: number): number;
  /** Signal events (the scenario's Scenario.signalEvents): asked at a decision, before `choose`,
   * when some actor is in a killable wait with no fatal signal pending (`candidates[0..m)`, m >= 1;
   * asleep or runnable). The first `fresh` of them are those whose wait entry changed since the
   * last decision (queued, woken, handed the lock): a signal races with exactly those changes.
   * Return a candidate to send it a fatal signal now (from outside the actors, like any SIGKILL;
   * the decision is spent on it and the driver asks again), or -1. A strategy without this
   * method never signals. */
  signal?(candidates: Int32Array, m: number, fresh: number): number;
  /** Asked by the explorer before iteration `iteration` is set up (`r`: a stream of its own for
   * this): the iteration whose operations to run (a strategy that fuzzes kept schedules reruns
   * their workload). Without this method, or returning `iteration`, the iteration's own. */
  workload?(iteration: number, r: Rng): number;
  /** The iteration ended after `decisions` decisions. */
  end(decisions: number): void;
  /** One line about the strategy's parameters and guarantee, for the final stats (PCT: the
   * iterations needed for `confidence`, default 0.95). */
  describe(confidence?: number): string;
}

/** How `explore` names strategies on the command line and in repro files. */
export interface StrategySpec {
  kind: 'pct' | 'random' | 'novelty';
  /** PCT bug depth d (d - 1 priority change points) */
  depth: number;
}

export function specName(s: StrategySpec): string {
  return s.kind === 'pct' ? `pct(d=${s.depth})` : s.kind;
}

/** A signal event as a recorded choice: SIGNAL(v) = -(v + 1), never an actor id. */
export const signalChoice = (victim: number): number => -victim - 1;
/** The victim of a recorded signal choice (c < 0). */
export const signalVictim = (c: number): number => -c - 1;
/** The actor a recorded choice belongs to: the chosen actor, or a signal's victim. */
export const choiceActor = (c: number): number => (c < 0 ? -c - 1 : c);
