// The direct form (src/kernel/direct.ts, made by the build: scripts/build.mjs with
// src/kernel/direct-transform.ts) takes the same steps as the generators it is made from: the same
// op stream, run by one task alone, records the same label sequence and leaves the same shared
// state, for every scenario and every variant choice of its flags. And the free driver running
// it keeps its checks: the same flight records, stats and op count as with the generators.
//
// The direct forms exist in the build only (the sources run under vitest are not transformed), so
// this test loads dist/: `npm test` builds first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunConfig } from '../../src/kernel/config.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import type { Effect, Step } from '../../src/kernel/step.ts';
import type { Task } from '../../src/kernel/task.ts';
import type { DirectDriver, DirectFn, Label } from '../../src/kernel/direct.ts';
import type { Shm } from '../../src/shm/shm.ts';

const DIST = join(__dirname, '..', '..', 'dist', 'src');
let M: Record<string, any>;

beforeAll(async () => {
  if (!existsSync(join(DIST, 'kernel', 'direct.js'))) throw new Error(`${DIST}/kernel/direct.js is missing: run npm run build first (npm test does)`);
  const load = (p: string) => import(join(DIST, p));
  const modules = await Promise.all([
    'kernel/config.js', 'kernel/direct.js', 'scenarios/index.js', 'variants/index.js', 'shm/shm.js', 'shm/init.js', 'kernel/rng.js',
    'kernel/task.js', 'sched/free.js', 'shm/layout.js', 'shm/labels.js', 'locks/index.js', 'run/orchestrate.js', 'plugin/plugin.js',
    'variants/mutants/lock-mutants.js',
  ].map(load));
  M = Object.assign({}, ...modules);
}, 60_000);

function cfgFor(scenario: Scenario, extra: Record<string, unknown> = {}, over: Partial<RunConfig> = {}): RunConfig {
  const defaults = Object.fromEntries((scenario.options ?? []).map((o) => [o.name, o.default]));
  return { ...M.DEFAULTS, scenario: scenario.name, perturb: 'off', ...over, extra: { ...defaults, ...extra } };
}

function setUp(c: RunConfig, scenario: Scenario, id: number): { shm: Shm; t: Task } {
  const roles = scenario.roles(c);
  const shm: Shm = new M.Shm({ ...scenario.sizes(c), tasks: roles.length + 1, flightEntries: 64, violationSlots: 8 });
  M.initShm(shm);
  scenario.init(shm, c);
  const t: Task = new M.Task({ id, shm, ops: M.configOps(c), options: { unfairness: c.unfairness, ...c.extra } });
  return { shm, t };
}

/** Answers effects the same way in both forms: a task alone never has anybody to wait for, so a
 * wait returns at once ('timed-out': the code re-checks, as after a spurious wake-up), a wake
 * wakes nobody, and the clock moves a fixed step per read. */
class Recorder implements DirectDriver {
  labels: string[] = [];
  viaGenerator = 0;
  private clock = 0;
  point(l: Label): void {
    this.labels.push(l.s);
  }
  effect(e: Effect): unknown {
    if (e.kind === 'wait') {
      this.labels.push('<wait>');
      return 'timed-out';
    }
    if (e.kind === 'wake') {
      this.labels.push('<wake>');
      return undefined;
    }
    return (this.clock += 1000);
  }
  drive<T>(g: Step<T>): T {
    let send: unknown;
    for (;;) {
      const r = g.next(send);
      if (r.done) return r.value;
      send = undefined;
      if (typeof r.value === 'string') {
        this.viaGenerator++;
        this.labels.push(r.value);
      } else send = this.effect(r.value);
    }
  }
}

const OPS = 100;
const MAX_STEPS = 200_000;

/** Run task `id`'s first OPS operations alone, in one form; the labels and the final state. */
function runAlone(c: RunConfig, scenario: Scenario, id: number, direct: boolean) {
  const { shm, t } = setUp(c, scenario, id);
  const role = scenario.roles(c)[id];
  const rec = new Recorder();
  const d: DirectFn | undefined = M.directOf(scenario.runOp);
  if (direct && !d) throw new Error(`${scenario.name}: runOp has no direct form in the build`);
  const outer = M.enterDirect(rec);
  try {
    for (let opNo = 0; opNo < OPS && rec.labels.length < MAX_STEPS; opNo++) {
      const op = scenario.nextOp(role, M.opRng(c.seed, id, opNo), c, id);
      t.op = opNo;
      if (direct) d!.call(scenario, t, role, op, c);
      else rec.drive(scenario.runOp(t, role, op, c));
    }
  } finally {
    M.enterDirect(outer);
  }
  return { labels: rec.labels, viaGenerator: rec.viaGenerator, state: new Int32Array(shm.sab.slice(0)) };
}

function sameSteps(c: RunConfig, scenario: Scenario): void {
  const roles = scenario.roles(c);
  const seenRoles = new Set<string>();
  for (let id = 0; id < roles.length; id++) {
    if (seenRoles.has(roles[id])) continue; // one task per role: the op stream is the role's
    seenRoles.add(roles[id]);
    const g = runAlone(c, scenario, id, false);
    const d = runAlone(c, scenario, id, true);
    expect(g.labels.length, `${scenario.name} ${roles[id]}: some steps`).toBeGreaterThan(0);
    expect(d.labels, `${scenario.name} ${roles[id]}: label sequence`).toEqual(g.labels);
    // most steps must come from direct forms, not from generators the direct form fell back to
    expect(d.viaGenerator, `${scenario.name} ${JSON.stringify(c.extra)} ${c.lock} ${roles[id]}: steps run as generators`).toBeLessThan(d.labels.length / 2);
    expect(Buffer.from(d.state.buffer).equals(Buffer.from(g.state.buffer)), `${scenario.name} ${roles[id]}: final shared state`).toBe(true);
  }
}

describe('the direct form takes the generators\' steps', () => {
  it('every scenario with its default flags', () => {
    const names: string[] = M.scenarioNames();
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) sameSteps(cfgFor(M.getScenario(n)), M.getScenario(n));
  }, 120_000);

  it('every lock algorithm (locks scenario) and every map_pages and fault-path choice (map-truncate)', () => {
    const locks = M.getScenario('locks');
    const lockNames: string[] = M.lockNames({ hidden: true }); // the algorithms and the lock mutants
    expect(lockNames.length).toBeGreaterThanOrEqual(3);
    for (const lock of lockNames) sameSteps(cfgFor(locks, {}, { lock }), locks);
    const mt = M.getScenario('map-truncate');
    for (const o of mt.options ?? []) {
      if (o.name !== 'map-pages' && o.name !== 'fault-path') continue;
      for (const v of [...(o.choices ?? []), ...(o.hiddenChoices ?? [])]) sameSteps(cfgFor(mt, { [o.name]: v }), mt);
    }
  }, 120_000);
});

describe('the free driver on the direct form', () => {
  /** One task of map-truncate alone through FreeDriver.run, --ops bound, perturbation off. */
  function freeRun(direct: boolean, role: string) {
    const mt = M.getScenario('map-truncate');
    const c = cfgFor(mt, {}, { ops: 120, stutter: false });
    const id = mt.roles(c).indexOf(role);
    const { shm, t } = setUp(c, mt, id);
    const driver = new M.FreeDriver({ t, scenario: mt, role, cfg: c, direct });
    const end = driver.run();
    const base = id * shm.layout.flightStride;
    const n = Math.min(shm.flight[base], shm.sizes.flightEntries);
    const fw = M.FLIGHT_WORDS as number;
    const recs: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = base + 1 + ((shm.flight[base] - n + i) % shm.sizes.flightEntries) * fw;
      recs.push(`${M.labelText(shm, shm.flight[e + 1])} p${shm.flight[e + 2]} a${shm.flight[e + 3]} op${shm.flight[e + 4]}`);
    }
    return { end, recs, total: shm.flight[base], stats: Array.from(shm.stats.subarray(id * M.STAT_STRIDE, id * M.STAT_STRIDE + M.STAT_NAMES.length)) };
  }

  it('records the same flight records and stats as with the generators', () => {
    for (const role of ['mapper', 'truncator', 'faulter']) {
      const g = freeRun(false, role), d = freeRun(true, role);
      expect(d.end).toMatchObject({ ops: 120, endedBy: 'ops' });
      expect(d.total, role).toBeGreaterThan(0);
      expect(d.total, role).toBe(g.total);
      expect(d.recs, role).toEqual(g.recs);
      expect(d.stats, role).toEqual(g.stats);
    }
  }, 60_000);
});

describe('free mode on the direct form keeps its detectors', () => {
  it('a lock that never wakes (lock-nowake): real threads report the lost wake-up or the hung tasks', async () => {
    // the built workers (dist/workers/actor.js) run the direct form unless PAGELOCK_DIRECT=off
    expect(process.env[M.DIRECT_ENV]).not.toBe('off');
    expect(M.directOf(M.getScenario('locks').runOp)).toBeTypeOf('function');
    const r = await M.runStress({
      ...M.DEFAULTS, scenario: 'locks', lock: 'lock-nowake', workers: 3, pages: 1, buckets: 4, durationMs: 30_000, hungMs: 1_000,
      lostWakeMs: 300, reportDir: null, reproduce: false, extra: {},
    });
    const ids = new Set([...r.violations.map((v: { id: string }) => v.id), ...(r.hung.length ? ['HUNG'] : [])]);
    expect([...ids].some((id) => ['LOCK-WAKE', 'HUNG', 'DEADLOCK'].includes(id)), JSON.stringify([...ids])).toBe(true);
  }, 60_000);
});

describe('plug-ins get the direct form when loaded', () => {
  it('the guide\'s example plug-in, loaded by the built loader: its ->map_pages has a direct form with the same steps', async () => {
    await M.loadPlugins([join(__dirname, '..', '..', 'docs', 'examples', 'plugin-patch4-copy.ts')]);
    const mt = M.getScenario('map-truncate');
    const c = cfgFor(mt, { 'map-pages': 'patch4-copy' });
    expect(M.directOf(M.configOps(c).vmOps.mapPages)).toBeTypeOf('function');
    sameSteps(c, mt);
  }, 120_000);
});
