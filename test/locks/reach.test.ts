// Prove the reach of the lock table (issue 9): a plug-in replaces ONE step of mainline's lock
// algorithm, wake_page_function(), with a behaviour-identical copy that counts its calls (it
// wraps the mainline entry), built the way the guide shows (api.locks.lockOverride) and chosen the
// way a user chooses it (--lock reach-lock). Nothing calls wakePageFunction directly: it is
// reached only through the other steps (unlock_page -> folio_wake_bit -> the table's wake
// function), so a moving counter shows that those steps call through the running table.
//   free:       a real run (runStress: one worker thread per actor, the plug-in loaded by every
//               worker as --plugin loads it), bounded by --ops; the workers count into files,
//               one per thread, in a directory named by an environment variable
//   controlled: explore() of the locks scenario, a few hundred seeded iterations, in this thread
// Both must be clean (the locks scenario without signals: mainline's cell locks/v5.9-rc6-nosignals
// is clean) and the counter must have moved in both. Then the lock section of
// docs/writing-a-variant.md, literally: its blocks load as one plug-in, the counting lock explores
// clean and counts, the broken one is caught.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlugins } from '../../src/plugin/plugin.ts';
import { lockInfo, makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { locksScenario } from '../../src/scenarios/locks.ts';

const COUNTER = Symbol.for('pagelock-stress.reach-lock');
const DIR_ENV = 'PAGELOCK_STRESS_REACH_LOCK_DIR';

/** The plug-in: mainline's lock with a counting wake_page_function (a plug-in imports nothing from
 * the tool at run time; node: modules are fine). */
const PLUGIN = `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

export default function register(api) {
  const { lockOverride } = api.locks;
  // per thread: this module is loaded once in every thread that loads plug-ins
  const count = (globalThis[Symbol.for('pagelock-stress.reach-lock')] ??= { calls: 0 });
  const dir = process.env.${DIR_ENV};
  api.registerLock('reach-lock', (o) => lockOverride('v5.9-rc6', o, (base) => ({
    name: 'reach-lock',
    *wakePageFunction(t, b, e, key) {
      count.calls++;
      if (dir) writeFileSync(join(dir, 'thread-' + threadId), String(count.calls));
      return yield* base.wakePageFunction(t, b, e, key);
    },
  })), { description: 'v5.9-rc6 with a counting copy of wake_page_function (test/locks/reach.test.ts)', hidden: true });
}
`;

const tmp = mkdtempSync(join(tmpdir(), 'pls-reach-lock-'));
afterAll(() => {
  delete process.env[DIR_ENV];
  rmSync(tmp, { recursive: true, force: true });
});

beforeAll(async () => {
  const plugin = join(tmp, 'reach-lock.ts');
  writeFileSync(plugin, PLUGIN);
  await loadPlugins([plugin]);
}, 60_000);

const calls = (): number => ((globalThis as Record<symbol, { calls: number } | undefined>)[COUNTER]?.calls ?? 0);

const cfg = (over: Partial<RunConfig> = {}): RunConfig => ({
  ...DEFAULTS, scenario: 'locks', lock: 'reach-lock', workers: 4, pages: 2, buckets: 4, seed: '1',
  // high perturbation: long holds, so lockers queue and unlocks wake them
  perturb: 'high', stutter: false, hungMs: 10_000, statIntervalMs: 1_000, extra: { signals: false }, ...over,
});

describe('lock table reach: a plug-in override of wake_page_function', () => {
  it('is registered as a lock built over mainline', () => {
    expect(lockInfo('reach-lock')?.hidden).toBe(true);
    const lock = makeLock('reach-lock');
    expect(lock.name).toBe('reach-lock');
    expect((lock as unknown as { unfairness: number }).unfairness).toBe(DEFAULTS.unfairness); // mainline's, with its options
  });

  it('free mode: a real run bounded by --ops is clean, and the workers called it', async () => {
    const dir = join(tmp, 'counts');
    mkdirSync(dir);
    process.env[DIR_ENV] = dir; // read by the plug-in when a worker loads it
    const ops = 400;
    const r = await runStress(cfg({ durationMs: 0, ops }));
    delete process.env[DIR_ENV];
    expect(r.violations.map((v) => `${v.id}: ${v.message}`)).toEqual([]);
    expect(r.outcome).toBe('SUCCESS');
    expect(r.endReason).toBe('ops');
    expect(r.tasks.map((t) => t.ops)).toEqual([ops, ops, ops, ops]);
    const files = readdirSync(dir);
    expect(files).not.toContain(`thread-${threadId}`); // counted by the workers, not by this thread
    const perThread = files.map((f) => Number(readFileSync(join(dir, f), 'utf8')));
    const free = perThread.reduce((a, n) => a + n, 0);
    if (process.env.REACH_VERBOSE) console.log(`free: ${free} calls in ${perThread.length} threads`);
    expect(free, `wakePageFunction calls per worker thread: ${perThread.join(', ')}`).toBeGreaterThan(0);
  }, 60_000);

  it('controlled mode: explore() of the locks scenario is clean, and it was called', () => {
    const before = calls();
    const iterations = 300;
    const r = explore({
      scenario: locksScenario, cfg: cfg({ workers: 3 }), lock: makeLock('reach-lock'), strategies: portfolio(3),
      iterations, opsPerActor: 4, seed: '1',
    });
    const controlled = calls() - before;
    if (process.env.REACH_VERBOSE) console.log(`controlled: ${controlled} calls in ${iterations} iterations`);
    expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
    expect(r.stats.iterations).toBe(iterations);
    expect(controlled).toBeGreaterThan(0);
  }, 60_000);
});

describe('docs/writing-a-variant.md "12. The lock table", literally', () => {
  const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const GUIDE = readFileSync(join(ROOT, 'docs', 'writing-a-variant.md'), 'utf8');
  const start = GUIDE.indexOf('\n## 12. The lock table');
  const end = GUIDE.indexOf('\n## ', start + 1);
  const blocks = [...GUIDE.slice(start, end < 0 ? undefined : end).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const GUIDE_CALLS = Symbol.for('pagelock-stress.guide-lock-calls');
  const guideCalls = () => (globalThis as Record<symbol, (() => number) | undefined>)[GUIDE_CALLS]?.() ?? 0;

  const exploreLock = (lock: string) => explore({
    scenario: locksScenario, cfg: cfg({ lock, workers: 3 }), lock: makeLock(lock), strategies: portfolio(3),
    iterations: 200, opsPerActor: 4, seed: '1',
  });

  it('its blocks register two locks through one plug-in', async () => {
    expect(start).toBeGreaterThan(0);
    expect(blocks).toHaveLength(2);
    const file = join(tmp, 'my-locks.ts');
    writeFileSync(file, [
      `import type { PluginApi } from ${JSON.stringify(join(ROOT, 'src', 'plugin', 'plugin.ts'))};`,
      'export default function register(api: PluginApi): void {',
      '  let calls = 0;',
      `  (globalThis as Record<symbol, unknown>)[Symbol.for('pagelock-stress.guide-lock-calls')] = () => calls;`,
      ...blocks,
      '}',
      '',
    ].join('\n'));
    await loadPlugins([file]);
    expect(lockInfo('count-wake')?.hidden).toBe(false);
    expect(lockInfo('no-set-waiters')?.hidden).toBe(true);
  }, 60_000);

  it('count-wake explores clean and counts', () => {
    const before = guideCalls();
    expect(exploreLock('count-wake').finds).toEqual([]);
    expect(guideCalls()).toBeGreaterThan(before);
  }, 30_000);

  it('no-set-waiters is caught', () => {
    const r = exploreLock('no-set-waiters');
    expect(r.finds).toHaveLength(1);
    expect(['LOCK-WAITERS', 'LOCK-WAKE', 'DEADLOCK', 'HUNG']).toContain(r.finds[0].violation.id);
  }, 30_000);
});
