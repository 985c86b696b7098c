// The reach in real worker threads: a --plugin file loaded in this thread is loaded again by every
// actor worker (src/run/spawn.ts passes the paths), and `--variant` travels in the cfg the workers
// get, so a free run with real threads runs the plug-in's entry. Workers share no memory with this
// thread: the counting fixture appends one byte per call to <PAGELOCK_REACH_DIR>/<variant>.count
// (the worker's environment is a copy of this thread's, taken when it is spawned).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPlugins } from '../../src/plugin/plugin.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { DEFAULT_LOCK, lockInfo, lockNames } from '../../src/locks/index.ts';
import { validateRun, type Registry } from '../../src/run/validate.ts';
import { runStress } from '../../src/run/orchestrate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'pls-reach-'));
afterAll(() => {
  delete process.env.PAGELOCK_REACH_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function registry(): Registry {
  return {
    scenarios: [...SCENARIOS.values()],
    locks: lockNames({ hidden: true }).map((name) => ({ name, description: lockInfo(name)!.description, hidden: lockInfo(name)!.hidden })),
    defaultScenario: 'map-truncate',
    defaultLock: DEFAULT_LOCK,
  };
}

describe('--plugin and --variant reach the actor workers', () => {
  it('a free run on real threads is clean and runs the override (pagecache.findGetPage)', async () => {
    await loadPlugins(['test/fixtures/reach-pagecache.ts'], { cwd: ROOT });
    process.env.PAGELOCK_REACH_DIR = dir;
    const { cfg } = validateRun(['--scenario', 'map-truncate', '--workers', '2', '--roles', 'mapper,truncator+reader', '--ops', '30',
      '--seed', '1', '--duration', '0', '--variant', 'reach-pagecache', '--no-reproduce', '--report-dir', join(dir, 'report')], registry());
    const here = () => ((globalThis as Record<symbol, Record<string, number> | undefined>)[Symbol.for('pagelock-stress.reach')]?.['reach-pagecache'] ?? 0);
    const before = here();
    const r = await runStress(cfg);
    expect(here(), 'no call ran in this thread: the bytes below come from the workers').toBe(before);
    expect(r.violations.map((v) => `${v.id}: ${v.message}`)).toEqual([]);
    expect(r.outcome).toBe('SUCCESS');
    const file = join(dir, 'reach-pagecache.count');
    expect(existsSync(file), 'the workers never called the override').toBe(true);
    expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0);
  }, 60_000);
});
