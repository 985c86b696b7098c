// Issue 13 items 1 and 2, through the compiled CLI (dist/, built by `npm test` before vitest):
// - a signal during `--- reproducing` keeps the find: the violation is on disk before the
//   reproduction starts, the reports are rewritten when it ends and say it was interrupted;
// - `explore` stops on the first signal (with --threads 1 too), reporting the iterations so far;
//   a second signal exits at once (130);
// - a plug-in step that loops without yielding is reported as HUNG (task, op, last label) instead
//   of hanging explore, and a signal still stops explore while such a step runs;
// - a long legal iteration (--ops-per-actor 10000) is not taken for a livelock.
// Time bounds are generous (a busy 2-core machine): what is asserted is the outcome, not the speed.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pls-signals-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves when stdout+stderr matches `re` (rejects after `ms`) */
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

function start(args: string[]): Running {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  // never leave a child behind, whatever the test does
  const guard = setTimeout(() => child.kill('SIGKILL'), 150_000);
  void exited.then(() => clearTimeout(guard));
  return {
    child, exited, out: () => text,
    waitFor: (re, ms = 60_000) => new Promise((resolve, reject) => {
      const until = Date.now() + ms;
      const poll = setInterval(() => {
        if (re.test(text)) {
          clearInterval(poll);
          resolve();
        } else if (Date.now() > until || child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`never matched ${re}:\n${text}`));
        }
      }, 50);
    }),
  };
}

/** A map-pages variant whose step loops forever without yielding (a broken plug-in): burning a
 * core (`spin`), or asleep in the loop (`sleep`: the watchdog judges a step by the wall time since
 * its last schedule point, STEP_TIMEOUT_MS, so the tests of that verdict need not take a core of
 * the machine for the seconds they wait; the tests of signals during the step keep the spin). */
function spinPlugin(how: 'spin' | 'sleep' = 'spin'): string {
  const p = join(tmp, `${how}.ts`);
  const loop = how === 'spin'
    ? 'for (;;) { /* never yields */ }'
    : 'const cell = new Int32Array(new SharedArrayBuffer(4));\n      for (;;) Atomics.wait(cell, 0, 0, 100); // never yields';
  writeFileSync(p, `import type { PluginApi, Task, VmFault } from '${join(import.meta.dirname, '..', '..', 'src', 'plugin', 'plugin.ts')}';
export default function register(api: PluginApi): void {
  api.registerMapPages({
    name: 'plugin-spin', summary: 'loops without yielding', source: 'test', expected: ['HUNG'], hidden: true,
    *mapPages(_t: Task, _vmf: VmFault, _s: number, _e: number) {
      yield 'spin_start';
      ${loop}
    },
  });
}
`);
  return p;
}

describe('item 1: a signal while reproducing keeps the find', () => {
  it('the violation is on disk before reproducing; SIGINT ends it, the reports say it was interrupted', async () => {
    const dir = join(tmp, 'repro-int');
    const r = start(['run', '--map-pages', 'patch4', '--seed', '1', '--duration', '60s', '--reproduce-budget', '10m', '--report-dir', dir]);
    await r.waitFor(/^--- reproducing \S+ under the controlled driver/m, 90_000);
    // already written: the violation, and a reproduction still running
    const before = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(before.outcome).toBe('FAILURE');
    expect(before.endState).toBe('FAIL');
    expect(before.violationCount).toBeGreaterThan(0);
    expect(before.extra.reproduction).toMatchObject({ status: 'running' });
    for (const f of ['summary.md', 'junit.xml']) expect(existsSync(join(dir, f)), f).toBe(true);

    r.child.kill('SIGINT');
    const { code } = await r.exited;
    expect(code, r.out()).toBe(1); // a violation was found: FAIL, whatever stopped the reproduction
    expect(r.out()).toMatch(/^reproduce: interrupted by SIGINT/m);
    expect(r.out()).toMatch(/^End of test: FAILURE \(/m);
    const after = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(after.extra.reproduction).toMatchObject({ status: 'interrupted' });
    expect(after.notes.join('\n')).toMatch(/reproduce: interrupted by SIGINT/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/<failure /);
  }, 150_000);

  it('a second signal exits at once (130)', async () => {
    // explore gives a stopped explorer STOP_GRACE_MS to finish its iteration: a spinning step
    // keeps it busy, so the second signal lands while the first one is still being handled
    const r = start(['explore', '--plugin', spinPlugin(), '--scenario', 'map-truncate', '--map-pages', 'plugin-spin', '--duration', '120s',
      '--report-dir', join(tmp, 'twice')]);
    await r.waitFor(/^--- explore: /m);
    await new Promise((res) => setTimeout(res, 1_500));
    r.child.kill('SIGINT');
    await r.waitFor(/SIGINT: stopping the exploration/);
    r.child.kill('SIGINT');
    const { code } = await r.exited;
    expect(code, r.out()).toBe(130);
    expect(r.out()).toMatch(/SIGINT again: exiting without waiting for the reports/);
  }, 150_000);
});

describe('item 2: explore can be stopped, and a step that never yields does not hang it', () => {
  it('--threads 1: SIGINT stops it with the iterations so far, exit 3 (interrupted, nothing found)', async () => {
    const r = start(['explore', '--scenario', 'locks', '--lock', 'v5.9', '--duration', '120s', '--threads', '1', '--report-dir', join(tmp, 'x1')]);
    await r.waitFor(/^--- explore: /m);
    await new Promise((res) => setTimeout(res, 2_000)); // let the explorer load and run a little
    const t = Date.now();
    r.child.kill('SIGINT');
    const { code } = await r.exited;
    expect(Date.now() - t).toBeLessThan(60_000); // not the 120 s duration
    expect(code, r.out()).toBe(3);
    expect(r.out()).toMatch(/^explore: [\d,]+ iterations, .*stopped by SIGINT$/m);
    expect(r.out()).toMatch(/^End of exploration: INTERRUPTED \(stopped by SIGINT/m);
  }, 150_000);

  it('a plug-in step looping without yielding is HUNG with its task and last label (--threads 1 and 2)', async () => {
    const plugin = spinPlugin('sleep');
    // both at once: each waits out the step timeout (STEP_TIMEOUT_MS), which is wall time
    const runs = ['1', '2'].map((threads) => start(['explore', '--plugin', plugin, '--scenario', 'map-truncate', '--map-pages', 'plugin-spin',
      '--duration', '120s', '--threads', threads, '--report-dir', join(tmp, `spin-${threads}`)]));
    for (const r of runs) {
      const { code } = await r.exited;
      expect(code, r.out()).toBe(1);
      expect(r.out()).toMatch(/^!!! FOUND HUNG \(task \d+, op \d+\): task \d+ \(mapper\) did not return from its step at 'spin_start'/m);
      expect(r.out()).toMatch(/^End of exploration: FAILURE$/m);
    }
  }, 150_000);

  it('SIGTERM stops explore while a plug-in step spins (before the step is judged hung)', async () => {
    const plugin = spinPlugin();
    const r = start(['explore', '--plugin', plugin, '--scenario', 'map-truncate', '--map-pages', 'plugin-spin', '--duration', '120s',
      '--threads', '2', '--report-dir', join(tmp, 'spin-term')]);
    await r.waitFor(/^--- explore: /m);
    await new Promise((res) => setTimeout(res, 1_500));
    r.child.kill('SIGTERM');
    const { code } = await r.exited;
    // stopped (3), or the watchdog judged the step first (1): never a hang
    expect([1, 3], r.out()).toContain(code);
    expect(r.out()).toMatch(/^End of exploration: (INTERRUPTED|FAILURE)/m);
  }, 150_000);

  it('a step looping on effects with no schedule point is HUNG in-thread (the effect budget), and replays', async () => {
    const plugin = join(tmp, 'effect-spin.ts');
    writeFileSync(plugin, `import type { PluginApi, Task, VmFault } from '${join(import.meta.dirname, '..', '..', 'src', 'plugin', 'plugin.ts')}';
export default function register(api: PluginApi): void {
  api.registerMapPages({
    name: 'plugin-effect-spin', summary: 'asks the time forever', source: 'test', expected: ['HUNG'], hidden: true,
    *mapPages(_t: Task, _vmf: VmFault, _s: number, _e: number) {
      yield 'spin_start';
      for (;;) yield { kind: 'now' } as never;
    },
  });
}
`);
    const dir = join(tmp, 'effect-spin');
    const r = start(['explore', '--plugin', plugin, '--scenario', 'map-truncate', '--map-pages', 'plugin-effect-spin', '--duration', '120s',
      '--no-shrink', '--report-dir', dir]);
    const { code } = await r.exited;
    expect(code, r.out()).toBe(1);
    expect(r.out()).toMatch(/^!!! FOUND HUNG: T\d+ \(mapper, .*\) yielded 1000000 effects in one step from 'spin_start' without reaching a schedule point/m);
    const file = /^repro: (\S+)$/m.exec(r.out())?.[1];
    expect(file, r.out()).toBeDefined();
    const again = start(['replay', join(tmp, file!), '--plugin', plugin]);
    expect((await again.exited).code, again.out()).toBe(1);
    expect(again.out()).toMatch(/^REPRODUCED HUNG: /m);
  }, 150_000);

  it('--ops-per-actor 10000 (legal) is not a livelock: the step bound scales with the work', async () => {
    const r = start(['explore', '--ops-per-actor', '10000', '--iterations', '1', '--no-shrink', '--report-dir', join(tmp, 'long')]);
    const { code } = await r.exited;
    expect(code, r.out()).toBe(0);
    expect(r.out()).not.toMatch(/HUNG/);
    expect(r.out()).toMatch(/^End of exploration: SUCCESS$/m);
  }, 150_000);
});

describe('item 2: shrink and replay run in a worker: a signal stops them, a step that never yields is HUNG', () => {
  /** A find as explored (not shrunk), so shrinking it takes a while: one exploration, shared by
   * the tests below (each reads it; the shrink writes its result next to it) */
  let found: Promise<string> | null = null;
  const find = (name: string): Promise<string> => (found ??= explored(name));
  async function explored(name: string): Promise<string> {
    const dir = join(tmp, name);
    const r = start(['explore', '--scenario', 'map-truncate', '--map-pages', 'patch4', '--seed', '1', '--ops-per-actor', '8', '--no-shrink', '--report-dir', dir]);
    expect((await r.exited).code, r.out()).toBe(1);
    const file = /^repro: (\S+)$/m.exec(r.out())?.[1];
    expect(file, r.out()).toBeDefined();
    return join(tmp, file!);
  }

  it('shrink: SIGINT writes the smallest version so far, says it is partial, exit 3; the partial file replays', async () => {
    const file = await find('find');
    const r = start(['shrink', file, '--budget', '10m', '--runs', '10000000']);
    // signalled as soon as the shrink has begun (however fast the machine): a shrink of 32
    // operations takes seconds, so this stops it, with at worst the file itself as its best
    await r.waitFor(/^shrinking: the file reproduces MAP-CACHE/m);
    const t = Date.now();
    r.child.kill('SIGINT');
    const { code } = await r.exited;
    expect(Date.now() - t).toBeLessThan(20_000); // within about a second; generous for a loaded machine
    expect(code, r.out()).toBe(3);
    expect(r.out()).toMatch(/^SIGINT: stopping the shrink/m);
    expect(r.out()).toMatch(/^shrunk MAP-CACHE: \d+ -> \d+ steps, .*; partial: interrupted by SIGINT, the smallest version found so far\)$/m);
    expect(r.out()).toMatch(/^End of shrink: INTERRUPTED \(partial: /m);
    const min = file.replace(/\.json$/, '.min.json');
    expect(existsSync(min)).toBe(true);
    expect(readFileSync(min.replace(/\.json$/, '.md'), 'utf8')).toMatch(/^# MAP-CACHE in map-truncate \(shrunk, partial: interrupted by SIGINT/);
    const again = start(['replay', min]);
    expect((await again.exited).code, again.out()).toBe(1);
    expect(again.out()).toMatch(/^REPRODUCED MAP-CACHE: /m);
  }, 150_000);

  it('replay and shrink of a file whose step never yields: HUNG with the task and its last label; a second signal exits 130', async () => {
    // the find, replayed with a plug-in map-pages that spins at its first step
    const spun = join(tmp, 'spin-repro.json');
    const f = JSON.parse(readFileSync(await find('find'), 'utf8'));
    f.config.extra['map-pages'] = 'plugin-spin';
    writeFileSync(spun, JSON.stringify(f));
    // both at once: each waits out the step timeout (wall time)
    for (const r of ['replay', 'shrink'].map((cmd) => start([cmd, spun, '--plugin', spinPlugin('sleep')]))) {
      const { code } = await r.exited;
      expect(code, r.out()).toBe(1);
      // the mapper's map_pages, or the faulter's fault-around: whichever the schedule runs first
      expect(r.out()).toMatch(/^!!! HUNG \(task \d+, op \d+\): task \d+ \((mapper|faulter)\) did not return from its step at 'spin_start'/m);
    }
    // shrink gives a stopped job STOP_GRACE_MS to end with its best: the spinning step keeps it
    // busy, so the second signal lands while the first is still being handled
    const r = start(['shrink', spun, '--plugin', spinPlugin()]);
    await r.waitFor(/^--- shrink: /m);
    await new Promise((res) => setTimeout(res, 500));
    r.child.kill('SIGTERM');
    await r.waitFor(/SIGTERM: stopping the shrink/);
    r.child.kill('SIGTERM');
    const { code } = await r.exited;
    expect(code, r.out()).toBe(130);
    expect(r.out()).toMatch(/SIGTERM again: exiting without waiting for the reports/);
  }, 150_000);
});
