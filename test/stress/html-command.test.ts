// `report <run-dir>`: re-renders summary.md, junit.xml and index.html from run.json.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../stress/commands/index.ts';
import { readRunResult } from '../../src/report/read.ts';
import { renderHtml } from '../../src/report/html.ts';
import { testContext } from '../helpers/cli-context.ts';
import { fixtureMatrix, fixtureRun } from '../helpers/report-fixture.ts';

describe('report command', () => {
  it('re-renders every report file from run.json and leaves run.json alone', async () => {
    const ctx = testContext();
    const dir = join(ctx.dir, 'reports/r1');
    mkdirSync(dir, { recursive: true });
    const json = JSON.stringify(fixtureRun(), null, 1);
    writeFileSync(join(dir, 'run.json'), json);
    expect(await main(['report', 'reports/r1'], ctx)).toBe(0);
    expect(ctx.stderr).toEqual([]);
    expect(ctx.stdout).toEqual(['reports/r1: FAILURE -> summary.md, junit.xml, index.html']);
    expect(readdirSync(dir).sort()).toEqual(['index.html', 'junit.xml', 'run.json', 'summary.md']);
    expect(readFileSync(join(dir, 'run.json'), 'utf8')).toBe(json);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe(renderHtml(fixtureRun()));
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('LOCK-EXCL');
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('FAILURE');
  });

  it('renders the last checkpoint of a killed run', async () => {
    const ctx = testContext();
    mkdirSync(join(ctx.dir, 'k'));
    writeFileSync(join(ctx.dir, 'k/run.json'), JSON.stringify(fixtureRun({ outcome: 'SUCCESS', endReason: 'checkpoint', violations: [], violationCount: 0, hung: [] })));
    expect(await main(['report', 'k/run.json'], ctx)).toBe(0);
    expect(ctx.stdout).toEqual(['k/run.json: SUCCESS so far (last checkpoint) -> summary.md, junit.xml, index.html']);
    expect(readFileSync(join(ctx.dir, 'k/index.html'), 'utf8')).toContain('SUCCESS so far');
  });

  it('exits 2 with one line on a missing, corrupt or foreign run.json', async () => {
    const cases: [string, string | null, RegExp][] = [
      ['missing', null, /missing\/run\.json: no such file \(not a run directory\?\)$/],
      ['corrupt', '{"runId": "x", "conf', /corrupt\/run\.json: not valid JSON \(/],
      ['foreign', '{"name": "some-package"}', /foreign\/run\.json: not a pagelock-stress run record \(missing runId, config, outcome\)$/],
      ['array', '[1, 2]', /array\/run\.json: not a run record \(expected a JSON object\)$/],
      ['badlist', '{"runId": "x", "config": {}, "outcome": "SUCCESS", "tasks": 3}', /badlist\/run\.json: "tasks" is not a list$/],
      ['outcome', '{"runId": "x", "config": {}, "outcome": "MAYBE"}', /"outcome" is "MAYBE", not SUCCESS or FAILURE$/],
    ];
    for (const [name, text, re] of cases) {
      const ctx = testContext();
      mkdirSync(join(ctx.dir, name));
      if (text !== null) writeFileSync(join(ctx.dir, name, 'run.json'), text);
      expect(await main(['report', name], ctx), name).toBe(2);
      expect(ctx.stderr, name).toHaveLength(1);
      expect(ctx.stderr[0], name).toMatch(/^pagelock-stress: /);
      expect(ctx.stderr[0], name).toMatch(re);
      expect(readdirSync(join(ctx.dir, name)).filter((f) => f !== 'run.json'), name).toEqual([]);
    }
  });

  it('needs a directory', async () => {
    const ctx = testContext();
    expect(await main(['report'], ctx)).toBe(2);
    expect(ctx.stderr).toEqual(["pagelock-stress: 'report' needs a run directory (e.g. reports/<run-id>)"]);
  });

  it('tolerates an old or partial record (lists missing)', () => {
    const ctx = testContext();
    writeFileSync(join(ctx.dir, 'run.json'), JSON.stringify({ runId: 'old', config: { scenario: 'locks', lock: 'v4.10', seed: '1' }, outcome: 'SUCCESS' }));
    const r = readRunResult(ctx.dir);
    expect(r.tasks).toEqual([]);
    expect(r.violationCount).toBe(0);
    expect(renderHtml(r)).toContain('No stats samples were taken');
    expect(statSync(join(ctx.dir, 'run.json')).isFile()).toBe(true);
  });
});

describe('report command on a matrix directory', () => {
  it("renders the matrix's index.html and leaves its summary.md and junit.xml alone", async () => {
    const ctx = testContext();
    mkdirSync(join(ctx.dir, 'mx'));
    writeFileSync(join(ctx.dir, 'mx/run.json'), JSON.stringify(fixtureMatrix()));
    writeFileSync(join(ctx.dir, 'mx/summary.md'), 'the matrix summary');
    expect(await main(['report', 'mx'], ctx)).toBe(0);
    expect(ctx.stdout).toEqual(['mx: matrix FAILURE -> index.html']);
    expect(readFileSync(join(ctx.dir, 'mx/summary.md'), 'utf8')).toBe('the matrix summary');
    const html = readFileSync(join(ctx.dir, 'mx/index.html'), 'utf8');
    expect(html).toContain('matrix shard 2/4');
    expect(html).toContain('PASS 1, FAIL 1');
    expect(html).toContain('clean cell showed MAP-EOF &lt;x&gt;');
    expect(html).toContain('href="cells/locks_busted-nowake.free/index.html"');
    expect(html).toContain('id="chart-detect"');
  });
});
