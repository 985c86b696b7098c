// What a matrix cell is, as data: a (scenario, configuration) pair with the outcome the tester must
// show for it. Scenarios and variants declare their own cells next to their code (the way jcstress
// keeps outcomes on the test); src/matrix derives, registers, runs and grades them.
import type { InvariantId } from './invariants.ts';
import type { PerturbLevel } from './config.ts';

export type Expected = 'clean' | 'open' | { readonly breaks: readonly InvariantId[] };
export type CellMode = 'free' | 'controlled';
export const CELL_MODES: readonly CellMode[] = ['free', 'controlled'];

/** Run-configuration overrides of a cell; unset fields keep the run defaults (src/kernel/config.ts). */
export interface CellCfg {
  lock?: string;
  unfairness?: number;
  workers?: number;
  pages?: number;
  buckets?: number;
  perturb?: PerturbLevel;
  stutter?: boolean;
  hungMs?: number;
  /** variants composed over the rest (--variant, in order: src/variants/registry.ts) */
  variants?: readonly string[];
  /** the scenario's own flags by name, as on the command line: { 'map-pages': 'patch4' } */
  extra?: Readonly<Record<string, number | string | boolean>>;
}

/** Controlled-mode knobs (explore): fewer actors and operations keep the schedule space small. */
export interface ControlledCellCfg {
  /** actors (--workers) in controlled mode; default the cell's workers, at most 3 */
  workers?: number;
  opsPerActor?: number;
  /** how schedules are chosen (explore --strategy); default the portfolio */
  strategy?: 'pct' | 'random' | 'portfolio' | 'novelty';
  /** PCT depth of the portfolio */
  depth?: number;
  /** scenario flags for controlled mode only (merged over CellCfg.extra) */
  extra?: Readonly<Record<string, number | string | boolean>>;
}

/** What registerCell takes. */
export interface CellSpec {
  /** 'scenario/variant', unique; --cells filters and --shard assignment use it */
  name: string;
  scenario: string;
  cfg?: CellCfg;
  controlled?: ControlledCellCfg;
  expected: Expected;
  /** why this is the expected outcome, in a sentence or two */
  reasoning: string;
  /** where it comes from: Msg-ID, commit */
  source?: string;
  /** share of the time budget relative to other cells (default: defaultWeight()) */
  weight?: number;
  /** self-test cell (a mutant): run by the matrix, listed only by `matrix --list` */
  hidden?: boolean;
  /** modes where the cell means something (default both) */
  modes?: readonly CellMode[];
}
