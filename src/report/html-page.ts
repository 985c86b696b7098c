// The page shell shared by a run's index.html and a merged index.html: escaping, the inlined uPlot
// (read from node_modules at render time, so the file needs no network), and the small client
// script that draws the charts from inlined JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ChartSpec } from './html-data.ts';

/** Escape text for HTML element content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside <script>: no "</script>", no "<!--", no line separators that end a JS string. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let assets: { js: string; css: string } | null = null;

/** uPlot's minified JS and CSS, read once from the installed package. */
export function uplotAssets(): { js: string; css: string } {
  if (!assets) {
    const require = createRequire(import.meta.url);
    const dir = require.resolve('uplot/package.json').replace(/package\.json$/, 'dist/');
    const js = readFileSync(dir + 'uPlot.iife.min.js', 'utf8');
    const css = readFileSync(dir + 'uPlot.min.css', 'utf8');
    // an inlined script must not contain its own end tag
    assets = { js: js.replace(/<\/(script)/gi, '<\\/$1'), css: css.replace(/<\/(style)/gi, '<\\/$1') };
  }
  return assets;
}

export const CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328;
  margin: 0; background: #f6f8fa; }
main { max-width: 1320px; margin: 0 auto; padding: 16px 20px 40px; }
.wide { max-width: 100%; overflow-x: auto; }
table.pertask { font-size: 12px; } table.pertask th, table.pertask td { padding: 3px 5px; }
table.pertask th { vertical-align: bottom; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.banner { padding: 14px 18px; border-radius: 8px; color: #fff; margin-bottom: 14px; }
.banner.SUCCESS { background: var(--ok); } .banner.FAILURE { background: var(--bad); }
.banner .outcome { font-size: 22px; font-weight: 700; letter-spacing: .02em; }
.banner .why { opacity: .95; }
.facts { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; }
.fact { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; min-width: 120px; }
.fact b { display: block; font-size: 16px; } .fact span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 10px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
pre.diagram { max-height: 520px; line-height: 1.35; }
.reproduction { border-top: 1px dashed var(--line); margin-top: 10px; }
pre.replay { background: #f6f8fa; max-height: none; white-space: pre-wrap; word-break: break-all; }
pre { background: #fff; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 420px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 12px; }
.side { display: flex; flex-wrap: wrap; gap: 0 16px; align-items: flex-start; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 10px 0; min-height: 60px; }
.nodata { color: var(--muted); font-style: italic; background: #fff; border: 1px dashed var(--line); padding: 10px; border-radius: 6px; }
.violation { background: #fff; border: 1px solid var(--bad); border-left: 6px solid var(--bad); border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
.violation h3 { margin-top: 4px; color: var(--bad); }
.hung { border-color: var(--warn); border-left-color: var(--warn); } .hung h3 { color: var(--warn); }
.flight { max-height: 460px; overflow: auto; border: 1px solid var(--line); }
.flight table { margin: 0; }
.flight { display: inline-block; max-width: 100%; }
.violation > pre.diagram, .violation > .flight { max-height: none; } /* the interleaving (at most MAX_ROWS rows) whole: the race is at its end */
tr.onpage td { background: #fff8c5; } tr.me td { font-weight: 600; } tr.at td { background: #ffebe9; }
.legend-note { color: var(--muted); font-size: 12px; }
.notes li.warn { color: var(--warn); }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
details > summary { cursor: pointer; }
`;

/** Draws every chart spec; publishes what it drew in window.__reportCharts (the browser test reads it). */
const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#bf3989', '#4d2d00'];
  var drawn = [];
  window.__reportCharts = drawn;
  function tick(spec, v, hover) {
    var t = spec.xTicks;
    if (!t) return String(v);
    var k = Math.round(v) - t.first;
    if (Math.abs(v - Math.round(v)) > 1e-9 || k < 0 || k >= t.labels.length) return '';
    return hover && t.hover ? t.hover[k] : t.labels[k];
  }
  // the y axis is as wide as its longest tick label, so the rotated title never overlaps a label
  function yAxisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1 && axis._size) return axis._size;
    var longest = (values || []).reduce(function (a, v) { return String(v).length > a.length ? String(v) : a; }, '');
    u.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1)) + 4;
  }
  data.charts.forEach(function (spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el) return;
    var indexed = spec.kind !== 'line';
    var asBars = spec.kind === 'bars';
    var series = [{ label: spec.xLabel, value: function (u, v) { return v == null ? '-' : tick(spec, spec.kind === 'step' ? v + 0.5 : v, true); } }];
    spec.series.forEach(function (s, i) {
      var c = palette[i % palette.length];
      var o = { label: s.label, stroke: c, width: 2 };
      if (asBars) { o.fill = c + 'b0'; o.paths = uPlot.paths.bars({ size: [0.7, 80] }); o.points = { show: false }; }
      else if (spec.kind === 'step') { o.fill = c + '30'; o.paths = uPlot.paths.stepped({ align: 1 }); o.points = { show: false }; }
      series.push(o);
    });
    var xAxis = { label: spec.xLabel };
    if (indexed) {
      xAxis.incrs = [1, 2, 4, 5, 10, 20, 50, 100];
      xAxis.values = function (u, splits) { return splits.map(function (v) { return tick(spec, v, false); }); };
      xAxis.space = spec.xTicks ? 56 : 30;
    }
    var xScale = { time: false };
    var xLo = Math.min.apply(null, spec.x), xHi = Math.max.apply(null, spec.x);
    // every figure here is a count, a rate or a duration: start the y axis at 0 so bars and lines compare honestly
    var yScale = { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.08 : 1]; } };
    // bars: half a slot either side of the data, set from the data itself (uPlot does not call a
    // range function for a single x value, and would pin a lone bar to the left edge)
    if (asBars) { xScale.auto = false; xScale.range = function () { return [xLo - 0.5, xHi + 0.5]; }; }
    // a line of one or two points is hard to see: show its points
    if (spec.kind === 'line' && spec.x.length < 3) series.forEach(function (o, i) { if (i > 0) o.points = { show: true, size: 8 }; });
    var opts = {
      title: spec.title, width: Math.max(320, el.clientWidth - 16), height: 260,
      scales: { x: xScale, y: yScale }, series: series,
      axes: [xAxis, { label: spec.yLabel, size: yAxisSize, labelSize: 24, labelGap: 4 }],
      legend: { live: true },
    };
    var u = new uPlot(opts, [spec.x].concat(spec.series.map(function (s) { return s.values; })), el);
    drawn.push({ id: spec.id, points: spec.x.length, series: spec.series.length, plot: u });
  });
  var t;
  window.addEventListener('resize', function () {
    clearTimeout(t);
    t = setTimeout(function () {
      drawn.forEach(function (d) {
        var el = document.getElementById('chart-' + d.id);
        d.plot.setSize({ width: Math.max(320, el.clientWidth - 16), height: 260 });
      });
    }, 100);
  });
})();
`;

/** A chart placeholder, or the "no data" note when there is nothing to draw. */
export function chartBlock(spec: ChartSpec | null, noData: string): string {
  if (!spec || spec.x.length === 0 || spec.series.length === 0)
    return `<p class="nodata">${esc(noData)}</p>`;
  return `<div class="chart" id="chart-${esc(spec.id)}" data-chart="${esc(spec.id)}"></div>`;
}

/**
 * A complete page. The Content-Security-Policy forbids every fetch (no default source): the page
 * cannot load anything from anywhere, by construction; the browser test checks it loads nothing.
 */
export function page(title: string, body: string, charts: ChartSpec[]): string {
  const { js, css } = uplotAssets();
  const drawable = charts.filter((c) => c.x.length > 0 && c.series.length > 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
<script type="application/json" id="report-data">${jsonForScript({ charts: drawable })}</script>
<script>${js}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}
