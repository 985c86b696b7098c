// A bench worker: one lock's uncontended pair loops (uncontended-lock.ts) on a thread of its own.
import { parentPort, workerData } from 'node:worker_threads';
import { measureLock } from './uncontended-lock.ts';

const d = workerData as { lock: string; n: number; reps: number };
parentPort!.postMessage(measureLock(d.lock, d.n, d.reps));
