// A process that checkpoints a growing run every few ms until it is killed, the way a soak run dies
// when a CI job's time runs out. Prints "checkpoint N" after each one. argv: <dir>
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpointer, RssMonitor, statsDownsampler } from '../../src/run/checkpoint.ts';
import { renderHtml } from '../../src/report/html.ts';
import type { RunResult } from '../../src/report/result.ts';
import { fixtureRun } from './report-fixture.ts';

const dir = process.argv[2];
mkdirSync(dir, { recursive: true });

function atomic(path: string, data: string) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
function write(d: string, r: RunResult) {
  atomic(join(d, 'run.json'), JSON.stringify(r, null, 2));
  atomic(join(d, 'index.html'), renderHtml(r));
  process.stdout.write(`checkpoint ${(r.extra.checkpoint as { n: number }).n}\n`);
}

const base = fixtureRun({ outcome: 'SUCCESS', violations: [], violationCount: 0, hung: [], samples: [] });
const samples = statsDownsampler(8);
const rss = new RssMonitor();
let t = 0;
const cp = new Checkpointer({
  dir, intervalMs: 1, write, rss,
  snapshot: () => ({ ...base, samples: samples.values(), elapsedMs: t }),
});
cp.start();
const work = setInterval(() => {
  t += 1000;
  samples.push({ t, opsByRole: { locker: t }, acquisitions: t, contended: t / 10, maxWaitUs: t % 700, overtaken: 0, violations: 0 });
  rss.sample();
}, 1);
setTimeout(() => clearInterval(work), 60_000).unref(); // never outlive a broken test by long
