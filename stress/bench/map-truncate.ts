// The default scenario through runStress (free mode, real threads):
//
// 1. What the checker's quiescent epochs cost: ops/s of map-truncate (mainline, 4 workers, the
//    default flags: --perturb low, stutter) with epochs at the default interval vs none
//    (extra.epochMs = 0: only the start and final checks run). Runs alternate on/off, the order
//    flipping each pair, so drift in the machine's load hits both sides. Target: <= 10 %.
// 2. How fast free mode catches patch 4 (--map-pages patch4) over seeds 1-10, each run stopping at
//    its first violation. "detect" is the run's elapsed time (from the start barrier, workers
//    loaded and the initial state checked, until every actor has stopped) less the 200 ms the run
//    keeps collecting after the first violation, as the matrix measures it: it still includes the
//    main thread's tick (<= 10 ms) and the actors finishing their current operation. The stats
//    samples (every 200 ms here) bracket it independently: the first sample that counts a
//    violation is an upper bound, the one before it a lower bound.
import os from 'node:os';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress, TUNING_DEFAULTS } from '../../src/run/orchestrate.ts';
import type { RunResult } from '../../src/report/result.ts';
import { COLLECT_AFTER_VIOLATION_MS } from '../../src/matrix/matrix-run.ts';
import { fmt, median, type BenchSection, type BenchTable } from './common.ts';

const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const opsOf = (r: RunResult) => r.tasks.reduce((a, t) => a + t.ops, 0);

function cfgOf(over: Partial<RunConfig>, extra: RunConfig['extra']): RunConfig {
  return { ...DEFAULTS, scenario: 'map-truncate', workers: 4, reportDir: null, reproduce: false, ...over, extra: { 'map-pages': 'mainline', ...extra } };
}

async function epochCost(quick: boolean): Promise<BenchTable> {
  const ms = quick ? 2_000 : 10_000;
  const pairs = quick ? 1 : 3;
  const loadBefore = load();
  const rate: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const pause: number[] = [];
  const epochs: number[] = [];
  const notes: string[] = [];
  for (let p = 0; p < pairs; p++) {
    for (const side of p % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const r = await runStress(cfgOf({ durationMs: ms, seed: `bench-${p}` }, side === 'off' ? { epochMs: 0 } : {}));
      if (r.outcome !== 'SUCCESS') notes.push(`epochs ${side}, pair ${p + 1}: ${r.outcome} (${r.endReason}, ${r.violations[0]?.id ?? r.hung.length + ' hung'}) after ${r.elapsedMs} ms: its rate is of a shorter run`);
      rate[side].push(opsOf(r) / (r.elapsedMs / 1000));
      if (side === 'on') {
        const e = r.extra.epochs as { count: number; totalPauseMs: number };
        epochs.push(e.count);
        pause.push((100 * e.totalPauseMs) / r.elapsedMs);
      }
    }
  }
  const on = median(rate.on), off = median(rate.off);
  const cost = 100 * (1 - on / off);
  const pairCosts = rate.on.map((x, i) => 100 * (1 - x / rate.off[i]));
  const k = (x: number) => fmt(x / 1000, 1);
  return {
    title: `map-truncate mainline, 4 workers, default flags, via runStress: thousand ops/s with the checker's epochs on vs off (${pairs} alternated pair(s) of ${ms / 1000} s; ${os.availableParallelism()} cores)`,
    head: ['epochs', ...rate.on.map((_, i) => `run ${i + 1}`), 'median', 'epochs/run', 'paused %'],
    rows: [
      [`on (every ${TUNING_DEFAULTS.epochMs} ms)`, ...rate.on.map(k), k(on), fmt(median(epochs), 0), fmt(median(pause), 2)],
      ['off (epochMs 0)', ...rate.off.map(k), k(off), '0', '0'],
      ['cost of epochs', ...pairCosts.map((c) => `${fmt(c, 1)} %`), `${fmt(cost, 1)} % ${cost <= 10 ? 'ok' : 'OVER'} (<= 10 %)`, '', ''],
    ],
    notes: [
      `load average before ${loadBefore}, after ${load()} (1, 5, 15 min; the machine is shared)`,
      'ops/s = operations of all actors / elapsed (start barrier to every actor stopped: worker start-up excluded).',
      'per-run cost columns compare the two runs of a pair; the cost after them compares the medians. A negative cost is noise.',
      'paused % = time every actor stood parked for an epoch (the whole-state check included), of the elapsed time.',
      ...notes,
    ],
  };
}

async function timeToDetect(quick: boolean): Promise<BenchTable> {
  const seeds = quick ? [1, 2, 3] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const capMs = quick ? 20_000 : 60_000;
  const sampleMs = 200;
  const loadBefore = load();
  const rows: (string | number)[][] = [];
  const detect: number[] = [];
  let missed = 0;
  for (const seed of seeds) {
    const r = await runStress(cfgOf({ durationMs: capMs, seed: String(seed), statIntervalMs: sampleMs }, { 'map-pages': 'patch4' }));
    const first = r.violations[0];
    if (r.endReason !== 'violation' || !first) {
      missed++;
      rows.push([seed, `> ${capMs / 1000}`, '-', r.endReason, '-', `${r.hung.length ? `HUNG x${r.hung.length}` : '-'}`]);
      continue;
    }
    const ms = Math.max(0, r.elapsedMs - COLLECT_AFTER_VIOLATION_MS);
    detect.push(ms);
    const at = r.samples.findIndex((s) => s.violations > 0);
    const bracket = at < 0 ? '-' : `${fmt((r.samples[at - 1]?.t ?? 0) / 1000, 1)}-${fmt(r.samples[at].t / 1000, 1)}`;
    rows.push([seed, fmt(ms / 1000, 2), bracket, first.id, String(r.violationCount), fmt(opsOf(r) / 1000, 0)]);
  }
  const found = detect.length;
  // a missed seed counts at the cap: the median and the max are then lower bounds
  const all = [...detect, ...Array(missed).fill(capMs)];
  const lb = missed ? ' (at least: a seed missed)' : '';
  return {
    title: `time to detect --map-pages patch4 in free mode (map-truncate, 4 workers, default flags), seeds ${seeds[0]}-${seeds[seeds.length - 1]}, each run up to ${capMs / 1000} s, stopping at the first violation`,
    head: ['seed', 'detect s', 'sample bracket s', 'first invariant', 'violations', 'k ops'],
    rows: [
      ...rows,
      [`median (${found}/${seeds.length} found)`, `${fmt(median(all) / 1000, 2)}${lb}`, '', '', '', ''],
      ['max', `${fmt(Math.max(...all) / 1000, 2)}${lb}`, '', '', '', ''],
    ],
    notes: [
      `load average before ${loadBefore}, after ${load()} (1, 5, 15 min; the machine is shared)`,
      `detect = elapsed less the ${COLLECT_AFTER_VIOLATION_MS} ms collected after the first violation; elapsed runs from the start barrier (worker start-up excluded) until every actor has stopped, so it includes the main thread's 10 ms tick and the actors finishing their operation.`,
      `sample bracket = the stats samples (every ${sampleMs} ms) before and at the first that counts a violation: the violation happened in between.`,
      'violations = reported before the run stopped (the 200 ms collection included); k ops = operations of all actors in the run.',
    ],
  };
}

export const mapTruncateBench: BenchSection = {
  name: 'map-truncate',
  description: 'default scenario via runStress: ops/s with the checker\'s epochs on vs off; time to detect patch4 over seeds 1-10',
  async run(o) {
    return [await epochCost(o.quick), await timeToDetect(o.quick)];
  },
};
