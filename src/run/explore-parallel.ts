// Parallel exploration: N explorer workers (workers/explorer.ts) over disjoint sets of iterations
// (worker w runs iterations w, w+N, w+2N, ...), so together they explore exactly what one
// explorer would, with the portfolio's strategies spread over the workers. The first find stops
// every worker (unless keepGoing); statistics are merged.
import type { Worker } from 'node:worker_threads';
import type { RunConfig } from '../kernel/config.ts';
import { spawnWorker } from './spawn.ts';
import { mergeStats, type ExploreResult, type ExploreStats, type Find } from '../sched/explore.ts';
import type { StrategySpec } from '../sched/strategies/strategy.ts';

export interface ExplorerData {
  scenario: string;
  cfg: RunConfig;
  strategies: StrategySpec[];
  iterations: number;
  durationMs: number;
  opsPerActor: number;
  seed: string;
  keepGoing: boolean;
  maxSteps: number;
  confidence?: number;
  start: number;
  stride: number;
  progressMs: number;
  /** Int32 word 0: set to 1 to stop every explorer */
  stop: SharedArrayBuffer;
}

export type ExplorerMessage =
  | { type: 'progress'; worker: number; stats: ExploreStats }
  | { type: 'done'; worker: number; result: ExploreResult }
  | { type: 'error'; worker: number; error: string };

export interface ParallelOptions {
  scenario: string;
  cfg: RunConfig;
  strategies: StrategySpec[];
  iterations: number;
  durationMs: number;
  opsPerActor: number;
  seed: string;
  keepGoing: boolean;
  maxSteps: number;
  confidence?: number;
  threads: number;
  progressMs?: number;
  onProgress?: (s: ExploreStats) => void;
}

export interface ParallelExplore {
  result: Promise<ExploreResult>;
  /** stop every explorer after its current iteration */
  stop(): void;
}

/** Iterations worker w of n gets out of `total`. */
export const shareOf = (total: number, w: number, n: number): number =>
  total === Infinity ? Infinity : Math.max(0, Math.ceil((total - w) / n));

export function exploreParallel(o: ParallelOptions): ParallelExplore {
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const n = o.threads;
  const latest: ExploreStats[] = [];
  const workers: Worker[] = [];
  const result = new Promise<ExploreResult>((resolve, reject) => {
    const done: ExploreResult[] = [];
    let failed = false;
    const finish = () => {
      const finds: Find[] = [];
      // the first find of each id, by iteration number (not by which worker was quicker)
      const all = done.flatMap((r) => r.finds).sort((a, b) => a.iteration - b.iteration);
      for (const f of all) if (!finds.some((x) => x.violation.id === f.violation.id)) finds.push(f);
      resolve({ stats: mergeStats(done.map((r) => r.stats)), finds: o.keepGoing ? finds : finds.slice(0, 1) });
    };
    for (let w = 0; w < n; w++) {
      const data: ExplorerData = {
        scenario: o.scenario, cfg: o.cfg, strategies: o.strategies, iterations: shareOf(o.iterations, w, n),
        durationMs: o.durationMs, opsPerActor: o.opsPerActor, seed: o.seed, keepGoing: o.keepGoing, maxSteps: o.maxSteps,
        confidence: o.confidence, start: w, stride: n, progressMs: o.progressMs ?? 250, stop,
      };
      const worker = spawnWorker('explorer', { workerData: data });
      workers.push(worker);
      worker.on('message', (m: ExplorerMessage) => {
        if (m.type === 'progress') {
          latest[m.worker] = m.stats;
          o.onProgress?.(mergeStats(latest.filter(Boolean)));
        } else if (m.type === 'done') {
          done.push(m.result);
          if (m.result.finds.length && !o.keepGoing) Atomics.store(flag, 0, 1);
          if (done.length === n && !failed) finish();
        } else {
          failed = true;
          Atomics.store(flag, 0, 1);
          for (const x of workers) void x.terminate();
          reject(new Error(`explorer ${m.worker}: ${m.error}`));
        }
      });
      worker.on('error', (e) => {
        if (failed) return;
        failed = true;
        Atomics.store(flag, 0, 1);
        for (const x of workers) void x.terminate();
        reject(e);
      });
    }
  });
  return { result, stop: () => Atomics.store(flag, 0, 1) };
}
