// map-truncate under the controlled driver: seeded interleavings of the default actors. Mainline
// must stay clean; patch 4 must be caught, with a MAP-CACHE / MAP-EOF / DATA-STAMP / DEL-LOCKED
// violation (the variant's expected set). Iteration budgets are counts, not times.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { getVariant } from '../../src/variants/index.ts';
import { mmConfig } from '../helpers/mm-fixture.ts';

const run = (variant: string, iterations: number, seed: string) =>
  explore({
    scenario: mapTruncateScenario, cfg: mmConfig({ 'map-pages': variant }), lock: makeLock('v5.9-rc6'),
    strategies: portfolio(3), iterations, opsPerActor: 6, seed,
  });

describe('map-truncate, controlled', () => {
  it('mainline: no violation in 300 interleavings', () => {
    const r = run('mainline', 300, '1');
    expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
    expect(r.stats.iterations).toBe(300);
  }, 30_000);

  it('patch4: caught within 300 interleavings, with an expected invariant', () => {
    const r = run('patch4', 300, '1');
    expect(r.finds.length).toBe(1);
    const v = r.finds[0].violation;
    expect(getVariant('patch4', 'map-pages').expected).toContain(v.id);
    expect(v.message).toMatch(/mapper|faulter/);
  }, 30_000);
});
