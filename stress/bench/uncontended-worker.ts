// A bench worker: one lock's uncontended pair loops, or one row of the direct pair's breakdown
// (uncontended-lock.ts), on a thread of its own.
import { parentPort, workerData } from 'node:worker_threads';
import { measureBreakdown, measureLock } from './uncontended-lock.ts';
import { directV8Flags } from '../../src/kernel/direct.ts';

directV8Flags(); // as a free-mode actor sets it (workers/actor.ts)

const d = workerData as { what?: 'breakdown'; row: number; lock: string; n: number; reps: number };
parentPort!.postMessage(d.what === 'breakdown' ? measureBreakdown(d.n, d.reps, d.row) : measureLock(d.lock, d.n, d.reps));
