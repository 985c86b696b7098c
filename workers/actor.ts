// Worker entry: one actor task. Builds its view of the shared model, its Task and its lock, and
// runs the free driver until STOP or its --ops bound. A thrown exception is a CRASH violation
// (with the task's flight records), reported before the worker exits.
import { parentPort, workerData } from 'node:worker_threads';
import type { ActorData, ActorMessage } from '../src/run/actor-protocol.ts';
import { Shm, TASK_DONE } from '../src/shm/shm.ts';
import { Task } from '../src/kernel/task.ts';
import { runFreeActor } from '../src/sched/free.ts';
import { reportViolation } from '../src/check/violations.ts';
import { configOps } from '../src/variants/index.ts';
import { getScenario } from '../src/scenarios/index.ts';
import { loadWorkerPlugins } from '../src/plugin/plugin.ts';
import { directV8Flags } from '../src/kernel/direct.ts';

const d = workerData as ActorData;
directV8Flags(); // V8's inlining budget for the direct form (src/kernel/direct.ts), before the protocol code is hot
const shm = new Shm(d.sizes, d.sab);
let t: Task | undefined;
try {
  await loadWorkerPlugins(workerData); // --plugin variants, before anything is looked up by name
  t = new Task({ id: d.task, shm, ops: configOps(d.cfg), options: { unfairness: d.cfg.unfairness, ...d.cfg.extra } });
  const end = runFreeActor({ t, scenario: getScenario(d.cfg.scenario), role: d.role, cfg: d.cfg, clockBase: BigInt(d.clockBase) });
  parentPort!.postMessage({ type: 'done', task: d.task, ...end } satisfies ActorMessage);
} catch (e) {
  const op = t?.op ?? -1;
  reportViolation(shm, 'CRASH', d.task, op, t?.page ?? -1);
  Atomics.store(shm.taskState, d.task, TASK_DONE);
  const stack = e instanceof Error ? e.stack ?? String(e) : String(e);
  parentPort!.postMessage({ type: 'crash', task: d.task, op, stack } satisfies ActorMessage);
}
