// Worker entry: one explorer of a parallel exploration (src/sched/explore-parallel.ts). It runs
// its share of the iterations in one thread and reports progress and its result.
import { parentPort, workerData } from 'node:worker_threads';
import { makeLock } from '../src/locks/index.ts';
import { getScenario } from '../src/scenarios/index.ts';
import { explore } from '../src/sched/explore.ts';
import type { ExplorerData, ExplorerMessage } from '../src/run/explore-parallel.ts';
import { loadWorkerPlugins } from '../src/plugin/plugin.ts';

const d = workerData as ExplorerData;
const stop = new Int32Array(d.stop);
const worker = d.start;
try {
  await loadWorkerPlugins(workerData); // --plugin variants, before anything is looked up by name
  const result = explore({
    scenario: getScenario(d.scenario), cfg: d.cfg, lock: makeLock(d.cfg.lock, { unfairness: d.cfg.unfairness }),
    strategies: d.strategies, iterations: d.iterations, durationMs: d.durationMs, opsPerActor: d.opsPerActor, seed: d.seed,
    keepGoing: d.keepGoing, maxSteps: d.maxSteps, confidence: d.confidence, start: d.start, stride: d.stride, progressMs: d.progressMs,
    shouldStop: () => Atomics.load(stop, 0) !== 0,
    onProgress: (stats) => parentPort!.postMessage({ type: 'progress', worker, stats } satisfies ExplorerMessage),
  });
  // tell the others at once: they poll the flag between iterations
  if (result.finds.length && !d.keepGoing) Atomics.store(stop, 0, 1);
  parentPort!.postMessage({ type: 'done', worker, result } satisfies ExplorerMessage);
} catch (e) {
  parentPort!.postMessage({ type: 'error', worker, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies ExplorerMessage);
}
