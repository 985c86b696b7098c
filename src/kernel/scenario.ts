// A scenario: which actors run, what each operation is, how the state starts and what is checked
// when everything is quiet. Both drivers run scenarios through this interface.
import type { ShmSizes } from '../shm/layout.ts';
import type { Shm } from '../shm/shm.ts';
import type { Rng } from './rng.ts';
import type { Step } from './step.ts';
import type { Task } from './task.ts';
import type { RunConfig } from './config.ts';
import type { InvariantId } from './invariants.ts';

/** One operation of an actor: plain data, so repro files can list it and shrinking can drop it. */
export interface Op {
  kind: string;
  args: number[];
}

/** What a whole-state check reports. */
export interface Finding {
  id: InvariantId;
  page: number;
  message: string;
  values?: number[];
}

/** A scenario's own command-line flag, `--<name>`. The parsed value (or the default) lands in
 * `cfg.extra[name]`; a 'duration' lands in milliseconds. Names are kebab-case and must not clash
 * with the common run flags. Help text and `list` are generated from these. */
export interface ScenarioOption {
  name: string;
  kind: 'int' | 'string' | 'enum' | 'bool' | 'duration';
  default: number | string | boolean;
  help: string;
  /** allowed values of an 'enum' */
  choices?: readonly string[];
  /** also accepted by an 'enum', but not listed (self-test variants) */
  hiddenChoices?: readonly string[];
  /** inclusive bounds of an 'int' (or of a 'duration', in ms) */
  min?: number;
  max?: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** The scenario's own flags (see ScenarioOption). */
  options?: readonly ScenarioOption[];
  /** Cross-flag checks after parsing: return what is wrong (one line), or nothing. */
  validate?(cfg: RunConfig): string | null | undefined;
  /** Role of each actor task, in task-id order. */
  roles(cfg: RunConfig): string[];
  /** Sizes of the shared model for this config (tasks are filled in by the caller). */
  sizes(cfg: RunConfig): Omit<ShmSizes, 'tasks' | 'flightEntries' | 'violationSlots'>;
  /** Put the model in its starting state. */
  init(shm: Shm, cfg: RunConfig): void;
  /** The operation a task does next: a pure function of the role and the op stream. */
  nextOp(role: string, r: Rng, cfg: RunConfig, task: number): Op;
  /** Run one operation. */
  runOp(t: Task, role: string, op: Op, cfg: RunConfig): Step<void>;
  /** Whole-state checks valid when every actor is between operations. */
  quiescentCheck?(shm: Shm, cfg: RunConfig): Finding[];
  /** Checks valid at any instant (the checker re-validates before reporting). */
  liveCheck?(shm: Shm, cfg: RunConfig): Finding[];
  /** Invariant ids this scenario checks (reports list them, one JUnit case each). */
  invariants?: readonly InvariantId[];
  /** Controlled mode: fatal signals may also arrive from outside the actors (a SIGKILL can come
   * from anyone at any time): at any decision the strategy may send one to an actor in a killable
   * wait (src/sched/controlled.ts). Absent or false: signals come only from the scenario's ops. */
  signalEvents?(cfg: RunConfig): boolean;
  /** Scenario figures for the report, read after the run (lands in RunResult.extra[name]). */
  summary?(shm: Shm, cfg: RunConfig): Record<string, unknown>;
}
