// Issue 13, items 3-6, 8 and 11 through the compiled CLI (dist/, built by `npm test` before vitest):
// report directories are not overwritten silently, paths that cannot be made are one line and
// exit 2 (no /proc hang), internal errors are one line naming the saved stack trace, malformed
// repro files and corpora are exit 2, a plug-in that never finishes loading is named, and the
// printed replay line works as printed, from any directory, with its --plugin.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '../../src/report/dirs.ts';

// Runs of the locks scenario that must end clean use --no-signals: with fatal signals the default
// lock (v5.9-rc6) loses killable wake-ups, which free mode reports as LOCK-WAKE
// (docs/findings/killable-lost-wakeup.md); these tests are about the CLI, not the lock.

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'stress', 'cli.js');
/** run claims its --report-dir through src/report/dirs.ts claimReportDir (stress/commands/run.ts) */
const RUN_CLAIMS = readFileSync(join(ROOT, 'stress', 'commands', 'run.ts'), 'utf8').includes('claimReportDir');
const tmp = mkdtempSync(join(tmpdir(), 'pls-never-lose-'));

interface Ran { code: number | null; stdout: string; stderr: string; ms: number }
function run(file: string, args: string[], o: { cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(file, args, { cwd: o.cwd ?? tmp, timeout: o.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
function cli(args: string[], o: { cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  return run(process.execPath, [CLI, ...args], o);
}
/** exit 2 and exactly one line on stderr, no stack frames */
function oneLine(r: Ran, why: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^pagelock-stress: /);
  expect(lines[0]).toMatch(why);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const BUSTED = ['explore', '--scenario', 'locks', '--lock', 'busted-nowake', '--workers', '3', '--pages', '2', '--iterations', '200', '--seed', '1', '--threads', '1'];

/** The find of one `BUSTED --no-shrink` exploration (deterministic: every run writes the same
 * file), made by the first test that needs it and copied into `dir` for each; its file name. */
let busted: Promise<string> | null = null;
async function bustedFind(dir: string): Promise<string> {
  const from = join(tmp, 'busted-find');
  busted ??= cli([...BUSTED, '--no-shrink', '--report-dir', from]).then((r) => {
    expect(r.code, r.stdout + r.stderr).toBe(1);
    return readdirSync(from).find((f) => f.endsWith('.json'))!;
  });
  const name = await busted;
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(from, name), join(dir, name));
  return name;
}

describe('item 4: paths that cannot be made', () => {
  it('--report-dir /proc/x (run, explore) and merge --out /proc/x: exit 2 with one line, at once', async () => {
    const shard = join(tmp, 'proc-shard');
    mkdirSync(shard, { recursive: true });
    const rs = await Promise.all([
      cli(['run', '--duration', '1s', '--report-dir', '/proc/pls-x/y'], { timeoutMs: 20_000 }),
      cli([...BUSTED, '--report-dir', '/proc/pls-x'], { timeoutMs: 20_000 }),
      cli(['merge', shard, '--out', '/proc/pls-x'], { timeoutMs: 20_000 }),
    ]);
    for (const r of rs) {
      oneLine(r, /\/proc\/pls-x.*ENOENT/);
      expect(r.ms).toBeLessThan(15_000);
    }
  }, 60_000);
});

describe('item 3: no silent overwrites', () => {
  it('merge D --out D is refused; --out over a run\'s reports needs --force; an earlier merge is replaced', async () => {
    const d = join(tmp, 'merge-run');
    const r1 = await cli(['run', '--scenario', 'locks', '--no-signals', '--duration', '300ms', '--report-dir', d, '--no-reproduce']);
    expect(r1.code, r1.stdout + r1.stderr).toBe(0);
    const before = readFileSync(join(d, 'run.json'), 'utf8');
    oneLine(await cli(['merge', d, '--out', d]), /--out .* is also an input directory/);
    expect(readFileSync(join(d, 'run.json'), 'utf8')).toBe(before);
    // another run's report directory as --out (not an input): refused, named, --force replaces it
    const other = join(tmp, 'merge-other');
    const r2 = await cli(['run', '--scenario', 'locks', '--no-signals', '--duration', '300ms', '--report-dir', other, '--no-reproduce']);
    expect(r2.code).toBe(0);
    oneLine(await cli(['merge', d, '--out', other]), /--out .*merge-other holds the reports of another run \(.*run\.json.*\); give --force/);
    expect(existsSync(join(other, 'run.json'))).toBe(true);
    const forced = await cli(['merge', d, '--out', other, '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(existsSync(join(other, 'run.json'))).toBe(false);
    // a merge over an earlier merge: allowed
    const out = join(tmp, 'merged');
    expect((await cli(['merge', d, '--out', out])).code).toBe(0);
    expect((await cli(['merge', d, '--out', out])).code).toBe(0);
    expect(readdirSync(out).filter((f) => !f.startsWith('.')).sort()).toEqual(['index.html', 'junit.xml', 'summary.md']);
  }, 120_000);
});

describe('item 3: run into a used --report-dir', () => {
  // active once stress/commands/run.ts claims its directory (claimReportDir(dir, { force: v.force }))
  it.runIf(RUN_CLAIMS)('a second run is refused (exit 2, --force named), --force replaces it, a concurrent writer is refused', async () => {
    const d = join(tmp, 'used-report-dir');
    const args = ['run', '--scenario', 'locks', '--no-signals', '--duration', '300ms', '--no-reproduce', '--report-dir', d];
    expect((await cli(args)).code).toBe(0);
    writeFileSync(join(d, 'repro-free-locks-LOCK-EXCL-s1-i0.json'), '{}'); // a find of the first run
    const before = readFileSync(join(d, 'run.json'), 'utf8');
    oneLine(await cli(args), /holds the reports of another run .*--force/);
    expect(readFileSync(join(d, 'run.json'), 'utf8')).toBe(before);
    const forced = await cli([...args, '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(readFileSync(join(d, 'run.json'), 'utf8')).not.toBe(before);
    expect(existsSync(join(d, 'repro-free-locks-LOCK-EXCL-s1-i0.json'))).toBe(false); // no stale find beside the new report
    // two writers at once: the second is refused while the first runs
    const e = join(tmp, 'busy-report-dir');
    // the first run lasts long enough for the second to start on a loaded machine; the second
    // starts once the first holds the directory (its lock file), not after a guessed delay
    const first = cli(['run', '--scenario', 'locks', '--no-signals', '--duration', '10s', '--no-reproduce', '--report-dir', e]);
    for (let waited = 0; !existsSync(join(e, LOCK_FILE)) && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    oneLine(await cli(['run', '--scenario', 'locks', '--no-signals', '--duration', '300ms', '--no-reproduce', '--report-dir', e, '--force']), /in use: another pagelock-stress \(pid \d+\)/);
    expect((await first).code).toBe(0);
  }, 120_000);
});

describe('item 5: one line instead of a stack trace', () => {
  it('an internal error is one line naming the file its stack trace was saved to', async () => {
    const p = join(tmp, 'boom-later.mjs');
    writeFileSync(p, "setTimeout(() => { throw new Error('boom from a timer'); }, 10);\nexport default function register() {}\n");
    const r = await cli(['list', '--plugin', p]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    const m = /^pagelock-stress: internal error: boom from a timer \(stack trace saved to (\S+)\)$/.exec(lines[0]);
    expect(m, r.stderr).not.toBeNull();
    expect(readFileSync(m![1], 'utf8')).toMatch(/Error: boom from a timer\n\s+at /);
  }, 60_000);

  it('shrink whose result cannot be written: exit 2, one line, before shrinking', async () => {
    const d = join(tmp, 'shrink-unwritable');
    const name = await bustedFind(d);
    mkdirSync(join(d, name.replace(/\.json$/, '.min.json'))); // a directory where the file goes
    oneLine(await cli(['shrink', join(d, name)]), /cannot write the shrunk file .*\.min\.json .*EISDIR|cannot write the shrunk file/);
  }, 60_000);
});

describe('item 6: malformed repro files and corpora', () => {
  it('an unknown op kind: replay and shrink exit 2 with one line; matrix --regressions: missing, empty, broken', async () => {
    const d = join(tmp, 'malformed');
    const name = await bustedFind(d);
    const good = JSON.parse(readFileSync(join(d, name), 'utf8'));
    good.actors[1].ops[0].kind = 'frobnicate';
    const bad = join(d, 'bad-kind.json');
    writeFileSync(bad, JSON.stringify(good));
    for (const cmd of ['replay', 'shrink']) oneLine(await cli([cmd, bad]), /actors\[1\]\.ops\[0\]\.kind 'frobnicate' is not an operation of a locker in scenario locks/);

    oneLine(await cli(['matrix', '--regressions', join(tmp, 'no-such-corpus'), '--cells', 'locks/v5.9', '--budget', '1s', '--report-dir', join(tmp, 'mx1')]), /--regressions .*no-such-corpus: no such directory/);
    const empty = join(tmp, 'empty-corpus');
    mkdirSync(empty);
    oneLine(await cli(['matrix', '--regressions', empty, '--cells', 'locks/v5.9', '--budget', '1s', '--report-dir', join(tmp, 'mx2')]), /holds no regression files/);
    const broken = join(tmp, 'broken-corpus');
    mkdirSync(broken);
    writeFileSync(join(broken, 'junk.json'), '{ not json');
    const m = await cli(['matrix', '--regressions', broken, '--cells', 'locks/v5.9', '--mode', 'controlled', '--budget', '2s', '--report-dir', join(tmp, 'mx3')], { timeoutMs: 120_000 });
    expect(m.code, m.stdout + m.stderr).toBe(1);
    expect(m.stdout).toMatch(/regressions=1/);
    expect(m.stdout).toMatch(/junk\.json: not valid JSON/);
  }, 240_000);
});

describe('item 8 and 11: plug-ins, and a replay line that works as printed', () => {
  it('a plug-in whose top-level await never settles: exit 2 naming it, not a silent exit 13', async () => {
    const p = join(tmp, 'never.mjs');
    writeFileSync(p, 'await new Promise(() => {});\nexport default function register() {}\n');
    const r = await cli(['list', '--plugin', p], { timeoutMs: 30_000 });
    oneLine(r, /plug-in .*never\.mjs: did not finish loading: a top-level await waits for something that never happens/);
    expect(r.ms).toBeLessThan(15_000);
  }, 60_000);

  it('explore with a plug-in: repro files go to --report-dir; the replay line names the plug-in and works from another directory', async () => {
    const p = join(tmp, 'nowake-copy.mjs');
    writeFileSync(p, [
      'export default function register(api) {',
      "  api.registerLock('plug-nowake', (o) => api.locks.lockOverride('busted-nowake', o, {}), { description: 'busted-nowake, from a plug-in', hidden: true });",
      '}', '',
    ].join('\n'));
    const work = join(tmp, 'explore-cwd');
    mkdirSync(work);
    const d = join(tmp, 'plugin-finds');
    const r = await cli(['explore', '--plugin', p, '--scenario', 'locks', '--lock', 'plug-nowake', '--workers', '3', '--pages', '2', '--iterations', '200', '--seed', '1', '--report-dir', d], { cwd: work });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(readdirSync(work)).toEqual([]); // nothing in the working directory
    expect(readdirSync(d).some((f) => f.startsWith('repro-') && f.endsWith('.min.json')), `${readdirSync(d)}\n${r.stdout}`).toBe(true);
    const line = r.stdout.split('\n').find((l) => l.startsWith('replay: '))!;
    expect(line).toMatch(/^replay: node \/\S+\/dist\/stress\/cli\.js replay \/\S+\.min\.json --plugin \/\S+nowake-copy\.mjs$/);
    // as printed, from another directory
    const elsewhere = mkdtempSync(join(tmpdir(), 'pls-elsewhere-'));
    const again = await run('/bin/sh', ['-c', line.slice('replay: '.length)], { cwd: elsewhere });
    expect(again.code, again.stdout + again.stderr).toBe(1);
    expect(again.stdout).toMatch(/^REPRODUCED LOCK-WAKE/m); // the unlock that never wakes: a lost wake-up
    // without the plug-in the file names a lock nobody registered: one line, exit 2
    oneLine(await cli(['replay', line.split(' ')[4]], { cwd: elsewhere }), /unknown lock 'plug-nowake'/);
  }, 120_000);
});
