// Opt-in (`npm run bench -- soak-rss`; it takes 10 minutes): does a soak run stay within its memory
// target? One run of the default scenario as `soak` runs it — a checkpoint every minute into a
// temporary directory, stats every 10 s — and the process RSS after 1 minute vs after 10 minutes
// (target: < 5 % growth), with the heap, and the run's own RSS summary (src/run/checkpoint.ts's
// RssMonitor: the last third's lowest vs the first third's highest). --quick: 2 minutes, RSS after
// 30 s vs at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import os from 'node:os';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { Checkpointer, type RssSummary } from '../../src/run/checkpoint.ts';
import { fmt, median, type BenchSection } from './common.ts';

const MiB = 1048576;

export const soakRss: BenchSection = {
  name: 'soak-rss',
  description: 'opt-in, 10 min: RSS after 10 minutes vs after 1 minute of a soak (target < 5 % growth)',
  optIn: true,
  async run(o) {
    const durationMs = o.quick ? 120_000 : 600_000;
    const earlyMs = o.quick ? 30_000 : 60_000;
    const dir = mkdtempSync(join(tmpdir(), 'pls-soak-rss-'));
    const points: { t: number; rss: number; heap: number }[] = [];
    let checkpoints: Checkpointer | null = null;
    const cfg = { ...DEFAULTS, durationMs, statIntervalMs: 10_000, checkpointMs: 60_000, seed: 'soak-rss', reportDir: dir, extra: {} };
    let r;
    try {
      r = await runStress(cfg, {
        onStart: (info) => {
          checkpoints = new Checkpointer({ dir, intervalMs: 60_000, snapshot: info.partialRunResult });
          checkpoints.start();
        },
        onStats: (s) => {
          const m = process.memoryUsage();
          points.push({ t: s.t, rss: m.rss, heap: m.heapUsed });
        },
      });
    } finally {
      (checkpoints as Checkpointer | null)?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const at = (ms: number) => points.reduce((best, p) => (Math.abs(p.t - ms) < Math.abs(best.t - ms) ? p : best), points[0]);
    const early = at(earlyMs), late = points[points.length - 1];
    const growth = (late.rss / early.rss - 1) * 100;
    // one sample swings by +-10 % with the workers' garbage collections: compare window medians too
    const win = earlyMs / 1000;
    const inWin = (lo: number, hi: number) => points.filter((p) => p.t >= lo && p.t < hi).map((p) => p.rss);
    const wEarly = median(inWin(earlyMs, 2 * earlyMs)), wLate = median(inWin(late.t - earlyMs + 1, late.t + 1));
    const wGrowth = (wLate / wEarly - 1) * 100;
    const rss = r.extra.rss as RssSummary;
    const ops = r.tasks.reduce((a, t) => a + t.ops, 0);
    return [{
      title: `Soak RSS: ${cfg.scenario}, ${cfg.workers} workers on ${os.availableParallelism()} cores, ${durationMs / 60_000} min, checkpoint every minute (${r.outcome}, ${ops} ops)`,
      head: ['figure', 'value'],
      rows: [
        [`RSS at ${early.t / 1000} s`, `${fmt(early.rss / MiB)} MiB`],
        [`RSS at ${late.t / 1000} s`, `${fmt(late.rss / MiB)} MiB`],
        ['growth, one sample each', `${fmt(growth, 2)} % (target < 5 %: ${growth < 5 ? 'ok' : 'OVER'})`],
        [`median RSS over ${win}-${2 * win} s / over the last ${win} s`, `${fmt(wEarly / MiB)} / ${fmt(wLate / MiB)} MiB`],
        ['growth, window medians', `${fmt(wGrowth, 2)} % (target < 5 %: ${wGrowth < 5 ? 'ok' : 'OVER'})`],
        [`heap used at ${early.t / 1000} s / at ${late.t / 1000} s`, `${fmt(early.heap / MiB)} / ${fmt(late.heap / MiB)} MiB`],
        ['RSS min / max over the run', `${fmt(rss.minBytes / MiB)} / ${fmt(rss.maxBytes / MiB)} MiB`],
        ["run's own verdict (last third's low vs first third's peak)", `${fmt(rss.growthPct, 2)} %${rss.warning ? ` — ${rss.warning}` : ''}`],
        ['stats samples kept / RSS samples kept', `${r.samples.length} / ${rss.samples.length}`],
      ],
      notes: [`RSS every 10 s: ${points.map((p) => fmt(p.rss / MiB, 0)).join(' ')} MiB`],
    }];
  },
};
