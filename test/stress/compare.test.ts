// `compare`: the same run per lock algorithm, the figures side by side.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { compareFigures, compareRows, extractLocks } from '../../stress/commands/compare.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { HIST_BUCKETS } from '../../src/shm/layout.ts';
import { bucketOf } from '../../src/shm/histogram.ts';
import type { RunResult } from '../../src/report/result.ts';
import { result, testContext } from '../helpers/cli-context.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';

describe('compare: figures', () => {
  it('throughput, contention, hand-offs vs steals, wait percentiles, fairness', () => {
    const hist = (...us: number[]) => {
      const h = new Array(HIST_BUCKETS).fill(0);
      for (const u of us) h[bucketOf(u * 1000)]++;
      return h;
    };
    const r: RunResult = result({ ...DEFAULTS, lock: 'v5.9', extra: {} }, {
      elapsedMs: 2_000,
      tasks: [
        { task: 0, role: 'locker', ops: 300, stats: { acquisitions: 300, contended: 30, handoffs: 20, steals: 5, overtaken: 0, eintr: 1, maxWaitUs: 900 } as any, waitHist: hist(10, 10, 900) },
        { task: 1, role: 'locker', ops: 100, stats: { acquisitions: 100, contended: 10, handoffs: 8, steals: 1, overtaken: 2, eintr: 0, maxWaitUs: 50 } as any, waitHist: hist(50) },
      ],
    });
    const f = compareFigures(r, 'x/v5.9');
    expect(f).toMatchObject({
      lock: 'v5.9', elapsedS: 2, opsPerS: 200, acquisitions: 400, acqPerS: 200, contendedPct: 10, handoffs: 28, steals: 6,
      overtaken: 2, eintr: 1, maxWaitUs: 900, role: 'locker', acqMax: 300, acqMin: 100,
    });
    expect(f.jain).toBeCloseTo(400 ** 2 / (2 * (300 ** 2 + 100 ** 2)), 4);
    expect(f.wait.count).toBe(4);
    expect(f.wait.p50Ns).toBeGreaterThanOrEqual(10_000);
    expect(f.wait.maxNs).toBeGreaterThanOrEqual(900_000);
    const rows = compareRows([f, { ...f, lock: 'v4.10' }]);
    expect(rows.map((x) => x[0])).toEqual(expect.arrayContaining(['acquisitions/s', 'contended', 'hand-offs', 'steals', 'overtaken',
      'wait p50', 'wait p99', 'wait p99.9', 'wait max', 'acq/task max', 'acq/task min', "Jain's index"]));
    for (const x of rows) expect(x).toHaveLength(3);
  });

  it('--locks is a comma-separated list; --lock is refused', () => {
    expect(extractLocks(['--scenario', 'locks', '--locks', 'v4.10,v5.9', '--seed', '3'])).toEqual({ locks: ['v4.10', 'v5.9'], rest: ['--scenario', 'locks', '--seed', '3'] });
    expect(extractLocks(['--locks=a,b,c']).locks).toEqual(['a', 'b', 'c']);
    expect(extractLocks(['--duration', '1s']).locks).toBeNull();
    expect(() => extractLocks(['--lock', 'v5.9'])).toThrow(/not --lock/);
  });

  it('bad usage: exit 2, one line, before any run', async () => {
    for (const args of [['--locks', 'v5.9'], ['--locks', 'v5.9,v5.9'], ['--lock', 'v5.9'], ['--locks', 'v5.9,nope'], ['--locks', 'v4.10,v5.9', '--duration', 'x']]) {
      const ctx = testContext();
      expect(await main(['compare', ...args], ctx), args.join(' ')).toBe(2);
      expect(ctx.stderr, args.join(' ')).toHaveLength(1);
      expect(ctx.calls).toEqual([]);
    }
  });
});

describe('compare: real runs', () => {
  it('runs two algorithms one after another with the same flags and prints the table', async () => {
    const ctx = { ...testContext(), registry: buildRegistry(), runStress };
    const args = ['compare', '--locks', 'v4.10,v5.9', '--scenario', 'locks', '--pages', '1', '--workers', '2', '--duration', '1500ms', '--seed', '7', '--report-dir', 'cmp'];
    const code = await main(args, ctx);
    const out = ctx.stdout.join('\n');
    const dir = join(ctx.dir, 'cmp');
    const runs = ['v4.10', 'v5.9'].map((l) => JSON.parse(readFileSync(join(dir, l, 'run.json'), 'utf8')) as RunResult);
    expect(code, out + ctx.stderr.join('\n')).toBe(runs.every((r) => r.outcome === 'SUCCESS') ? 0 : 1);
    expect(out).toMatch(/--- Start of compare: scenario=locks locks=v4\.10,v5\.9 .*duration=1500ms .*seed=7 workers=2 pages=1/);
    expect(out).toMatch(/\n\s+v4\.10\s+v5\.9\n/);
    for (const row of ['acquisitions/s', 'contended', 'hand-offs', 'steals', 'overtaken', 'wait p50', 'wait p99', 'wait p99.9', 'wait max', "Jain's index"])
      expect(out).toMatch(new RegExp(`\\n${row.replace('.', '\\.')}\\s+\\S+`));
    // the same run each time, but the lock
    expect(runs.map((r) => r.config.lock)).toEqual(['v4.10', 'v5.9']);
    for (const r of runs) {
      expect(r).toMatchObject({ config: { scenario: 'locks', seed: '7', workers: 2, pages: 1, durationMs: 1500 } });
      expect(r.tasks.reduce((a, t) => a + t.stats.acquisitions, 0)).toBeGreaterThan(0);
    }
    // hand-offs happen with the fair lock only
    expect(runs[0].tasks.reduce((a, t) => a + t.stats.handoffs, 0)).toBe(0);
    for (const f of ['summary.md', 'compare.json', 'index.html', 'v4.10/summary.md', 'v4.10/index.html', 'v5.9/junit.xml'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const rec = JSON.parse(readFileSync(join(dir, 'compare.json'), 'utf8'));
    expect(rec.figures.map((f: { lock: string }) => f.lock)).toEqual(['v4.10', 'v5.9']);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/\| wait p99 \| \S+/);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('id="chart-cmp-rate"');
  }, 60_000);
});
