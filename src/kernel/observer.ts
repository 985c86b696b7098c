// What the drivers ask of the checks. Both drivers step tasks and record schedules, nothing more:
// what a blocked task waits on, whether an operation ended holding a lock, why nothing can run and
// how a violation reads are the checks' business (src/check/observer.ts implements this). The
// interface names no page: a driver hands over the task and the effect it is about to block on,
// or a view of its actors when it is stuck, and gets text and a Violation back.
import type { InvariantId } from './invariants.ts';
import type { FutexWait } from './step.ts';
import type { Task } from './task.ts';

/** What was found, in both modes. `task`/`op` are -1 for a whole-state check (the checker);
 * `page` is -1 when the finding is about no page. */
export interface Violation {
  id: InvariantId;
  task: number;
  op: number;
  page: number;
  values: number[];
  message: string;
}

/** A controlled actor: between operations, inside one (runnable), blocked in a wait, finished. */
export type ActorState = 'between' | 'running' | 'blocked' | 'done';

/** The controlled driver's actors, as an explanation needs them. Read only when something is
 * stuck, never on the stepping path. */
export interface ActorsView {
  readonly actors: number;
  actorState(a: number): ActorState;
  /** the actor and what it is doing: 'T1 (locker, op 0 lock(0, 1))' */
  actorName(a: number): string;
  actorOp(a: number): number;
  /** the futex word a blocked actor sleeps on, by its region: 'wqFlags[2]' ('?' when not blocked) */
  sleepsOn(a: number): string;
  /** a running actor's schedule point: its label, the page its code set, how many times in a row */
  pointLabel(a: number): string;
  pointPage(a: number): number;
  pointRepeats(a: number): number;
}

export interface DriverObserver {
  /** A fresh model (controlled mode: every iteration). */
  reset(): void;
  /** `t` is about to block on `e`: record what it waits on, for the explanations and the
   * watchdog (the task's wait words). */
  onBlock(t: Task, e: FutexWait): void;
  /** `t` ended an operation: LOCK-LEAK (a lock still held) goes to the violation ring. */
  onOpEnd(t: Task): void;
  /** DEADLOCK (nothing can run) or HUNG (`steps` taken without an end): every stuck actor with
   * what it waits on and the wait-for chain from it. */
  explainStuck(view: ActorsView, kind: 'DEADLOCK' | 'HUNG', steps: number): Violation;
  /** The first violation in the ring, in the one wording both modes use; null when none is
   * readable. `roleOf(task)` names a task's role. */
  describe(roleOf: (task: number) => string): Violation | null;
}
