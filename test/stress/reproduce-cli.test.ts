// run --reproduce: a free-mode patch-4 violation is found again under the controlled driver,
// written as a shrunk repro file, and that file replays the same invariant exactly.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pls-repro-'));

function cli(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, timeout: timeoutMs }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout });
    });
  });
}

describe('run --reproduce', () => {
  it('turns a free-mode patch4 find into a repro file that replays it', async () => {
    // Which race a free run finds first is not deterministic, and the controlled search does not
    // reproduce every find: of 12 patch4 finds on seed 1 (quiet machine, 2026-12; 6 on this build,
    // 6 on the one before it, 4 of 6 each), 8 were reproduced, each within 0.5 s, and the other 4
    // not within 60-90 s. So up to three free runs, each search bounded at 30 s of wall time (generous for a
    // loaded machine running two test files at once; it stops as soon as the find is reproduced):
    // the test fails if none of three finds is reproduced.
    let dir = '', r = { code: null as number | null, stdout: '' }, m: RegExpMatchArray | null = null;
    for (let attempt = 1; attempt <= 3 && m === null; attempt++) {
      dir = join(tmp, `r${attempt}`);
      r = await cli(['run', '--map-pages', 'patch4', '--seed', '1', '--duration', '60s', '--reproduce-budget', '30s', '--report-dir', dir], 150_000);
      expect(r.code, r.stdout).toBe(1);
      m = r.stdout.match(/^reproduce: (\S+) reproduced under the controlled driver .*$/m);
    }
    expect(m, r.stdout).not.toBeNull();
    const replayLine = r.stdout.match(/^replay: node \S+\/dist\/stress\/cli\.js replay (\/\S+)$/m);
    expect(replayLine, r.stdout).not.toBeNull();
    const file = replayLine![1];
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.extra.reproduction).toMatchObject({ reproduced: true, violation: m![1] });

    const again = await cli(['replay', file]);
    expect(again.code, again.stdout).toBe(1);
    expect(again.stdout).toMatch(new RegExp(`^REPRODUCED ${m![1]}`, 'm'));
  }, 480_000);

  it('--no-reproduce skips the search', async () => {
    const r = await cli(['run', '--map-pages', 'patch4', '--seed', '2', '--duration', '60s', '--no-reproduce', '--report-dir', join(tmp, 'n')]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).not.toMatch(/^reproduce:/m);
  }, 120_000);
});
