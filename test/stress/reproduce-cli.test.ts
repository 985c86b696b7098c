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
    // Which race a free run finds first is not deterministic. The search reproduces it either
    // from the free run's own operations or, when those need a model state the search does not
    // rebuild (patch4 finds reported by the faulter), from the scenario's own workloads with the
    // same signature (src/sched/reproduce.ts). Measured on 16 free patch4 finds (seeds 1-4, four
    // runs each, 30 s budget, load 10-14 on 2 cores): 16 reproduced, the slowest in 24 s (14 before
    // the workloads lane; the two misses ran out their budget). One free run, its search bounded at
    // 60 s of wall time (it stops as soon as the find is reproduced).
    const dir = join(tmp, 'r');
    const r = await cli(['run', '--map-pages', 'patch4', '--seed', '1', '--duration', '60s', '--reproduce-budget', '60s', '--report-dir', dir], 180_000);
    expect(r.code, r.stdout).toBe(1);
    const m = r.stdout.match(/^reproduce: (\S+) reproduced under the controlled driver .*$/m);
    expect(m, r.stdout).not.toBeNull();
    const replayLine = r.stdout.match(/^replay: node \S+\/dist\/stress\/cli\.js replay (\/\S+)$/m);
    expect(replayLine, r.stdout).not.toBeNull();
    const file = replayLine![1];
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.extra.reproduction).toMatchObject({ reproduced: true, violation: m![1] });

    const again = await cli(['replay', file]);
    expect(again.code, again.stdout).toBe(1);
    expect(again.stdout).toMatch(new RegExp(`^REPRODUCED ${m![1]}`, 'm'));
  }, 300_000);

  it('--no-reproduce skips the search', async () => {
    const r = await cli(['run', '--map-pages', 'patch4', '--seed', '2', '--duration', '60s', '--no-reproduce', '--report-dir', join(tmp, 'n')]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).not.toMatch(/^reproduce:/m);
  }, 120_000);
});
