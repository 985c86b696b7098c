import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Checkpointer, Downsampler, RssMonitor, mergeStatsSamples, statsDownsampler,
} from '../../src/run/checkpoint.ts';
import type { RunResult, StatsSample } from '../../src/report/result.ts';
import { ratePerSecond } from '../../src/report/html-data.ts';
import { fixtureRun } from '../helpers/report-fixture.ts';

const sample = (t: number, ops: number, maxWaitUs: number): StatsSample => ({
  t, opsByRole: { locker: ops }, acquisitions: ops, contended: Math.floor(ops / 4), maxWaitUs, overtaken: 0, violations: 0,
});

describe('Downsampler', () => {
  it('stays bounded and keeps a uniform resolution', () => {
    const d = new Downsampler<{ t: number; n: number }>(8, (a, b) => ({ t: b.t, n: a.n + b.n }));
    for (let i = 1; i <= 1000; i++) {
      d.push({ t: i, n: 1 });
      expect(d.length).toBeLessThanOrEqual(8);
    }
    const v = d.values();
    // nothing is lost: every pushed count is in exactly one kept sample
    expect(v.reduce((a, s) => a + s.n, 0)).toBe(1000);
    expect(v.at(-1)!.t).toBe(1000);
    // every kept sample (but the newest, still filling) covers `stride` raw samples
    for (const s of v.slice(0, -1)) expect(s.n).toBe(d.stride);
    expect(d.stride).toBe(128); // 512 raw samples filled it at stride 64, then 3 of 128 and a partial
    expect(d.pushed).toBe(1000);
  });

  it('rejects a capacity below 2 and rounds odd capacities up', () => {
    expect(() => new Downsampler(1, (a) => a)).toThrow(RangeError);
    expect(new Downsampler(5, (a) => a).capacity).toBe(6);
  });

  it('merges stats samples: newer cumulative counters, max of maxima, suspicions kept', () => {
    const m = mergeStatsSamples(
      { ...sample(1000, 10, 900), suspicions: ['??? stall task 2'], counters: { maxWaitUs: 900, acquisitions: 10 } },
      { ...sample(2000, 30, 100), counters: { maxWaitUs: 100, acquisitions: 30 } },
    );
    expect(m.t).toBe(2000);
    expect(m.opsByRole.locker).toBe(30);
    expect(m.maxWaitUs).toBe(900);
    expect(m.counters).toEqual({ maxWaitUs: 900, acquisitions: 30 });
    expect(m.suspicions).toEqual(['??? stall task 2']);
  });

  it('keeps rates exact over merged intervals, and the overall max wait', () => {
    const d = statsDownsampler(4);
    const raw: StatsSample[] = [];
    let ops = 0;
    for (let i = 1; i <= 64; i++) {
      ops += i % 2 ? 100 : 300; // 200/s on average over any pair
      const s = sample(i * 1000, ops, i === 37 ? 5000 : i);
      raw.push(s);
      d.push(s);
    }
    const v = d.values();
    expect(v.length).toBeLessThanOrEqual(4);
    expect(Math.max(...v.map((s) => s.maxWaitUs))).toBe(5000);
    expect(v.at(-1)!.opsByRole.locker).toBe(ops);
    for (const r of ratePerSecond(v, (s) => s.acquisitions)) expect(r).toBe(200);
    expect(ratePerSecond(raw, (s) => s.acquisitions).slice(0, 2)).toEqual([100, 300]);
  });
});

describe('RssMonitor', () => {
  const run = (series: number[]) => {
    let i = 0, t = 0;
    const m = new RssMonitor({ read: () => series[i++], clock: () => (t += 1000), capacity: 16 });
    for (let k = 0; k < series.length; k++) m.sample();
    return m.summary();
  };
  const MiB = 1048576;

  it('warns when the RSS keeps growing', () => {
    const s = run(Array.from({ length: 60 }, (_, k) => (100 + k) * MiB)); // +1 MiB per sample
    expect(s.growing).toBe(true);
    expect(s.warning).toMatch(/RSS keeps growing/);
    expect(s.firstBytes).toBe(100 * MiB);
    expect(s.maxBytes).toBe(159 * MiB);
    expect(s.lastBytes).toBe(159 * MiB);
    expect(s.samples.length).toBeLessThanOrEqual(16);
  });

  it('does not warn on a flat RSS with spikes and GC saw-teeth', () => {
    const s = run(Array.from({ length: 60 }, (_, k) => (k === 50 ? 400 : 100 + (k % 5) * 2) * MiB));
    expect(s.growing).toBe(false);
    expect(s.warning).toBeNull();
    expect(s.maxBytes).toBe(400 * MiB);
    expect(s.minBytes).toBe(100 * MiB);
  });

  it('does not judge with too few samples', () => {
    expect(run([1, 2, 3, 4].map((x) => x * 100 * MiB)).growing).toBe(false);
  });

  it('samples the real process', () => {
    const m = new RssMonitor();
    expect(m.sample()).toBeGreaterThan(1024 * 1024);
    expect(m.summary().lastBytes).toBe(m.summary().maxBytes);
  });
});

describe('Checkpointer', () => {
  it('writes the snapshot marked as a checkpoint, with the RSS summary', () => {
    const written: RunResult[] = [];
    const rss = new RssMonitor();
    rss.sample();
    const cp = new Checkpointer({ dir: '/nowhere', intervalMs: 1000, snapshot: () => fixtureRun(), write: (_d, r) => written.push(r), rss });
    cp.checkpoint();
    cp.checkpoint();
    expect(cp.count).toBe(2);
    expect(written[1].endReason).toBe('checkpoint');
    expect(written[1].extra.checkpoint).toMatchObject({ n: 2, intervalMs: 1000 });
    expect((written[1].extra.rss as { lastBytes: number }).lastBytes).toBeGreaterThan(0);
    expect(written[1].extra.lockdep).toEqual({ edges: 3 }); // the run's own extra data stays
  });

  it('survives a failing write and reports it', () => {
    const errors: string[] = [];
    const cp = new Checkpointer({
      dir: '/nowhere', intervalMs: 1000, snapshot: () => fixtureRun(),
      write: () => { throw new Error('EROFS'); }, onError: (e) => errors.push(e.message),
    });
    expect(cp.checkpoint()).toBeNull();
    expect(errors).toEqual(['EROFS']);
    expect(cp.count).toBe(0);
  });

  it('writes every report file by default, and says so when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pls-ckpt-'));
    try {
      const cp = new Checkpointer({ dir, intervalMs: 1000, snapshot: () => fixtureRun() });
      expect(cp.checkpoint()).not.toBeNull();
      expect(readdirSync(dir).sort()).toEqual(['index.html', 'junit.xml', 'run.json', 'summary.md']);
      expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).endReason).toBe('checkpoint');
      const bad = new Checkpointer({ dir: join(dir, 'run.json'), intervalMs: 1000, snapshot: () => fixtureRun() });
      expect(bad.checkpoint()).toBeNull();
      expect(bad.lastError?.message).toMatch(/^cannot write the reports: run\.json: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a non-positive interval', () => {
    expect(() => new Checkpointer({ dir: '.', intervalMs: 0, snapshot: () => fixtureRun(), write: () => {} })).toThrow(RangeError);
  });

  it('leaves a complete last checkpoint when the process is SIGKILLed mid-run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pls-ckpt-'));
    try {
      // the child checkpoints back to back; the kill lands wherever it is, not at a point it chose
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/checkpoint-child.ts', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const killed = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (/checkpoint 25\n/.test(out)) child.kill('SIGKILL');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      expect(await killed).toBe('SIGKILL');
      clearTimeout(timer);
      expect(out).toContain('checkpoint 25');
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
      expect(run.endReason).toBe('checkpoint');
      expect((run.extra.checkpoint as { n: number }).n).toBeGreaterThanOrEqual(25);
      expect(run.samples.length).toBeGreaterThan(0);
      expect(run.samples.length).toBeLessThanOrEqual(8);
      const html = readFileSync(join(dir, 'index.html'), 'utf8');
      expect(html.trimEnd().endsWith('</html>')).toBe(true);
      expect(html).toContain(run.runId);
      // a kill between write and rename may leave a temp file behind, never a torn report
      expect(readdirSync(dir).filter((f) => !f.endsWith('.tmp')).sort()).toEqual(['index.html', 'run.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
