// Issue 13 item 11, the report's smaller faults: summary.md called every worker of a clean run
// 'exitCode 1'; in the HTML the rotated y-axis titles overlapped tick labels, a sub-second run drew
// its time charts as single dots, the per-task table scrolled sideways at 1400 px, and a merged
// report's single bar was pinned to the left edge. The browser checks need Debian's chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { renderHtml } from '../../src/report/html.ts';
import { summaryMarkdown } from '../../src/report/markdown.ts';
import { timeCharts } from '../../src/report/html-data.ts';
import { mergeReports } from '../../src/report/merge.ts';
import { writeReports } from '../../src/report/write.ts';
import { STAT_NAMES } from '../../src/shm/layout.ts';
import type { RunResult } from '../../src/report/result.ts';
import { fixtureRun } from '../helpers/report-fixture.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A clean run whose workers the harness terminated (Node reports exit code 1), every counter used. */
function cleanRun(): RunResult {
  const r = fixtureRun();
  r.outcome = 'SUCCESS';
  r.endReason = 'duration';
  r.violations = [];
  r.violationCount = 0;
  r.hung = [];
  r.tasks = r.tasks.map((t) => ({ ...t, stats: Object.fromEntries(STAT_NAMES.map((n, i) => [n, 1_000_000 + i * 12_345])) as RunResult['tasks'][0]['stats'] }));
  r.extra = { ...r.extra, workers: r.tasks.map((t) => ({ task: t.task, threadId: t.task + 1, exitCode: 1, terminated: true })) };
  return r;
}

describe('report details (issue 13 item 11)', () => {
  it('summary.md and index.html say a terminated worker was stopped by the harness, not exitCode 1', () => {
    const md = summaryMarkdown(cleanRun());
    expect(md).not.toContain('"exitCode": 1');
    expect(md).toMatch(/\| 0 \| 1 \| stopped by the harness at the end of the run \|/);
    const html = renderHtml(cleanRun());
    expect(html).toContain('<td>stopped by the harness at the end of the run</td>');
  });

  it('a sub-second run draws lines from t = 0, not single dots', () => {
    const r = fixtureRun();
    r.samples = [{ t: 400, opsByRole: { locker: 2000 }, acquisitions: 800, contended: 40, maxWaitUs: 900, overtaken: 2, violations: 0 }];
    const charts = timeCharts(r);
    for (const c of charts) expect(c.x).toEqual([0, 0.4]);
    const ops = charts.find((c) => c.id === 'ops')!;
    expect(ops.series[0].values).toEqual([5000, 5000]); // the average rate holds from 0 to t
    expect(charts.find((c) => c.id === 'viol')!.series[1].values).toEqual([0, 2]);
  });

  it('the per-task table may wrap its counter names and scrolls in its own box', () => {
    const html = renderHtml(cleanRun());
    const box = html.match(/<div class="wide"><table class="pertask">[\s\S]*?<\/table><\/div>/);
    expect(box).not.toBeNull();
    expect(box![0]).toMatch(/<th class="num">[a-z]+<wbr>[A-Z]/);
  });
});

describe.runIf(existsSync(CHROMIUM))('report layout in Chromium (issue 13 item 11)', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pls-layout-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  }, 40_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string, width = 1400) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return page;
  }

  it('no sideways scrolling at 1400 px; y-axis titles clear of the tick labels', async () => {
    const run = join(dir, 'run');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'index.html'), renderHtml(cleanRun()));
    const page = await open(join(run, 'index.html'));
    const w = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    expect(w.sw).toBeLessThanOrEqual(w.cw);
    // every chart's y axis is at least as wide as its widest tick label
    const axes = await page.evaluate(() => (window as any).__reportCharts.map((d: any) => {
      const u = d.plot, ax = u.axes[1];
      u.ctx.font = ax.font[0];
      const widest = Math.max(0, ...(ax._values ?? []).map((v: string) => u.ctx.measureText(String(v)).width / (window.devicePixelRatio || 1)));
      return { id: d.id, size: ax._size, need: widest + ax.ticks.size + ax.gap };
    }));
    expect(axes.length).toBeGreaterThan(0);
    for (const a of axes) expect(a.size, a.id).toBeGreaterThanOrEqual(Math.floor(a.need));
    await page.close();
  }, 30_000);

  it("a merged report's single bar stands in the middle of its chart", async () => {
    const one = join(dir, 'one');
    mkdirSync(one, { recursive: true });
    writeReports(one, cleanRun());
    const out = join(dir, 'merged');
    mergeReports([one], out);
    const page = await open(join(out, 'index.html'), 1280);
    const scales = await page.evaluate(() => (window as any).__reportCharts.map((d: any) => [d.plot.scales.x.min, d.plot.scales.x.max]));
    expect(scales.length).toBe(2);
    for (const s of scales) expect(s).toEqual([-0.5, 0.5]);
    await page.close();
  }, 30_000);
});
