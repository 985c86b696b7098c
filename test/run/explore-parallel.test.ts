// Parallel exploration hands out iterations from a shared counter: two explorer threads explore
// exactly the iterations one explorer does, whichever thread runs which.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { EXPLORER_SEMI_SPACE_MB, exploreParallel, iterationClaim, threadTimes } from '../../src/run/explore-parallel.ts';

const cfg: RunConfig = { ...DEFAULTS, scenario: 'locks', lock: 'v5.9', workers: 3, pages: 2, durationMs: 0, ops: 0, seed: '5', extra: {} };
// the random walk: PCT learns its k from the iterations its explorer ran before, so only with a
// strategy that keeps nothing between iterations is an iteration's schedule the same in any thread
const base = { cfg, strategies: strategySpecs('random', 3), opsPerActor: 6, seed: '5', keepGoing: true, maxSteps: 200_000 };

describe('iterationClaim', () => {
  it('hands out 0..total-1 once each, then -1, to every claimer of the counter', () => {
    const next = new SharedArrayBuffer(8);
    const a = iterationClaim(next, 5), b = iterationClaim(next, 5);
    expect([a(), b(), b(), a(), a(), b(), a()]).toEqual([0, 1, 2, 3, 4, -1, -1]);
  });
});

/** Longest scheduler tick (HZ 100): how stale a running thread's schedstat CPU time can be. */
const SCHEDSTAT_TICK_MS = 10;

describe('exploreParallel', () => {
  it('2 threads explore the same iterations as one explorer (same steps and decisions)', async () => {
    const iterations = 120;
    const one = explore({ ...base, scenario: getScenario('locks'), lock: makeLock('v5.9'), iterations });
    const two = await exploreParallel({ ...base, scenario: 'locks', iterations, durationMs: 0, threads: 2 }).result;
    expect(two.stats.iterations).toBe(iterations);
    expect(two.workers.map((w) => w.stats.iterations).reduce((x, y) => x + y, 0)).toBe(iterations);
    expect(two.workers.every((w) => w.startMs >= 0)).toBe(true);
    expect(two.stats.steps).toBe(one.stats.steps);
    expect(two.stats.decisions).toBe(one.stats.decisions);
    expect(two.stats.maxDecisions).toBe(one.stats.maxDecisions);
    // each explorer says what it cost: its start-up, its thread's CPU time, its messages
    const schedstat = threadTimes() !== null;
    for (const w of two.workers) {
      const c = w.cost!;
      expect(c, 'an explorer that finished reports its cost').toBeDefined();
      expect(c.loadMs).toBeGreaterThanOrEqual(0);
      expect(c.setupMs).toBeGreaterThanOrEqual(0);
      expect(c.messages).toBeGreaterThanOrEqual(2); // ready and done at least
      expect(c.messageBytes).toBeGreaterThan(0);
      // the young generation asked for (V8 caps the semi-space at 16 MB unless its maximum is raised too)
      expect(c.youngMb).toBeGreaterThanOrEqual(EXPLORER_SEMI_SPACE_MB);
      if (schedstat) {
        // a running thread's schedstat CPU time moves at scheduler ticks and switches, so an
        // explorer whose share took less than a tick can read 0, or up to a tick more than its wall
        expect(c.cpuMs).toBeGreaterThanOrEqual(0);
        expect(c.cpuMs).toBeLessThanOrEqual(c.wallMs + SCHEDSTAT_TICK_MS);
        expect(c.startCpuMs).toBeGreaterThan(0); // its start and module load: many ticks
      }
    }
    // the V8 flags are per process: a worker started afterwards (free mode's actors) has V8's own size
    const later = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_size)", { eval: true });
    const size = await new Promise<number>((res, rej) => { later.once('message', res); later.once('error', rej); });
    await later.terminate();
    expect(size / 2 ** 20).toBeLessThan(EXPLORER_SEMI_SPACE_MB);
  }, 60_000);
});
