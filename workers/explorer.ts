// Worker entry: one explorer of an exploration (src/run/explore-parallel.ts). It runs its share of
// the iterations in one thread and reports progress and its result; its heartbeat lets the main
// thread see a step that never returns. With workerData.kind 'finding' it runs the finding
// pipeline instead (write a find or reproduce a free-mode violation, shrink, diagram), so the main
// thread can interrupt it; with 'replay' or 'shrink' it replays or shrinks a repro file (the
// replay and shrink commands), its driver's heartbeat watched by the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { makeLock } from '../src/locks/index.ts';
import { getScenario } from '../src/scenarios/index.ts';
import { explore } from '../src/sched/explore.ts';
import {
  iterationClaim, runFinding, runReproJob, type ExplorerData, type ExplorerMessage, type FindingJob, type ReproJob, type ReproMessage,
} from '../src/run/explore-parallel.ts';
import { loadedRepro } from '../src/sched/repro.ts';
import { loadWorkerPlugins } from '../src/plugin/plugin.ts';

const post = (m: ExplorerMessage) => parentPort!.postMessage(m);

const kind = (workerData as { kind?: string }).kind;
if (kind === 'replay' || kind === 'shrink') {
  const job = workerData as ReproJob;
  const send = (m: ReproMessage) => parentPort!.postMessage(m);
  try {
    await loadWorkerPlugins(workerData);
    const cfg = job.file.config;
    const l = loadedRepro(job.file, getScenario(job.file.scenario), makeLock(cfg.lock, { unfairness: cfg.unfairness }));
    send({ type: 'repro', result: runReproJob(job, l, send) });
  } catch (e) {
    send({ type: 'error', worker: 0, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
} else if (kind === 'finding') {
  const job = workerData as FindingJob;
  try {
    await loadWorkerPlugins(workerData);
    const result = runFinding(job, getScenario(job.cfg.scenario), makeLock(job.cfg.lock, { unfairness: job.cfg.unfairness }),
      (path) => post({ type: 'written', path }));
    post({ type: 'finding', result });
  } catch (e) {
    post({ type: 'error', worker: 0, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
} else {
  const d = workerData as ExplorerData;
  const stop = new Int32Array(d.stop);
  const worker = d.start;
  try {
    await loadWorkerPlugins(workerData); // --plugin variants, before anything is looked up by name
    const result = explore({
      scenario: getScenario(d.scenario), cfg: d.cfg, lock: makeLock(d.cfg.lock, { unfairness: d.cfg.unfairness }),
      strategies: d.strategies, iterations: d.iterations, durationMs: d.durationMs, opsPerActor: d.opsPerActor, seed: d.seed,
      keepGoing: d.keepGoing, maxSteps: d.maxSteps, confidence: d.confidence, start: d.start, stride: d.stride, progressMs: d.progressMs,
      ...(d.next ? { claim: iterationClaim(d.next, d.iterations) } : {}),
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      onProgress: (stats) => post({ type: 'progress', worker, stats }),
      ...(d.beat ? { beat: new Int32Array(d.beat) } : {}),
      onDriver: (drv) => post({ type: 'ready', worker, sab: drv.shm.sab, sizes: drv.shm.sizes, roles: drv.roles }),
    });
    // tell the others at once: they poll the flag between iterations
    if (result.finds.length && !d.keepGoing) Atomics.store(stop, 0, 1);
    post({ type: 'done', worker, result });
  } catch (e) {
    post({ type: 'error', worker, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
}
