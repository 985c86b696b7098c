// Start lock-worker.ts workers on one shared model, let them run for a while, collect.
import { benchShm, benchWorker, collect, sleep } from './common.ts';
import { CTL } from '../../src/shm/layout.ts';
import { BC, type LockWorkerData, type LockWorkerResult } from './lock-worker-api.ts';

export async function runLockWorkers(mode: LockWorkerData['mode'], n: number, lock: string | undefined, ms: number, count = false): Promise<{ results: LockWorkerResult[]; elapsedNs: number }> {
  const shm = benchShm(n);
  const ctl = new Int32Array(new SharedArrayBuffer(BC.WORDS * 4));
  ctl[BC.LAST] = -1;
  const clock = new SharedArrayBuffer(16);
  const ws = Array.from({ length: n }, (_, id) => benchWorker('lock-worker', {
    mode, id, ctl: ctl.buffer, clock, lock, sab: shm.sab, sizes: shm.sizes, count,
  } satisfies LockWorkerData));
  const done = collect<LockWorkerResult>(ws);
  try {
    const deadline = Date.now() + 30_000;
    while (Atomics.load(ctl, BC.READY) < n) {
      if (Date.now() > deadline) throw new Error('bench workers did not start');
      await sleep(5);
    }
    const t0 = process.hrtime.bigint();
    Atomics.store(ctl, BC.GO, 1);
    Atomics.notify(ctl, BC.GO);
    await sleep(ms);
    Atomics.store(ctl, BC.STOP, 1);
    const results = await Promise.race([done, sleep(20_000).then(() => { throw new Error(`bench workers (${mode} ${lock ?? ''}) did not stop`); })]);
    if (Atomics.load(shm.ctl, CTL.VIOLATIONS) !== 0) throw new Error(`${lock}: the lock reported violations during the benchmark`);
    return { results, elapsedNs: Number(process.hrtime.bigint() - t0) };
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

