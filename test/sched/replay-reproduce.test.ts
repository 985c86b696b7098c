// From a free-mode violation record to a controlled repro: the tasks and operation numbers named
// by the flight records are rebuilt from the run's seed and explored until the same invariant
// breaks. The record here comes from a controlled run of the free run's first operations (the
// same op stream), so the test does not depend on real-thread timing.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore, opsFor } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { ReplayStrategy } from '../../src/sched/strategies/replay.ts';
import { rng } from '../../src/kernel/rng.ts';
import { readViolations } from '../../src/check/violations.ts';
import { involvedTasks, partnerTasks, reproduceFree, WORKLOADS_HOW } from '../../src/sched/reproduce.ts';
import { recordSignature, sameSignature } from '../../src/sched/signature.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { reproduceFreeFailure } from '../../stress/commands/controlled-io.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { main } from '../../stress/commands/index.ts';
import { testContext } from '../helpers/cli-context.ts';

const scenario = getScenario('map-truncate');
const cfg: RunConfig = {
  ...DEFAULTS, scenario: 'map-truncate', seed: '3', durationMs: 0, ops: 0,
  extra: { ...Object.fromEntries((scenario.options ?? []).map((o) => [o.name, o.default])), 'map-pages': 'patch4' },
};

describe('reproducing a free-mode violation', () => {
  it('rebuilds the involved tasks\' operations from the seed and finds the same invariant', async () => {
    // what the free run's tasks did first: operations 0..5 of each task's op stream
    const ops = opsFor(scenario, cfg, cfg.seed, 6);
    const lock = makeLock(cfg.lock, { unfairness: cfg.unfairness });
    const e = explore({ scenario, cfg, lock, strategies: strategySpecs('pct', 3), iterations: 3000, opsPerActor: 0, seed: 'x', ops });
    expect(e.finds.length).toBe(1);
    const f = e.finds[0];
    // the violation record the free run's checker would hold: from the ring, with flight records
    // (a ring long enough for the window: PCT may have preempted the mapper for hundreds of steps)
    const d = new ControlledDriver({ scenario, cfg, lock, flightEntries: 1024 });
    d.runIteration({ ops, strategy: new ReplayStrategy(f.schedule), rng: rng(0) });
    const recs = readViolations(d.shm);
    const rec = recs[0] ?? { id: f.violation.id, task: f.violation.task, op: f.violation.op, page: f.violation.page, seq: 0, page_state: null, values: [], message: '', flight: [] };
    expect(rec.id).toBe(f.violation.id);

    const inv = involvedTasks(rec, ops.length);
    expect(inv.length).toBeGreaterThanOrEqual(1);
    for (const i of inv) for (const n of i.ops) expect(n).toBeLessThan(6);

    const r = reproduceFree({ scenario, cfg, lock, violation: rec, iterations: 3000 });
    expect(r.find?.violation.id).toBe(rec.id);
    expect(sameSignature(r.find!.signature, f.signature)).toBe(true);
    // the record's own order of the involved operations, followed by schedule points, is the
    // find: the first run (no exploration)
    expect(r.how).toBe('free interleaving');
    expect(r.iterations).toBeLessThanOrEqual(9);
    // only the involved tasks have operations, and they are the free run's (seed, task, opNo)
    const busy = r.find!.ops.map((o, t) => (o.length ? t : -1)).filter((t) => t >= 0);
    expect(busy.every((t) => r.involved.some((i) => i.task === t))).toBe(true);
    for (const i of r.involved) expect(r.find!.ops[i.task]).toEqual(i.ops.map((n) => ops[i.task][n]));

    // what `run --reproduce` prints and writes: a repro file and the replay line (shrinking is
    // tested on its own)
    const ctx = testContext();
    ctx.registry = buildRegistry();
    const out = reproduceFreeFailure(ctx, cfg, rec, ctx.dir, { budgetMs: 60_000, shrink: false });
    expect(out.path).toMatch(/repro-free-map-truncate-MAP-CACHE-s3-i\d+\.json$/);
    expect(out.lines[0]).toMatch(/^reproduce: MAP-CACHE reproduced under the controlled driver in [\d.]+ s \(task \d+ op/);
    expect(out.lines.at(-1)).toMatch(/^replay: node \/\S+\/dist\/stress\/cli\.js replay \/\S+\/repro-free-.*\.json$/);
    expect(await main(['replay', out.path!], ctx)).toBe(1);
    expect(ctx.stdout.some((l) => l.startsWith('REPRODUCED MAP-CACHE'))).toBe(true);
  }, 120_000);

  it('the narrow sets are the reporter and its partners on the page; on a clean protocol nothing is accepted, with a heartbeat', () => {
    const ops = opsFor(scenario, cfg, cfg.seed, 6);
    const lock = makeLock(cfg.lock, { unfairness: cfg.unfairness });
    const e = explore({ scenario, cfg, lock, strategies: strategySpecs('pct', 3), iterations: 3000, opsPerActor: 0, seed: 'x', ops });
    const f = e.finds[0];
    const d = new ControlledDriver({ scenario, cfg, lock, flightEntries: 1024 });
    d.runIteration({ ops, strategy: new ReplayStrategy(f.schedule), rng: rng(0) });
    const rec = readViolations(d.shm)[0];
    const narrow = partnerTasks(rec, ops.length);
    expect(narrow.find((i) => i.task === rec.task)?.ops).toEqual([rec.op]);
    for (const i of narrow) {
      expect(i.ops.length).toBe(1);
      if (i.task !== rec.task) expect(rec.flight.some((x) => x.task === i.task && x.op === i.ops[0] && x.page === rec.page)).toBe(true);
    }
    for (const i of partnerTasks(rec, ops.length, 1, true)) expect(i.ops.length).toBeGreaterThanOrEqual(1);

    // mainline does not have the race: no candidate has the record's signature
    const clean: RunConfig = { ...cfg, extra: { ...cfg.extra, 'map-pages': 'mainline' } };
    const beats: number[] = [];
    const r = reproduceFree({ scenario, cfg: clean, lock, violation: rec, iterations: 400, progressMs: 0, onProgress: (p) => beats.push(p.iterations) });
    expect(r.find).toBeNull();
    expect(r.iterations).toBe(400);
    expect(beats.length).toBeGreaterThan(10);
    expect(beats).toEqual([...beats].sort((a, b) => a - b));
  }, 120_000);

  it('a find its rebuilt operations cannot show is searched in the scenario\'s own workloads, with the same signature', () => {
    // The free run's operations need the model state they ran in, which the search cannot rebuild
    // (src/sched/reproduce.ts, lane C). A record whose flight names only the reporter's last step
    // stands for that here: one rebuilt operation of one task, no partner, so nothing in the window
    // to explore, and the one run of the reporter's operation alone breaks nothing
    const ops = opsFor(scenario, cfg, cfg.seed, 6);
    const lock = makeLock(cfg.lock, { unfairness: cfg.unfairness });
    const e = explore({ scenario, cfg, lock, strategies: strategySpecs('pct', 3), iterations: 3000, opsPerActor: 0, seed: 'x', ops });
    const d = new ControlledDriver({ scenario, cfg, lock, flightEntries: 1024 });
    d.runIteration({ ops, strategy: new ReplayStrategy(e.finds[0].schedule), rng: rng(0) });
    const full = readViolations(d.shm)[0];
    const rec = { ...full, flight: full.flight.filter((f) => f.task === full.task).slice(-1) };
    const roles = scenario.roles(cfg);
    const want = recordSignature(rec, (t) => roles[t], (t, op) => ops[t][op].kind);
    expect(want.label).not.toBe('-');

    // no time limit: the search is deterministic
    const r = reproduceFree({ scenario, cfg, lock, violation: rec, iterations: 20_000 });
    expect(r.find, `${r.iterations} iterations`).not.toBeNull();
    expect(r.how).toMatch(new RegExp(`^${WORKLOADS_HOW}, `));
    expect(r.find!.opsSeed).toMatch(/^3\/reproduce\/workloads\.\d+$/);
    expect(sameSignature(r.find!.signature, want)).toBe(true);
    expect(r.involved.length).toBeGreaterThanOrEqual(2);
    // the same search again: the same find
    const again = reproduceFree({ scenario, cfg, lock, violation: rec, iterations: 20_000 });
    expect([again.iterations, again.find?.opsSeed, again.find?.schedule]).toEqual([r.iterations, r.find!.opsSeed, r.find!.schedule]);

    // mainline does not have the race: its workloads break nothing with this signature
    const clean: RunConfig = { ...cfg, extra: { ...cfg.extra, 'map-pages': 'mainline' } };
    const none = reproduceFree({ scenario, cfg: clean, lock, violation: rec, iterations: 800 });
    expect(none.find).toBeNull();
    expect(none.iterations).toBe(800);
  }, 120_000);
});
