// Plug-ins: loading (in this thread and in every worker), what they register, and every way a bad
// plug-in fails: a clear message naming it, exit 2 (or a CRASH naming it when its code throws
// while running), never a hang.
import { describe, expect, it, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_NAME_CLASHES, PluginError, extractPluginArgs, loadPlugins, loadedPlugins, pluginOf } from '../../src/plugin/plugin.ts';
import { getVariant, kernelOps } from '../../src/variants/index.ts';
import { lockInfo, makeLock } from '../../src/locks/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { Task } from '../../src/kernel/task.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pls-plugin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

/** A good plug-in: a lock (v5.9 under another name), a hidden map-pages variant that throws, a cell. */
const GOOD = `import type { PluginApi, Task, VmFault } from '${join(import.meta.dirname, '..', '..', 'src', 'plugin', 'plugin.ts')}';
export default function register(api: PluginApi): void {
  api.registerLock('plugin-fair', () => new api.locks.PageLockV5_9(), {
    description: 'v5.9 fair hand-off, from a plug-in', expected: 'clean', reasoning: 'it is v5.9',
  });
  api.registerMapPages({
    name: 'plugin-boom', summary: 'throws at its first step', source: 'test', expected: ['CRASH'], hidden: true,
    *mapPages(t: Task, _vmf: VmFault, _s: number, _e: number) {
      yield 'xas_next_entry';
      throw new Error('kaboom');
    },
  });
  api.registerCell({ name: 'locks/plugin-fair-1page', scenario: 'locks', cfg: { lock: 'plugin-fair', pages: 1 }, expected: 'clean', reasoning: 'one hot page' });
}
`;

describe('plug-ins in this thread', () => {
  it('--plugin is taken out of argv wherever it is, before a --', () => {
    expect(extractPluginArgs(['run', '--plugin', 'a.ts', '--seed', '2', '--plugin=b.js', '--', '--plugin', 'c'])).toEqual({
      plugins: ['a.ts', 'b.js'], argv: ['run', '--seed', '2', '--', '--plugin', 'c'],
    });
    expect(() => extractPluginArgs(['list', '--plugin'])).toThrow(PluginError);
    expect(() => extractPluginArgs(['list', '--plugin', '--seed'])).toThrow(/--plugin needs a file/);
  });

  it('registers into the real registries, becomes matrix cells, and code it registers names it when it throws', async () => {
    const p = file('good.ts', GOOD);
    const done = await loadPlugins([p]);
    expect(done).toEqual([p]);
    expect(await loadPlugins([p])).toEqual([]); // once per thread
    expect(loadedPlugins()).toContain(p);
    expect(lockInfo('plugin-fair')).toMatchObject({ hidden: false });
    expect(makeLock('plugin-fair').name).toBe('v5.9');
    expect(getVariant('plugin-boom', 'map-pages').hidden).toBe(true);
    expect(pluginOf('map-pages', 'plugin-boom')).toMatch(/good\.ts$/);
    const cells = new Map(matrixCells().map((c) => [c.name, c]));
    expect(cells.get('locks/plugin-fair')).toMatchObject({ expected: 'clean', origin: expect.stringMatching(/^plugin:.*good\.ts$/) });
    expect(cells.get('locks/plugin-fair-1page')).toMatchObject({ cfg: { lock: 'plugin-fair', pages: 1 } });
    expect(cells.get('map-truncate/plugin-boom')).toMatchObject({ expected: { breaks: ['CRASH'] }, hidden: true });
    // --map-pages accepts it (as a hidden choice, like the tool's own mutants)
    const opt = SCENARIOS.get('map-truncate')!.options!.find((o) => o.name === 'map-pages')!;
    expect(opt.hiddenChoices).toContain('plugin-boom');
    expect(opt.choices).not.toContain('plugin-boom');
    // the generator it registered, as the tables of --map-pages plugin-boom run it: the exception
    // names the plug-in and the variant
    const g = kernelOps({ variants: ['plugin-boom'] }).vmOps.mapPages({} as Task, { vma: 0, file: 0, index: 0 }, 0, 1);
    expect(g.next().value).toBe('xas_next_entry');
    expect(() => g.next()).toThrow(/^plug-in .*good\.ts: map-pages 'plugin-boom' threw: kaboom$/);
  });

  it('every bad plug-in is a PluginError naming it', async () => {
    const cases: [string, string, RegExp][] = [
      ['missing.ts', '', /plug-in .*missing\.ts: no such file/],
      ['syntax.ts', 'export default function (api) { api.registerCell({ \n', /plug-in .*syntax\.ts: cannot load it: /],
      ['noexport.ts', 'export const x = 1;\n', /plug-in .*noexport\.ts: exports no register function/],
      ['dup.ts', `export default (api) => api.registerMapPages({ name: 'patch4', summary: 's', source: 's', expected: 'clean', *mapPages() { return 0; } });\n`,
        /plug-in .*dup\.ts: register\(\) failed: map-pages variant 'patch4' registered twice/],
      ['throws.ts', `export function register() { throw new Error('not today'); }\n`, /plug-in .*throws\.ts: register\(\) failed: not today/],
      ['badcell.ts', `export default (api) => api.registerCell({ name: 'locks/x-bad', scenario: 'locks', expected: 'dirty', reasoning: 'r' });\n`,
        /plug-in .*badcell\.ts: register\(\) failed: cell 'locks\/x-bad': expected outcome must be/],
      ['toplevel.ts', `throw new Error('at load');\nexport default () => {};\n`, /plug-in .*toplevel\.ts: cannot load it: at load/],
      ['data.json', '{}', /want a \.ts or \.js module/],
    ];
    for (const [name, text, re] of cases) {
      const p = name === 'missing.ts' ? join(tmp, name) : file(name, text);
      const err = await loadPlugins([p]).then(() => null, (e) => e);
      expect(err, name).toBeInstanceOf(PluginError);
      expect(err.message, name).toMatch(re);
      expect(err.exitCode).toBe(2);
      expect(loadedPlugins()).not.toContain(p);
    }
  });

  it('a register() that never returns is a PluginError after the timeout, not a hang', async () => {
    const p = file('forever.ts', 'export default () => new Promise(() => {});\n');
    const t0 = performance.now();
    await expect(loadPlugins([p], { timeoutMs: 300 })).rejects.toThrow(/forever\.ts: register\(\) did not return within 0\.3 s/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('api.mm has one meaning per name', () => {
    expect(API_NAME_CLASHES).toEqual([]);
  });
});

// ---- the compiled CLI: a .ts plug-in through tsx, workers and explorers load it ---------------------

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'stress', 'cli.js');
interface Ran { code: number | null; stdout: string; stderr: string }
function cli(args: string[], timeoutMs = 60_000): Promise<Ran> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}

describe('plug-ins through the compiled CLI', () => {
  it('list shows what a .ts plug-in registered; run and explore workers load it', async () => {
    const p = file('cli-good.ts', GOOD);
    const [list, run, ex] = await Promise.all([
      cli(['list', '--plugin', p]),
      // every actor worker must find the plug-in lock by name, else it crashes (exit 1)
      cli(['run', '--plugin', p, '--scenario', 'locks', '--lock', 'plugin-fair', '--workers', '3', '--ops', '200', '--duration', '0', '--report-dir', join(tmp, 'run-good')]),
      cli(['explore', '--plugin', p, '--scenario', 'locks', '--lock', 'plugin-fair', '--workers', '3', '--threads', '2', '--iterations', '40', '--report-dir', join(tmp, 'ex-good')]),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/Registered by plug-ins \(--plugin\):/);
    expect(list.stdout).toMatch(/lock plugin-fair\s+cell locks\/plugin-fair: clean\s+cli-good\.ts/);
    expect(list.stdout).toMatch(/map-pages plugin-boom\s+cell map-truncate\/plugin-boom: breaks CRASH/);
    expect(list.stdout).toMatch(/^\s+plugin-fair\s+v5\.9 fair hand-off, from a plug-in/m); // among the lock algorithms
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/End of test: SUCCESS/);
    expect(ex.code, ex.stdout + ex.stderr).toBe(0);
  }, 60_000);

  it('bad plug-ins: exit 2 and one line naming the plug-in, no stack, no work', async () => {
    const cases: [string, string | null, RegExp][] = [
      ['nofile.ts', null, /plug-in nofile\.ts: no such file/],
      ['syntax-cli.ts', 'export default function (api) { api.registerCell({ \n', /plug-in syntax-cli\.ts: cannot load it: /],
      ['syntax-cli.js', 'export default function (api) {\n', /plug-in syntax-cli\.js: cannot load it: /],
      ['noexport-cli.ts', 'export const x = 1;\n', /plug-in noexport-cli\.ts: exports no register function/],
      ['dup-cli.ts', `export default (api) => api.registerLock('v5.9', () => new api.locks.PageLockV5_9(), { description: 'again' });\n`,
        /plug-in dup-cli\.ts: register\(\) failed: lock 'v5\.9' is already registered/],
    ];
    for (const [name, text] of cases) if (text !== null) file(name, text);
    const ran = await Promise.all(cases.map(([name]) => cli(['run', '--plugin', name, '--scenario', 'locks', '--duration', '1s'])));
    ran.forEach((r, i) => {
      expect(r.code, cases[i][0]).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), cases[i][0]).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i][2]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
    expect(existsSync(join(tmp, 'reports'))).toBe(false);
  }, 60_000);

  it('a generator that throws: the run and the exploration fail with a CRASH naming the plug-in', async () => {
    const p = file('boom-cli.ts', GOOD.replace(/plugin-fair/g, 'plugin-fair-2'));
    const common = ['--plugin', p, '--scenario', 'map-truncate', '--map-pages', 'plugin-boom', '--workers', '3'];
    const [run, ex] = await Promise.all([
      cli(['run', ...common, '--duration', '20s', '--report-dir', join(tmp, 'run-boom')]),
      cli(['explore', ...common, '--iterations', '50', '--report-dir', join(tmp, 'ex-boom')]),
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/End of test: FAILURE .*CRASH.*plug-in .*boom-cli\.ts: map-pages 'plugin-boom' threw: kaboom/);
    expect(ex.code, ex.stdout + ex.stderr).toBe(1);
    expect(ex.stdout + ex.stderr).toMatch(/CRASH.*plug-in .*boom-cli\.ts: map-pages 'plugin-boom' threw: kaboom/);
  }, 60_000);
});
