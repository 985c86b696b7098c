// Opens index.html in Debian's headless Chromium: it must load nothing but itself, log no error,
// draw every chart, and show the violation's interleaving. Saves test-output/report.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderHtml } from '../../src/report/html.ts';
import { mergeReports } from '../../src/report/merge.ts';
import { writeReports } from '../../src/report/write.ts';
import type { RunResult } from '../../src/report/result.ts';
import { fixtureMatrix, fixtureRun } from '../helpers/report-fixture.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = !!process.env.CI;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!haveChromium && !inCi) {
  console.warn(`\n*** browser test SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium; .ci/run installs it) ***\n`);
}

describe('index.html in a real browser', () => {
  if (!haveChromium) {
    // in CI a missing browser is a failure, not a skip: the report would go untested
    it.runIf(inCi)('needs Chromium', () => {
      throw new Error(`${CHROMIUM} is missing: .ci/run must install Debian's chromium package before the tests`);
    });
    it.skipIf(inCi)(`skipped: ${CHROMIUM} not found`, () => {});
    return;
  }

  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pls-browser-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  }, 40_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Write a run's index.html and load it. */
  async function open(name: string, r: RunResult) {
    const file = join(dir, name, 'index.html');
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(file, renderHtml(r));
    return load(pathToFileURL(file).href);
  }

  /** Record what a loaded page asks for or complains about. */
  async function load(url: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [], failed: string[] = [], errors: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('requestfailed', (q) => failed.push(`${q.url()}: ${q.failure()?.errorText}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(url, { waitUntil: 'load' });
    return { page, url, requests, failed, errors };
  }

  /** Per chart: canvas size and how many of its pixels are coloured (series, not grey axes or grid). */
  const canvasInk = (page: Page) => page.$$eval('.chart', (charts) => charts.map((el) => {
    const c = el.querySelector('canvas');
    if (!c) return { id: el.id, w: 0, h: 0, coloured: 0 };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
      if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }
    return { id: el.id, w: c.width, h: c.height, coloured };
  }));

  it('draws every chart, shows the violation, loads nothing else and logs no error', async () => {
    const { page, url, requests, failed, errors } = await open('full', fixtureRun());
    await page.waitForFunction(() => (window as unknown as { __reportCharts?: unknown[] }).__reportCharts?.length === 6, null, { timeout: 10_000 })
      .catch((e: Error) => { throw new Error(`charts not drawn (${e.message.split('\n')[0]}); page said: ${errors.join(' | ') || 'nothing'}`); });
    const ink = await canvasInk(page);
    expect(ink.map((c) => c.id)).toEqual(['chart-ops', 'chart-acq', 'chart-maxwait', 'chart-viol', 'chart-hist', 'chart-fair']);
    for (const c of ink) {
      expect(c.w, c.id).toBeGreaterThan(300);
      expect(c.h, c.id).toBeGreaterThan(200);
      expect(c.coloured, `${c.id} has no coloured pixels: nothing was drawn`).toBeGreaterThan(300);
    }
    // the violation: its interleaving table with the racing steps, and the page state
    const rows = await page.$$eval('#violation-0 table.flight-records tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(rows.some((t) => t.includes('page_lock_acquired'))).toBe(true);
    expect(await page.isVisible('#violation-0 table.flight-records')).toBe(true);
    expect(await page.textContent('#banner')).toContain('FAILURE');
    expect(await page.isVisible('#hung')).toBe(true);

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/report.png', fullPage: true });

    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([url]); // the document itself, nothing else
    await page.close();
  }, 30_000);

  it('a long race interleaving is shown whole (its end, where the violation is, needs no scrolling inside a box)', async () => {
    const r = fixtureRun();
    const v = r.violations[0];
    // MAX_ROWS-sized: two tasks taking turns on the reported page, the reporter's step last
    v.flight = Array.from({ length: 80 }, (_, i) => ({ task: i === 79 ? v.task : i % 2 ? v.task : (v.task + 1) % 2, seq: v.seq - 79 + i, label: i === 79 ? 'set_pte_at' : `step_${i}`, page: v.page, aux: 0, op: v.op }));
    const { page, errors } = await open('long-race', r);
    for (const sel of ['#violation-0 > pre.diagram', '#violation-0 > .flight']) {
      const box = await page.$eval(sel, (e) => ({ scroll: e.scrollHeight, client: e.clientHeight }));
      expect(box.scroll, sel).toBeGreaterThan(800); // long enough that a capped box would scroll
      expect(box.scroll - box.client, sel).toBeLessThanOrEqual(20); // (at most a horizontal scrollbar)
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  it('shows "no data" notes, not broken charts, for an empty run', async () => {
    const empty = fixtureRun({ samples: [], violations: [], violationCount: 0, hung: [], outcome: 'SUCCESS', endReason: 'ops' });
    for (const t of empty.tasks) { t.waitHist = t.waitHist.map(() => 0); t.stats.acquisitions = 0; }
    const { page, url, requests, errors } = await open('empty', empty);
    await page.waitForFunction(() => Array.isArray((window as unknown as { __reportCharts?: unknown[] }).__reportCharts));
    expect(await page.$$('canvas')).toHaveLength(0);
    expect(await page.$$eval('.nodata', (n) => n.length)).toBe(3);
    expect(await page.textContent('#banner')).toContain('SUCCESS');
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  }, 30_000);

  it('draws the merged report of several shards, and parses its junit.xml', async () => {
    const shard = (name: string, r: RunResult) => { mkdirSync(join(dir, 'm', name), { recursive: true }); writeReports(join(dir, 'm', name), r); };
    shard('shard-1/a', fixtureRun({ runId: 'a' }));
    shard('shard-2/b', fixtureRun({ runId: 'b', outcome: 'SUCCESS', violations: [], violationCount: 0, hung: [], config: { ...fixtureRun().config, lock: 'v4.10' } }));
    mergeReports([join(dir, 'm/shard-1'), join(dir, 'm/shard-2')], join(dir, 'm/merged'));
    const { page, url, requests, failed, errors } = await load(pathToFileURL(join(dir, 'm/merged/index.html')).href);
    await page.waitForFunction(() => (window as unknown as { __reportCharts?: unknown[] }).__reportCharts?.length === 2, null, { timeout: 10_000 })
      .catch((e: Error) => { throw new Error(`charts not drawn (${e.message.split('\n')[0]}); page said: ${errors.join(' | ') || 'nothing'}`); });
    for (const c of await canvasInk(page)) expect(c.coloured, c.id).toBeGreaterThan(100);
    expect(await page.$$eval('#runs tbody tr', (t) => t.length)).toBe(2);
    expect(await page.textContent('#banner')).toContain('FAILURE');
    // the browser's own XML parser must accept the merged junit.xml
    const xml = readFileSync(join(dir, 'm/merged/junit.xml'), 'utf8');
    const parsed = await page.evaluate((x) => {
      const d = new DOMParser().parseFromString(x, 'application/xml');
      return { error: d.querySelector('parsererror')?.textContent ?? null, cases: d.querySelectorAll('testcase').length };
    }, xml);
    expect(parsed.error).toBeNull();
    expect(parsed.cases).toBeGreaterThanOrEqual(10);
    await page.screenshot({ path: 'test-output/merged.png', fullPage: true });
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  }, 30_000);

  it("draws a matrix directory's index.html", async () => {
    const { page, url, requests, failed, errors } = await open('matrix', fixtureMatrix() as unknown as RunResult);
    await page.waitForFunction(() => (window as unknown as { __reportCharts?: unknown[] }).__reportCharts?.length === 1, null, { timeout: 10_000 })
      .catch((e: Error) => { throw new Error(`charts not drawn (${e.message.split('\n')[0]}); page said: ${errors.join(' | ') || 'nothing'}`); });
    const [ink] = await canvasInk(page);
    expect(ink.coloured).toBeGreaterThan(100);
    expect(await page.$$eval('#rows tbody tr', (t) => t.length)).toBe(2);
    await page.screenshot({ path: 'test-output/matrix.png', fullPage: true });
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  }, 30_000);
});
