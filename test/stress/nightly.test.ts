// Issue 13 item 9: the nightly job warns when the matrix overran --budget, writes the
// matrix/index.html the merged index.html links to, and its usage errors point to a help that
// exists (`npm run nightly -- --help`; nightly is not a pagelock-stress command).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budgetWarning, nightly, NIGHTLY_HELP } from '../../stress/nightly.ts';
import { collectRuns, mergedHtml } from '../../src/report/merge.ts';
import { fixtureMatrix } from '../helpers/report-fixture.ts';
import { testContext } from '../helpers/cli-context.ts';

/** A fake CLI: `matrix` writes its run.json (no index.html, as the real one) and takes `matrixMs`. */
function fakeCli(matrixMs: number) {
  let t = 0;
  const calls: string[][] = [];
  const clock = () => t;
  const main = async (argv: string[]) => {
    calls.push(argv);
    const dir = argv[argv.indexOf('--report-dir') + 1];
    if (argv[0] === 'matrix') {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'run.json'), JSON.stringify(fixtureMatrix()));
      t += matrixMs;
      return 1;
    }
    t += 1000;
    return 0;
  };
  return { main, clock, calls };
}

describe('nightly (issue 13 item 9)', () => {
  it('warns when the matrix ran past its budget', async () => {
    const ctx = testContext();
    const cli = fakeCli(105_000);
    const code = await nightly(['--budget', '30s', '--soak', '0', '--out', 'n'], {}, new Date('2026-01-27T00:00:00Z'), { ctx, main: cli.main, clock: cli.clock });
    expect(code).toBe(1);
    expect(ctx.stdout.some((l) => /^WARNING: the matrix ran 105 s, over its --budget 30s/.test(l))).toBe(true);
    expect(ctx.stdout.filter((l) => l.startsWith('=== nightly: ')).at(-1)).toMatch(/1 warning: the matrix ran 105 s, over its --budget 30s$/);
    expect(cli.calls[0]).toEqual(expect.arrayContaining(['matrix', '--budget', '30s']));
  });

  it('does not warn within the budget and its slack', async () => {
    expect(budgetWarning(30_000, 34_000)).toBeNull();
    expect(budgetWarning(600_000, 650_000)).toBeNull();
    expect(budgetWarning(600_000, 700_000)).toMatch(/over its --budget 10m/);
    expect(budgetWarning(0, 50_000)).toBeNull(); // --budget 0: no budget
    const ctx = testContext();
    const cli = fakeCli(31_000);
    await nightly(['--budget', '30s', '--soak', '0', '--out', 'n'], {}, new Date(), { ctx, main: cli.main, clock: cli.clock });
    expect(ctx.stdout.filter((l) => l.startsWith('WARNING'))).toEqual([]);
  });

  it('writes matrix/index.html, the page the merged index.html links to', async () => {
    const ctx = testContext();
    const cli = fakeCli(1000);
    await nightly(['--budget', '30s', '--soak', '0', '--out', 'n'], {}, new Date(), { ctx, main: cli.main, clock: cli.clock });
    const index = join(ctx.dir, 'n', 'matrix', 'index.html');
    expect(existsSync(index)).toBe(true);
    expect(readFileSync(index, 'utf8')).toContain('<html');
    // the merged page links to exactly that file
    const m = collectRuns([join(ctx.dir, 'n', 'matrix')], join(ctx.dir, 'n'));
    expect(mergedHtml(m)).toContain('href="matrix/index.html"');
  });

  it('usage errors point to a help that exists', async () => {
    const ctx = testContext();
    const cli = fakeCli(1000);
    expect(await nightly(['--bogus'], {}, new Date(), { ctx, main: cli.main, clock: cli.clock })).toBe(2);
    expect(ctx.stderr.join('\n')).not.toContain('pagelock-stress help nightly');
    expect(ctx.stderr.join('\n')).toContain(NIGHTLY_HELP);
    expect(cli.calls).toEqual([]);
    const ctx2 = testContext();
    expect(await nightly(['--help'], {}, new Date(), { ctx: ctx2, main: cli.main, clock: cli.clock })).toBe(0);
    expect(ctx2.stdout[0]).toMatch(/^usage: npm run nightly/);
  });
});
