// Shrinking on the real locks scenario with the self-test lock that never wakes its waiters:
// the DEADLOCK stays a DEADLOCK, the schedule gets no longer, the result is the same every time
// and replays exactly.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock, lockNames } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { reproFromFind, runRepro, validateRepro, type Resolver } from '../../src/sched/repro.ts';
import { sameSignature } from '../../src/sched/signature.ts';
import { shrink, shrunkRepro } from '../../src/sched/shrink.ts';
import { getScenario, scenarioNames } from '../../src/scenarios/index.ts';

const resolver: Resolver = {
  scenario: (n) => (scenarioNames().includes(n) ? getScenario(n) : undefined),
  scenarioNames,
  lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => lockNames({ hidden: true }),
};

describe('shrink', () => {
  const cfg: RunConfig = { ...DEFAULTS, scenario: 'locks', lock: 'busted-nowake', workers: 4, pages: 4, seed: '5', durationMs: 0, ops: 0, extra: {} };
  const res = explore({
    scenario: getScenario('locks'), cfg, lock: makeLock('busted-nowake'), strategies: strategySpecs('random', 3), iterations: 100, opsPerActor: 12, seed: '5',
  });
  const load = () => validateRepro(JSON.parse(JSON.stringify(reproFromFind(res.finds[0], { scenario: getScenario('locks'), cfg, seed: '5' }))), resolver);

  it('keeps the invariant id, never lengthens the schedule, is deterministic, and replays exactly', () => {
    // the stranded waiter: DEADLOCK, or LOCK-WAKE where the owed wake-up is seen lost first
    const id = res.finds[0]?.violation.id;
    expect(['DEADLOCK', 'LOCK-WAKE']).toContain(id);
    const l = load();
    const a = shrink(l);
    const b = shrink(load());
    expect(a.result.violation?.id).toBe(id);
    expect(a.after.steps).toBeLessThanOrEqual(a.before.steps);
    expect(a.after.decisions).toBeLessThanOrEqual(a.before.decisions);
    expect(a.after.ops).toBeLessThan(a.before.ops);
    // a lost wake-up needs a holder and one sleeper; keeping the find's signature (the sleeper's
    // role, operation and step) the shrinker stops at one operation more (a trylock of the holder)
    expect(a.after.ops).toBeLessThanOrEqual(3);
    expect(sameSignature(a.signature, res.finds[0].signature)).toBe(true);
    expect(b.ops).toEqual(a.ops);
    expect(b.choices).toEqual(a.choices);
    const min = validateRepro(JSON.parse(JSON.stringify(shrunkRepro(l, a, 'x.json'))), resolver);
    const r = runRepro(min);
    expect(r.reproduced).toBe(true);
    expect(r.diverged + r.beyond).toBe(0);
    expect(r.result.steps).toBe(a.after.steps);
  }, 60_000);

  it('stops at its run limit and still returns something that fails the same way', () => {
    const s = shrink(load(), { maxRuns: 3 });
    expect(s.stoppedBy).toBe('runs');
    expect(s.result.violation?.id).toBe(res.finds[0]?.violation.id);
    expect(s.after.steps).toBeLessThanOrEqual(s.before.steps);
  }, 60_000);
});

describe('shrink: a find whose race needs two preemptions among many operations', () => {
  // `explore --map-pages patch4 --seed 1 --strategy pct --depth 3` (ops-per-actor 4): a faulter's
  // fault-around reads page->mapping, the truncator shrinks the file, deletes the page and grows
  // the file again, then the faulter reads i_size and maps the deleted page. Dropping operations
  // shifts every recorded decision after them; keeping the signature, the shrinker used to stop
  // at 822 steps and 14 operations. Following the kept trace by its schedule points gets it to a
  // fault and a truncate.
  const cfg: RunConfig = {
    ...DEFAULTS, scenario: 'map-truncate', seed: '1', durationMs: 0, ops: 0,
    extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), 'map-pages': 'patch4' },
  };
  it('patch4 seed 1 shrinks to a short trace with the same signature, and replays exactly', () => {
    const res = explore({
      scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock), strategies: strategySpecs('pct', 3), iterations: 2000, opsPerActor: 4, seed: '1',
    });
    const f = res.finds[0];
    expect(f?.signature).toMatchObject({ id: 'MAP-CACHE', role: 'faulter', op: 'fault', label: 'set_pte_at' });
    expect(f.steps).toBeGreaterThan(800);
    const l = validateRepro(JSON.parse(JSON.stringify(reproFromFind(f, { scenario: getScenario('map-truncate'), cfg, seed: '1' }))), resolver);
    const s = shrink(l, { maxRuns: 20_000, budgetMs: 120_000 });
    expect(sameSignature(s.signature, f.signature)).toBe(true);
    expect(s.after.ops).toBeLessThanOrEqual(3);
    expect(s.after.steps).toBeLessThanOrEqual(100);
    const min = validateRepro(JSON.parse(JSON.stringify(shrunkRepro(l, s, 'x.json'))), resolver);
    const r = runRepro(min);
    expect(r.reproduced).toBe(true);
    expect(r.diverged + r.beyond).toBe(0);
    expect(r.result.steps).toBe(s.after.steps);
  }, 180_000);
});
