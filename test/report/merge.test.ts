import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../stress/commands/index.ts';
import { collectRuns, mergedJunit } from '../../src/report/merge.ts';
import { writeReports } from '../../src/report/write.ts';
import type { RunResult } from '../../src/report/result.ts';
import { testContext } from '../helpers/cli-context.ts';
import { fixtureMatrix, fixtureRun } from '../helpers/report-fixture.ts';

function clean(over: Partial<RunResult> = {}): RunResult {
  return fixtureRun({ outcome: 'SUCCESS', endReason: 'duration', violations: [], violationCount: 0, hung: [], ...over });
}

/** shard-1/<run>, shard-2/<run> (failed) and shard-2/<run> (clean): the layout a matrix leaves. */
function shards(root: string): void {
  const put = (dir: string, r: RunResult) => { mkdirSync(join(root, dir), { recursive: true }); writeReports(join(root, dir), r); };
  put('shard-1/r-a', clean({ runId: 'r-a', config: { ...clean().config, lock: 'v4.10', seed: '11' } }));
  put('shard-2/r-b', fixtureRun({ runId: 'r-b', config: { ...clean().config, lock: 'v5.9', seed: '12' } }));
  put('shard-2/r-c', clean({ runId: 'r-c', config: { ...clean().config, lock: 'v5.9-rc6', seed: '13' } }));
}

describe('merge', () => {
  it('merges every run below the shard directories; one failed run makes it FAILURE', async () => {
    const ctx = testContext();
    shards(ctx.dir);
    const code = await main(['merge', 'shard-1', 'shard-2', '--out', 'merged'], ctx);
    expect(ctx.stderr).toEqual([]);
    expect(code).toBe(1);
    expect(ctx.stdout).toEqual(['merged 3 runs (1 failed) from 2 directories -> merged/ (summary.md, junit.xml, index.html)', 'End of merge: FAILURE']);
    const md = readFileSync(join(ctx.dir, 'merged/summary.md'), 'utf8');
    expect(md).toMatch(/^# pagelock-stress merged report: FAILURE/);
    expect(md).toContain('[summary](../shard-2/r-b/summary.md)');
    expect(md).toContain('## Failures');
    expect(md).toContain('LOCK-EXCL by task 2 (locker) op 42');
    const html = readFileSync(join(ctx.dir, 'merged/index.html'), 'utf8');
    expect(html).toContain('class="banner FAILURE"');
    expect(html).toContain('href="../shard-1/r-a/index.html"');
    expect(html).toContain('id="chart-runs-ops"');

    // junit: the union of the three runs' test cases, each suite named after its run directory
    const xml = readFileSync(join(ctx.dir, 'merged/junit.xml'), 'utf8');
    const perRun = ['shard-1/r-a', 'shard-2/r-b', 'shard-2/r-c'].map((d) => readFileSync(join(ctx.dir, d, 'junit.xml'), 'utf8'));
    const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
    const cases = perRun.reduce((a, s) => a + count(s, /<testcase /g), 0);
    expect(count(xml, /<testcase /g)).toBe(cases);
    expect(count(xml, /<testsuite /g)).toBe(3);
    expect(xml).toContain('<testsuite name="../shard-2/r-b: pagelock-stress.locks.v5.9"');
    expect(xml).toContain('classname="../shard-2/r-b: pagelock-stress.locks.v5.9"');
    expect(xml).toMatch(new RegExp(`<testsuites [^>]*tests="${cases}" failures="2" errors="0"`)); // LOCK-EXCL and HUNG of r-b
    expect(count(xml, /<testsuite[ >]/g)).toBe(count(xml, /<\/testsuite>/g));
  });

  it('is SUCCESS (exit 0) when every run is clean', async () => {
    const ctx = testContext();
    shards(ctx.dir);
    expect(await main(['merge', 'shard-1', 'shard-2/r-c'], ctx)).toBe(0);
    expect(ctx.stdout.at(-1)).toBe('End of merge: SUCCESS');
    const xml = readFileSync(join(ctx.dir, 'reports/merged/junit.xml'), 'utf8'); // the default --out
    expect(xml).toMatch(/<testsuites [^>]*failures="0" errors="0"/);
  });

  it('fails on a shard that left no report, a corrupt run.json and an unfinished run', async () => {
    const ctx = testContext();
    shards(ctx.dir);
    mkdirSync(join(ctx.dir, 'shard-3'));
    mkdirSync(join(ctx.dir, 'shard-4/r-x'), { recursive: true });
    writeFileSync(join(ctx.dir, 'shard-4/r-x/run.json'), '{"runId": "r-x", "config": {}, "outc');
    mkdirSync(join(ctx.dir, 'shard-5/r-k'), { recursive: true });
    writeReports(join(ctx.dir, 'shard-5/r-k'), clean({ endReason: 'checkpoint', runId: 'r-k' }));
    expect(await main(['merge', 'shard-1', 'shard-3', 'shard-4', 'shard-5', 'nope', '--out', 'm'], ctx)).toBe(1);
    expect(ctx.stderr).toHaveLength(4);
    expect(ctx.stderr[0]).toMatch(/shard-3: no run\.json found/);
    expect(ctx.stderr[1]).toMatch(/shard-4\/r-x\/run\.json: not valid JSON/);
    expect(ctx.stderr[2]).toMatch(/did not finish/);
    expect(ctx.stderr[3]).toMatch(/nope: no such directory/);
    const xml = readFileSync(join(ctx.dir, 'm/junit.xml'), 'utf8');
    expect((xml.match(/<error type="MISSING-REPORT"/g) ?? []).length).toBe(4);
    expect(xml).toMatch(/<testsuites [^>]*errors="5"/); // the 4 problems + the unfinished run's own END-STATE error
    expect(readFileSync(join(ctx.dir, 'm/index.html'), 'utf8')).toContain('id="problems"');
  });

  it('does not pick up its own output, or a run twice', () => {
    const ctx = testContext();
    shards(ctx.dir);
    const m = collectRuns([ctx.dir, join(ctx.dir, 'shard-1')], join(ctx.dir, 'shard-2'));
    expect(m.runs.map((r) => r.run.runId)).toEqual(['r-a']);
    expect(m.outcome).toBe('SUCCESS');
  });

  it('escapes what it copies into the merged junit.xml', () => {
    const ctx = testContext();
    const dir = join(ctx.dir, 'a&b<"c>');
    mkdirSync(dir);
    writeReports(dir, fixtureRun());
    const xml = mergedJunit(collectRuns([dir], join(ctx.dir, 'out')));
    expect(xml).toContain('name="../a&amp;b&lt;&quot;c&gt;: pagelock-stress.locks.v5.9-rc6"');
  });

  it('rejects bad usage with exit 2 and one line', async () => {
    const ctx = testContext();
    expect(await main(['merge'], ctx)).toBe(2);
    expect(ctx.stderr).toEqual(["pagelock-stress: 'merge' needs at least one report directory"]);
    writeFileSync(join(ctx.dir, 'file'), 'x');
    const c2 = testContext();
    writeFileSync(join(c2.dir, 'file'), 'x');
    expect(await main(['merge', '.', '--out', 'file/sub'], c2)).toBe(2);
    expect(c2.stderr).toHaveLength(1);
    expect(c2.stderr[0]).toMatch(/--out file\/sub: cannot write there \(E(NOTDIR|EXIST)\)/);
    expect(await main(['merge', '.', '--bogus'], ctx)).toBe(2);
  });
});

describe('merge of matrix shards', () => {
  it("takes a matrix directory's graded outcome and its own test cases, not its cells' runs", async () => {
    const ctx = testContext();
    const shard = join(ctx.dir, 'reports-shard-2');
    mkdirSync(join(shard, 'cells/locks_busted-nowake.free'), { recursive: true });
    writeFileSync(join(shard, 'run.json'), JSON.stringify(fixtureMatrix()));
    const junit = '<?xml version="1.0"?>\n<testsuites>\n  <testsuite name="pagelock-stress.matrix" tests="2" failures="1" errors="0" time="600">\n'
      + '    <testcase classname="pagelock-stress.matrix" name="locks/busted-nowake (free)"/>\n'
      + '    <testcase classname="pagelock-stress.matrix" name="map-truncate/mainline (controlled)"><failure message="clean cell showed MAP-EOF"/></testcase>\n'
      + '  </testsuite>\n</testsuites>\n';
    writeFileSync(join(shard, 'junit.xml'), junit);
    // the known-bad cell's own run FAILED (it was caught): that must not fail the merge by itself
    writeReports(join(shard, 'cells/locks_busted-nowake.free'), fixtureRun());
    const ok = join(ctx.dir, 'reports-shard-1');
    mkdirSync(ok);
    writeFileSync(join(ok, 'run.json'), JSON.stringify(fixtureMatrix({ outcome: 'SUCCESS', rows: [], counts: { PASS: 0 } })));

    expect(await main(['merge', 'reports-shard-1', 'reports-shard-2', '--out', 'merged'], ctx)).toBe(1);
    expect(ctx.stdout[0]).toBe('merged 2 runs (1 failed) from 2 directories -> merged/ (summary.md, junit.xml, index.html)');
    const md = readFileSync(join(ctx.dir, 'merged/summary.md'), 'utf8');
    expect(md).toContain('| FAILURE | matrix | - | 7 | matrix: PASS 1, FAIL 1 |');
    expect(md).toContain('map-truncate/mainline (controlled): clean cell showed MAP-EOF <x>');
    expect(md).not.toContain('LOCK-EXCL'); // the cell's run is the matrix's business
    const xml = readFileSync(join(ctx.dir, 'merged/junit.xml'), 'utf8');
    expect(xml).toContain('<testsuite name="../reports-shard-2: pagelock-stress.matrix"');
    expect(xml).toContain('name="map-truncate/mainline (controlled)"');
    // the shard without a junit.xml: one case rendered from its run.json
    expect(xml).toContain('<testsuite name="../reports-shard-1: pagelock-stress.matrix" tests="1" failures="0"');
    expect(xml).toMatch(/<testsuites [^>]*tests="3" failures="1" errors="0"/);
    const html = readFileSync(join(ctx.dir, 'merged/index.html'), 'utf8');
    expect(html).toContain('matrix: PASS 1, FAIL 1');
    expect(html).toContain('No single runs to compare');
  });
});
