// What the orchestrator sends an actor worker (workers/actor.ts) and what the worker answers.
import type { RunConfig } from '../kernel/config.ts';
import type { ShmSizes } from '../shm/layout.ts';
import type { FreeWall } from '../sched/free.ts';

export interface ActorData {
  sab: SharedArrayBuffer;
  sizes: ShmSizes;
  cfg: RunConfig;
  task: number;
  role: string;
  /** process.hrtime.bigint() at run start, as a decimal string */
  clockBase: string;
}

export type ActorMessage =
  | { type: 'done'; task: number; ops: number; endedBy: 'stop' | 'ops'; wall: FreeWall }
  | { type: 'crash'; task: number; op: number; stack: string };
