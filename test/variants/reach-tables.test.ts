// Prove the reach (issue 9): for every operation table but the lock's (test/locks/reach.test.ts is
// the lock table's), a plug-in (test/fixtures/reach-<table>.ts, loaded with the plug-in loader as
// --plugin loads it) registers a variant that overrides ONE entry with a behaviour-identical copy
// that counts its calls. The variant is chosen the way a user chooses it, `--variant reach-<table>`
// (validateRun), and a scenario that runs that path is driven in both modes:
//   free:       the free driver (src/sched/free.ts), every actor's --ops operations run in this
//               thread one actor after the other, with the tables the worker entry builds
//               (configOps(cfg), as workers/actor.ts), then the whole-state checks;
//   controlled: explore() over a few hundred seeded iterations (the driver composes the tables
//               from cfg through configVariants).
// Both must be clean and the counter must have moved in both. Deterministic: fixed seeds, no
// threads, no timing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlugins } from '../../src/plugin/plugin.ts';
import { SCENARIOS, getScenario } from '../../src/scenarios/index.ts';
import { DEFAULT_LOCK, lockInfo, lockNames, makeLock } from '../../src/locks/index.ts';
import { validateRun, type Registry } from '../../src/run/validate.ts';
import type { RunConfig } from '../../src/kernel/config.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { configOps } from '../../src/variants/index.ts';
import { Task } from '../../src/kernel/task.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { FreeDriver } from '../../src/sched/free.ts';
import { explore } from '../../src/sched/explore.ts';
import { violationCount } from '../../src/check/violations.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COUNTS = ((globalThis as Record<symbol, unknown>)[Symbol.for('pagelock-stress.reach')] ??= {}) as Record<string, number>;

/** table, the scenario that runs its overridden entry, and that scenario's flags (small models). */
const CASES: { table: string; entry: string; argv: string[] }[] = [
  { table: 'pagecache', entry: 'findGetPage', argv: ['--scenario', 'map-truncate', '--workers', '4', '--roles', 'mapper,faulter,truncator,reader+zapper+reclaimer'] },
  { table: 'vmOps', entry: 'fault', argv: ['--scenario', 'map-truncate', '--workers', '4', '--roles', 'mapper,faulter,truncator,reader+zapper+reclaimer'] },
  { table: 'fault', entry: 'finishFault', argv: ['--scenario', 'map-truncate', '--workers', '4', '--roles', 'mapper,faulter,truncator,reader+zapper+reclaimer'] },
  { table: 'rmap', entry: 'zapPte', argv: ['--scenario', 'map-truncate', '--workers', '4', '--roles', 'mapper,faulter,truncator,reader+zapper+reclaimer'] },
  { table: 'truncate', entry: 'truncateInodeFolio', argv: ['--scenario', 'map-truncate', '--workers', '4', '--roles', 'mapper,faulter,truncator,reader+zapper+reclaimer'] },
  { table: 'reclaim', entry: 'removeMapping', argv: ['--scenario', 'map-truncate', '--workers', '3', '--roles', 'mapper,faulter,reclaimer'] },
  { table: 'writeback', entry: 'clearPageDirtyForIo', argv: ['--scenario', 'writeback', '--workers', '3', '--roles', 'writer,faulter,writeback'] },
  { table: 'collapse', entry: 'collapseFile', argv: ['--scenario', 'collapse', '--workers', '3', '--roles', 'collapser,mapper,zapper'] },
  { table: 'fuse', entry: 'fuseFillWritePages', argv: ['--scenario', 'fuse-write', '--workers', '3', '--roles', 'writer,zapper,reader'] },
  { table: 'migrate', entry: 'migratePages', argv: ['--scenario', 'map-truncate', '--workers', '3', '--roles', 'mapper,faulter,migrator'] },
];

const FREE_OPS = 5;
const FREE_ROUNDS = 8;
const EXPLORE_ITERATIONS = 200;
const EXPLORE_OPS_PER_ACTOR = 4;

function registry(): Registry {
  return {
    scenarios: [...SCENARIOS.values()],
    locks: lockNames({ hidden: true }).map((name) => ({ name, description: lockInfo(name)!.description, hidden: lockInfo(name)!.hidden })),
    defaultScenario: 'map-truncate',
    defaultLock: DEFAULT_LOCK,
  };
}

const variantOf = (table: string) => `reach-${table.toLowerCase()}`;

/** The configuration `run <argv> --variant reach-<table> --ops N --seed 1` builds. */
function configFor(c: (typeof CASES)[number]): { cfg: RunConfig; scenario: Scenario } {
  const v = validateRun([...c.argv, '--variant', variantOf(c.table), '--ops', String(FREE_OPS), '--seed', '1', '--perturb', 'off', '--no-stutter'], registry());
  expect(v.cfg.variants).toEqual([variantOf(c.table)]);
  return { cfg: v.cfg, scenario: getScenario(v.cfg.scenario) };
}

/** Free mode in this thread: in each of FREE_ROUNDS rounds every actor runs --ops operations (op
 * stream seeded '<seed>.r<round>') with the free driver, one actor after the other, so that every
 * role's work meets the others' (a faulter after a truncation); then the whole-state checks.
 * Returns the violations and findings seen. */
function freeRun(cfg: RunConfig, scenario: Scenario): string[] {
  const roles = scenario.roles(cfg);
  const shm = new Shm({ ...scenario.sizes(cfg), tasks: roles.length + 1, flightEntries: 16, violationSlots: 8 });
  initShm(shm);
  scenario.init(shm, cfg);
  const ops = configOps(cfg);
  const tasks = roles.map((_, id) => new Task({ id, shm, ops, options: { unfairness: cfg.unfairness, ...cfg.extra } }));
  for (let round = 0; round < FREE_ROUNDS; round++) {
    const rc = { ...cfg, seed: `${cfg.seed}.r${round}` };
    for (let id = 0; id < roles.length; id++) {
      const end = new FreeDriver({ t: tasks[id], scenario, role: roles[id], cfg: rc }).run();
      expect(end.endedBy).toBe('ops');
    }
  }
  const bad: string[] = [];
  if (violationCount(shm)) bad.push(`${violationCount(shm)} violation(s)`);
  for (const f of [...quiescentCheck(shm), ...(scenario.quiescentCheck?.(shm, cfg) ?? [])]) bad.push(`${f.id}: ${f.message}`);
  return bad;
}

beforeAll(async () => {
  await loadPlugins(CASES.map((c) => `test/fixtures/reach-${c.table.toLowerCase()}.ts`), { cwd: root });
}, 60_000);

describe('every table reaches a plug-in override in both modes (--variant)', () => {
  for (const c of CASES) {
    it(`${c.table}.${c.entry} (${c.argv[1]})`, () => {
      const name = variantOf(c.table);
      const { cfg, scenario } = configFor(c);

      COUNTS[name] = 0;
      const bad = freeRun(cfg, scenario);
      const free = COUNTS[name];
      expect(bad).toEqual([]);

      COUNTS[name] = 0;
      const r = explore({
        scenario, cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }), strategies: [{ kind: 'pct', depth: 3 }, { kind: 'random', depth: 3 }],
        iterations: EXPLORE_ITERATIONS, opsPerActor: EXPLORE_OPS_PER_ACTOR, seed: '1',
      });
      const controlled = COUNTS[name];
      expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
      expect(r.stats.iterations).toBe(EXPLORE_ITERATIONS);

      if (process.env.REACH_VERBOSE) console.log(`${c.table}.${c.entry}: free ${free} calls, controlled ${controlled} calls`);
      expect({ free: free > 0, controlled: controlled > 0 }, `${c.table}.${c.entry} calls: free ${free}, controlled ${controlled}`)
        .toEqual({ free: true, controlled: true });
    }, 30_000);
  }
});
