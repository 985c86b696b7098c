import { describe, expect, it } from 'vitest';
import { renderHtml, pageFlagsText } from '../../src/report/html.ts';
import { esc, jsonForScript } from '../../src/report/html-page.ts';
import {
  fairness, histChart, histQuantile, jainIndex, ratePerSecond, timeCharts, waitPercentiles,
} from '../../src/report/html-data.ts';
import { bucketBounds, formatUs } from '../../src/report/html-hist.ts';
import { bucketBounds as histBounds, bucketOf } from '../../src/shm/histogram.ts';
import { HIST_BUCKETS } from '../../src/shm/layout.ts';
import { fixtureRun } from '../helpers/report-fixture.ts';

/** The JSON the page's client script reads. */
function inlinedData(html: string): { charts: { id: string; x: number[]; series: { values: number[] }[] }[] } {
  const m = html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

describe('html report', () => {
  it('has every section, the outcome and every parameter', () => {
    const r = fixtureRun();
    const html = renderHtml(r);
    expect(html).toContain('class="banner FAILURE"');
    for (const id of ['violations', 'hung', 'over-time', 'latency', 'fairness', 'parameters', 'notes', 'extra'])
      expect(html).toContain(`id="${id}"`);
    for (const [k, v] of Object.entries(r.config)) {
      if (k === 'extra') continue;
      expect(html).toContain(`<td>${k}</td>`);
      expect(html).toContain(`<code>${esc(v === null ? 'null' : String(v))}</code>`);
    }
    expect(html).toContain('extra.lockers');
    // the violation with its flight records and the page state
    expect(html).toContain('LOCK-EXCL');
    expect(html).toContain('class="flight-records"');
    const shown = html.match(/<table class="flight-records">[\s\S]*?<\/table>/)![0];
    expect((shown.match(/<tr class="[^"]*onpage/g) ?? []).length).toBe(8);
    expect(shown).toContain('<tr class="onpage me at">'); // the reporting step
    expect(shown).toContain('<td class="num">109</td><td>0 (locker)</td>'); // an involved task's later step elsewhere
    expect(shown).not.toContain('send_sig_kill'); // task 3 never touched page 7: folded away
    // the diagram: one column per involved task, the reporting step marked
    const diagram = html.match(/<pre class="diagram">([\s\S]*?)<\/pre>/)![1];
    expect(diagram).toMatch(/^step  T0 locker +T1 locker +T2 locker$/m);
    expect(diagram).toMatch(/^ 107 +page_lock_acquired  pfn 7 aux 1 +&lt;== LOCK-EXCL$/m);
    expect(html.match(/<table class="flight-all">[\s\S]*?<\/table>/)![0].match(/<tr/g)!.length).toBe(11);
    expect(html).toContain('PG_locked|PG_waiters');
    expect(html).toContain('wait_on_page_bit_common');
  });

  it('inlines uPlot and the data, and fetches nothing', () => {
    const html = renderHtml(fixtureRun());
    expect(html).toContain('var uPlot');
    expect(html).toContain('.uplot');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/i);
    expect(html).not.toMatch(/(src|href|url)\s*[=(]\s*["']?\s*(https?:|\/\/)/i);
    expect(html).not.toMatch(/\b(fetch|XMLHttpRequest|WebSocket|EventSource)\s*\(/);
    const data = inlinedData(html);
    expect(data.charts.map((c) => c.id)).toEqual(['ops', 'acq', 'maxwait', 'viol', 'hist', 'fair']);
    for (const c of data.charts) {
      expect(c.x.length).toBeGreaterThan(0);
      for (const s of c.series) expect(s.values.length).toBe(c.x.length);
    }
  });

  it('escapes every string from the run', () => {
    const evil = '<img src=x onerror=alert(1)>&"\'';
    const r = fixtureRun({ runId: evil, notes: [evil, '</script><script>alert(2)</script>'] });
    r.config = { ...r.config, scenario: evil, extra: { [evil]: evil } };
    r.tasks[0].role = evil;
    r.violations[0].message = evil;
    r.violations[0].flight[0].label = evil;
    r.hung[0].state = evil;
    r.extra = { [evil]: { evil } };
    const html = renderHtml(r);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>alert(2)');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;');
    // the inlined JSON carries the role as a series label; it must not close its script element
    const json = html.match(/id="report-data">([\s\S]*?)<\/script>/)![1];
    expect(json).not.toMatch(/<|>/);
    const parsed = JSON.parse(json) as { charts: { series: { label: string }[] }[] };
    expect(parsed.charts.flatMap((c) => c.series.map((x) => x.label))).toContain(evil);
    expect(jsonForScript('</script>\u2028')).toBe('"\\u003c/script\\u003e\\u2028"');
  });

  it('says "no data" instead of drawing empty charts', () => {
    const r = fixtureRun({ samples: [], violations: [], violationCount: 0, hung: [], outcome: 'SUCCESS', endReason: 'ops' });
    for (const t of r.tasks) { t.waitHist = t.waitHist.map(() => 0); t.stats.acquisitions = 0; }
    const html = renderHtml(r);
    expect(inlinedData(html).charts).toEqual([]);
    expect(html).not.toContain('class="chart"');
    expect(html.match(/class="nodata"/g)?.length).toBe(3);
    expect(html).toContain('class="banner SUCCESS"');
    expect(html).toContain('<p class="pass">None.</p>');
    expect(html).not.toContain('id="hung"');
  });

  it('renders a run with no tasks at all', () => {
    const html = renderHtml(fixtureRun({ tasks: [], samples: [], violations: [], violationCount: 0, hung: [] }));
    expect(html).toContain('No task statistics.');
    expect(inlinedData(html).charts).toEqual([]);
  });

  it('marks a checkpoint as such', () => {
    const r = fixtureRun({ endReason: 'checkpoint', outcome: 'SUCCESS', extra: { checkpoint: { n: 3, at: '2025-01-01T01:00:00Z', intervalMs: 60000 } } });
    const html = renderHtml(r);
    expect(html).toContain('SUCCESS so far');
    expect(html).toContain('checkpoint #3');
  });

  it('decodes page flags', () => {
    expect(pageFlagsText(0x81)).toBe('PG_locked|PG_waiters');
    expect(pageFlagsText(0)).toBe('0');
    expect(pageFlagsText(1 << 20)).toBe('0x100000');
    expect(pageFlagsText(1 << 16)).toBe('free');
  });
});

describe('report figures', () => {
  it('derives rates from cumulative counters', () => {
    const s = [{ t: 1000, v: 100 }, { t: 2000, v: 300 }, { t: 4000, v: 500 }];
    const rate = ratePerSecond(s.map((p) => ({ t: p.t, opsByRole: {}, acquisitions: p.v, contended: 0, maxWaitUs: 0, overtaken: 0, violations: 0 })), (p) => p.acquisitions);
    expect(rate).toEqual([100, 200, 100]);
    const ops = timeCharts(fixtureRun())[0];
    expect(ops.series.map((x) => x.label)).toEqual(['locker', 'signaller']);
    expect(ops.series[1].values[0]).toBe(70); // 65 + 1 % 3 * 5 in the first second
  });

  it("computes Jain's index and max/min per role", () => {
    expect(jainIndex([5, 5, 5, 5])).toBe(1);
    expect(jainIndex([1, 0, 0, 0])).toBe(0.25);
    const f = fairness(fixtureRun());
    expect(f.map((x) => x.role)).toEqual(['locker', 'signaller']);
    expect(f[0].min).toBe(2480);
    expect(f[0].max).toBe(5100);
    expect(f[0].jain).toBeCloseTo((12230 ** 2) / (3 * (5100 ** 2 + 4650 ** 2 + 2480 ** 2)), 10);
  });

  it("uses src/shm/histogram.ts's buckets, in µs", () => {
    const ns = histBounds();
    for (let i = 0; i < HIST_BUCKETS; i++) {
      const [lo, hi] = bucketBounds(i, HIST_BUCKETS);
      expect(lo).toBe(ns[i][0] / 1000);
      expect(hi).toBe(ns[i][1] / 1000);
    }
    expect(bucketBounds(0, HIST_BUCKETS)).toEqual([0, 1]);
    expect(bucketBounds(HIST_BUCKETS - 1, HIST_BUCKETS)[1]).toBe(Infinity);
    expect(formatUs(0)).toBe('0');
    expect(formatUs(4 / 3)).toBe('1.33 µs');
    expect(formatUs(21_333)).toBe('21.3 ms');
    expect(formatUs(2.5e6)).toBe('2.5 s');
  });

  it('reads percentiles off a histogram, capped by the exact max', () => {
    const h = new Array(HIST_BUCKETS).fill(0);
    h[bucketOf(10_000)] = 98; // 10 µs
    h[bucketOf(1_000_000)] = 2; // 1 ms
    const upper = (ns: number) => bucketBounds(bucketOf(ns), HIST_BUCKETS)[1];
    expect(histQuantile(h, 0.5)).toBe(upper(10_000));
    expect(histQuantile(h, 0.99)).toBe(upper(1_000_000));
    expect(histQuantile(h, 0.99, 1000)).toBe(1000);
    expect(upper(10_000)).toBeGreaterThan(10);
    expect(upper(10_000)).toBeLessThanOrEqual(10 * (1 + 1 / 3) + 1e-9); // a bucket is at most 1/HIST_SUB wide
    expect(histQuantile(new Array(HIST_BUCKETS).fill(0), 0.5)).toBe(0);
    const p = waitPercentiles(fixtureRun());
    expect(p.map((x) => x.label)).toEqual(['locker', 'signaller', 'all']);
    expect(p[0].max).toBe(9800);
    expect(p[0].p50).toBeLessThanOrEqual(p[0].p99);
  });

  it('draws one role as bars, several as steps over the used buckets', () => {
    const r = fixtureRun();
    const several = histChart(r)!;
    expect(several.kind).toBe('step');
    expect(several.series).toHaveLength(2);
    expect(several.x.length).toBe(several.xTicks!.labels.length + 1);
    const one = histChart({ ...r, tasks: r.tasks.slice(0, 3) })!;
    expect(one.kind).toBe('bars');
    const used = r.tasks.slice(0, 3).flatMap((t) => t.waitHist.flatMap((c, i) => (c > 0 ? [i] : [])));
    expect(one.x[0]).toBe(Math.min(...used) - 1); // the used range plus one empty bucket each side
    expect(one.x.at(-1)).toBe(35); // the tail at 34
  });
});
