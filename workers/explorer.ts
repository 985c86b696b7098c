// Worker entry: one explorer of an exploration (src/run/explore-parallel.ts). It runs its share of
// the iterations in one thread and reports progress and its result; its heartbeat lets the main
// thread see a step that never returns. With workerData.kind 'finding' it runs the finding
// pipeline instead (write a find or reproduce a free-mode violation, shrink, diagram), so the main
// thread can interrupt it; with 'replay' or 'shrink' it replays or shrinks a repro file (the
// replay and shrink commands), its driver's heartbeat watched by the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { makeLock } from '../src/locks/index.ts';
import { getScenario } from '../src/scenarios/index.ts';
import { BEAT_WORDS, explore } from '../src/sched/explore.ts';
import {
  iterationClaim, runFinding, runReproJob, threadTimes, type ExplorerData, type ExplorerMessage, type FindingJob, type ReproJob, type ReproMessage,
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
      (path) => post({ type: 'written', path }), (line) => post({ type: 'reproducing', line }));
    post({ type: 'finding', result });
  } catch (e) {
    post({ type: 'error', worker: 0, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
} else {
  const clock = () => performance.timeOrigin + performance.now(); // the same clock in every thread
  const began = clock();
  const d = workerData as ExplorerData;
  const stop = new Int32Array(d.stop);
  const worker = d.start;
  // what this explorer costs (ExplorerCost): messages, GCs, its thread's CPU and run-queue time
  let messages = 0, messageBytes = 0, gcCount = 0, gcMs = 0;
  const send = (m: ExplorerMessage) => {
    messages++;
    messageBytes += JSON.stringify(m, (_k, v: unknown) => (v instanceof SharedArrayBuffer ? v.byteLength : v)).length;
    post(m);
  };
  const gc = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcCount++;
      gcMs += e.duration;
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  try {
    await loadWorkerPlugins(workerData); // --plugin variants, before anything is looked up by name
    let modelAt = began;
    const t0 = performance.now(), c0 = threadTimes();
    const result = explore({
      scenario: getScenario(d.scenario), cfg: d.cfg, lock: makeLock(d.cfg.lock, { unfairness: d.cfg.unfairness }),
      strategies: d.strategies, iterations: d.iterations, durationMs: d.durationMs, opsPerActor: d.opsPerActor, seed: d.seed,
      keepGoing: d.keepGoing, maxSteps: d.maxSteps, confidence: d.confidence, start: d.start, stride: d.stride, progressMs: d.progressMs,
      ...(d.next ? { claim: iterationClaim(d.next, d.iterations) } : {}),
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      onProgress: (stats) => send({ type: 'progress', worker, stats }),
      ...(d.beat ? { beat: new Int32Array(d.beat, 0, BEAT_WORDS) } : {}),
      onDriver: (drv) => {
        modelAt = clock();
        send({ type: 'ready', worker, sab: drv.shm.sab, sizes: drv.shm.sizes, roles: drv.roles });
      },
    });
    const wallMs = performance.now() - t0, c1 = threadTimes();
    // tell the others at once: they poll the flag between iterations
    if (result.finds.length && !d.keepGoing) Atomics.store(stop, 0, 1);
    // the GC entries of the (synchronous) exploration are delivered once the event loop turns
    await new Promise((r) => setTimeout(r, 0));
    gc.disconnect();
    const cost = {
      loadMs: began, setupMs: modelAt, wallMs, // absolute: the main thread makes them durations
      cpuMs: c0 && c1 ? (c1.cpuNs - c0.cpuNs) / 1e6 : -1, startCpuMs: c0 ? c0.cpuNs / 1e6 : -1, runqMs: c0 && c1 ? (c1.runqNs - c0.runqNs) / 1e6 : -1,
      gcCount, gcMs, messages: messages + 1, messageBytes,
      youngMb: (v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0) / 2 ** 20,
    };
    const done: ExplorerMessage = { type: 'done', worker, result, cost };
    cost.messageBytes += JSON.stringify(done).length;
    post(done);
  } catch (e) {
    post({ type: 'error', worker, error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
}
