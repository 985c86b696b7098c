// Patch 4 of the seed thread under the controlled driver, through the same path as
// `explore --map-pages patch4 --seed S` (default roles and sizes, --strategy pct --depth 3,
// --ops-per-actor 4): found for seeds 1-5 within a bounded number of iterations, and the shrunk
// trace is the race of kernel-protocols §1.7. Mainline: nothing in a bounded exploration.
// Budgets are iteration counts, never times.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { reproFromFind, runRepro, validateRepro, type Resolver } from '../../src/sched/repro.ts';
import { shrink } from '../../src/sched/shrink.ts';
import { sameSignature } from '../../src/sched/signature.ts';
import { diagramText } from '../../src/report/diagram.ts';
import { getScenario, scenarioNames } from '../../src/scenarios/index.ts';
import { lockNames } from '../../src/locks/index.ts';

/** what `explore` builds from `--map-pages V --seed S` and no other flag */
const cfgOf = (variant: string, seed: string): RunConfig => ({
  ...DEFAULTS, scenario: 'map-truncate', seed, durationMs: 0, ops: 0,
  extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), 'map-pages': variant },
});

const resolver: Resolver = {
  scenario: (n) => (scenarioNames().includes(n) ? getScenario(n) : undefined),
  scenarioNames,
  lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => lockNames({ hidden: true }),
};

/** Iterations each seed may take (seeds 1-5 need 40-500 with this configuration). */
const BUDGET = 2000;

function exploreSeed(variant: string, seed: number, iterations: number) {
  const cfg = cfgOf(variant, String(seed));
  return {
    cfg,
    res: explore({
      scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
      strategies: strategySpecs('pct', 3), iterations, opsPerActor: 4, seed: String(seed),
    }),
  };
}

describe('explore --map-pages patch4', () => {
  const found = new Map<number, ReturnType<typeof exploreSeed>>();

  it.each([1, 2, 3, 4, 5])('seed %i: the truncate race is found within the budget', (seed) => {
    const r = exploreSeed('patch4', seed, BUDGET);
    found.set(seed, r);
    expect(r.res.finds.length).toBe(1);
    const f = r.res.finds[0];
    expect(['MAP-CACHE', 'MAP-EOF', 'DATA-STAMP']).toContain(f.violation.id);
    expect(f.iteration).toBeLessThan(BUDGET);
  }, 60_000);

  it('the shrunk trace names the mapper\'s unlocked checks and the truncator\'s delete', () => {
    // seed 2 (a faulter's fault-around find). Seed 1's find, also a faulter's, needs the truncator
    // to shrink and grow the file again: it shrinks to about 70 steps (test/sched/shrink.test.ts)
    const { cfg, res } = found.get(2) ?? exploreSeed('patch4', 2, BUDGET);
    const f = res.finds[0];
    const l = validateRepro(JSON.parse(JSON.stringify(reproFromFind(f, { scenario: getScenario('map-truncate'), cfg, seed: '2' }))), resolver);
    const s = shrink(l, { maxRuns: 20_000, budgetMs: 120_000 });
    expect(s.result.violation?.id).toBe(f.violation.id);
    expect(sameSignature(s.signature, f.signature)).toBe(true); // the same find, not another one
    expect(s.after.steps).toBeLessThanOrEqual(s.before.steps);
    expect(s.after.steps).toBeLessThanOrEqual(45);
    const trace = s.result.trace!;
    const roles = l.scenario.roles(l.cfg);
    // the actor that installs the PTE: a mapper, or a faulter in its fault-around (both run
    // filemap_map_pages); the other one truncates
    const violating = trace.find((e) => e.step === s.result.violationStep)!;
    expect(violating.label).toBe('set_pte_at');
    const who = (e: { task: number }) => (e.task === violating.task ? 'map' : roles[e.task]);
    expect(roles[violating.task]).toMatch(/mapper|faulter/);
    const steps = trace.map((e) => `${who(e)}:${e.label}`);
    const at = (what: string, from = 0) => steps.indexOf(what, from);
    // filemap_map_pages: the page checks without the page lock (patch 4 skips trylock_page on a
    // private VMA)
    const mapping = at('map:page->mapping');
    const isize = at('map:i_size_read', mapping);
    expect(mapping).toBeGreaterThanOrEqual(0);
    expect(isize).toBeGreaterThan(mapping);
    expect(steps.slice(0, isize)).not.toContain('map:trylock_page');
    // truncator: i_size first, then deletes the page from the page cache ...
    const write = at('truncator:i_size_write', isize);
    const del = at('truncator:page_cache_delete', write);
    expect(write).toBeGreaterThan(isize);
    expect(del).toBeGreaterThan(write);
    expect(trace[del].page).toBe(violating.page);
    // ... and the PTE goes in afterwards: the violating step
    expect(at('map:set_pte_at', del)).toBe(trace.indexOf(violating));
    const text = diagramText({ trace, roles, ops: s.ops, violation: s.result.violation, violationStep: s.result.violationStep });
    expect(text.find((x) => x.includes('set_pte_at') && x.includes('<=='))).toMatch(new RegExp(`<== ${f.violation.id}$`));
    // it replays exactly
    const again = runRepro({ ...l, ops: s.ops, choices: s.choices }, { trace: true });
    expect(again.reproduced).toBe(true);
    expect(again.diverged + again.beyond).toBe(0);
  }, 120_000);
});

describe('explore --map-pages mainline', () => {
  it.each([1, 2])('seed %i: nothing in 250 iterations', (seed) => {
    const r = exploreSeed('mainline', seed, 250);
    expect(r.res.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
    expect(r.res.stats.iterations).toBe(250);
  }, 60_000);
});
