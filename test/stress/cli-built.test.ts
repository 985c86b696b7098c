// The compiled CLI as a user runs it (dist/, built by `npm test` before vitest): exit codes,
// one-line usage errors without stack traces, true help and list against the real registries,
// a short real run, and SIGINT still writing the reports.
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '../../stress/commands/context.ts';
import { allRunFlags } from '../../src/run/validate.ts';
import { INVARIANT_IDS } from '../../src/kernel/invariants.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { lockNames } from '../../src/locks/index.ts';

// Runs of the locks scenario that must end clean use --no-signals: with fatal signals the default
// lock (v5.9-rc6) loses killable wake-ups, which free mode reports as LOCK-WAKE
// (docs/findings/killable-lost-wakeup.md); these tests are about the CLI, not the lock.

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pls-built-'));

interface Ran { code: number | null; stdout: string; stderr: string }
function cli(args: string[], timeoutMs = 30_000): Promise<Ran> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('compiled CLI', () => {
  it('bad usage: exit 2, one line on stderr, no stack, no work', async () => {
    writeFileSync(join(tmp, 'afile'), 'x');
    const cases: [string[], RegExp][] = [
      [['run', '--duration', 'banana'], /--duration wants a duration/],
      [['run', '--lock', 'nope'], /--lock: 'nope' is not one of/],
      [['run', '--pages', '-1'], /--pages must be between 1/],
      [['run', '--workers', '0'], /--workers must be between 1/],
      [['run', '--buckets', '5000'], /--buckets must be between 1 and 4096/],
      [['run', '--nope'], /unknown flag --nope/],
      [['nope'], /unknown command 'nope'/],
      [['run', '--seed'], /--seed needs a value/],
      [['run', '--report-dir', join(tmp, 'afile', 'x')], /cannot write reports to .*ENOTDIR/],
    ];
    const ran = await Promise.all(cases.map(([a]) => cli(a)));
    ran.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
    expect(existsSync(join(tmp, 'reports'))).toBe(false);
  }, 60_000);

  it('help and list are generated from the real registries', async () => {
    const [help, list] = await Promise.all([cli(['help', 'run']), cli(['list'])]);
    expect(help.code).toBe(0);
    const { common, byScenario } = allRunFlags(buildRegistry());
    for (const f of [...common, ...[...byScenario.values()].flat()]) expect(help.stdout).toContain(`--${f.name}`);
    expect(list.code).toBe(0);
    for (const s of SCENARIOS.keys()) expect(list.stdout).toMatch(new RegExp(`^  ${s}( \\*)? `, 'm'));
    for (const l of lockNames()) expect(list.stdout).toContain(`  ${l}`);
    for (const id of INVARIANT_IDS) expect(list.stdout).toMatch(new RegExp(`^  ${id} `, 'm'));
    for (const l of lockNames({ hidden: true }).filter((n) => !lockNames().includes(n))) expect(list.stdout).not.toContain(l);
  }, 30_000);

  it('a short run exits 0 and writes the reports', async () => {
    const r = await cli(['run', '--scenario', 'locks', '--no-signals', '--workers', '2', '--ops', '300', '--duration', '20s', '--seed', '7', '--report-dir', 'out']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^--- Start of test: scenario=locks lock=v5\.9-rc6 .* seed=7 workers=2 .* commit=\S+/m);
    expect(r.stdout).toMatch(/^End of test: SUCCESS$/m);
    expect(readdirSync(join(tmp, 'out'))).toEqual(expect.arrayContaining(['run.json', 'summary.md', 'junit.xml']));
    const json = JSON.parse(readFileSync(join(tmp, 'out', 'run.json'), 'utf8'));
    expect(json.config).toMatchObject({ scenario: 'locks', seed: '7', workers: 2, ops: 300 });
    expect(json.outcome).toBe('SUCCESS');
  }, 30_000);

  it('SIGINT stops the run, the reports are still written', async () => {
    const child = spawn(process.execPath, [CLI, 'run', '--scenario', 'locks', '--no-signals', '--workers', '2', '--duration', '1h', '--stat-interval', '200ms', '--report-dir', 'sig'], { cwd: tmp });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/torture: t=/.test(out) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // an interrupted clean run is not a PASS (issue 13 item 7): INTERRUPTED, exit 3
    expect(out).toMatch(/^End of test: INTERRUPTED \(stopped by SIGINT before its end; nothing found in the part that ran\)$/m);
    expect(code).toBe(3);
    const json = JSON.parse(readFileSync(join(tmp, 'sig', 'run.json'), 'utf8'));
    expect(json.endReason).toBe('signal');
    expect(existsSync(join(tmp, 'sig', 'junit.xml'))).toBe(true);
  }, 30_000);
});
