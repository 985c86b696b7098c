// A find made with --variant replays with it: the repro file keeps the configuration's variants,
// validateRepro checks them against the registry, and the replay composes the same tables.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { lockNames, makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { ReproError, reproFromFind, runRepro, validateRepro, type Resolver } from '../../src/sched/repro.ts';
import { getScenario, scenarioNames } from '../../src/scenarios/index.ts';

const resolver: Resolver = {
  scenario: (n) => (scenarioNames().includes(n) ? getScenario(n) : undefined),
  scenarioNames,
  lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => lockNames({ hidden: true }),
};

describe('repro files keep --variant', () => {
  const scenario = getScenario('map-truncate');
  const cfg: RunConfig = {
    ...DEFAULTS, scenario: 'map-truncate', seed: '1', durationMs: 0, ops: 0, variants: ['patch4'],
    extra: Object.fromEntries((scenario.options ?? []).map((o) => [o.name, o.default])),
  };
  const res = explore({ scenario, cfg, lock: makeLock(cfg.lock), strategies: strategySpecs('pct', 3), iterations: 2000, opsPerActor: 4, seed: '1' });

  it('patch4 chosen with --variant is found, and its repro replays with the variant', () => {
    expect(res.finds.length).toBe(1);
    const file = JSON.parse(JSON.stringify(reproFromFind(res.finds[0], { scenario, cfg, seed: '1' })));
    expect(file.config.variants).toEqual(['patch4']);
    const l = validateRepro(file, resolver);
    expect(l.cfg.variants).toEqual(['patch4']);
    const r = runRepro(l);
    expect(r.reproduced).toBe(true);
    expect(r.result.violation?.id).toBe(res.finds[0].violation.id);
    // the same schedule on mainline does not fail: the variant is what the replay ran
    delete file.config.variants;
    expect(runRepro(validateRepro(file, resolver)).reproduced).toBe(false);
  }, 60_000);

  it('an unknown variant in a repro file is a one-line error', () => {
    const file = JSON.parse(JSON.stringify(reproFromFind(res.finds[0], { scenario, cfg, seed: '1' })));
    file.config.variants = ['no-such-variant'];
    expect(() => validateRepro(file, resolver)).toThrow(ReproError);
    expect(() => validateRepro(file, resolver)).toThrow(/config.variants: unknown variant 'no-such-variant'/);
  });
});
