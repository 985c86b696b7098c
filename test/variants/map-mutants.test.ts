// The self-test mutants of the map_pages / truncate protocols must be caught by the checker on its
// own, in controlled mode, for seeds 1-5, within a bounded number of iterations. Deterministic:
// the same seed explores the same iterations, so a bound that holds today holds on every run
// (and a checker that stops seeing the bug fails the test).
import { describe, expect, it } from 'vitest';
import type { explore } from '../../src/sched/explore.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import { getVariant } from '../../src/variants/index.ts';
import { HANDSHAKE_OPS, SEEDS, exploreDefault, exploreHandshake } from '../helpers/variants-map.ts';

function expectCaught(variant: string, r: ReturnType<typeof explore>, bound: number): number {
  expect(r.finds.length, `${variant}: nothing found in ${r.stats.iterations} iterations`).toBe(1);
  const f = r.finds[0];
  expect(getVariant(variant, 'map-pages').expected).toContain(f.violation.id);
  expect(f.iteration).toBeLessThan(bound);
  return f.iteration;
}

describe('map_pages / truncate self-test mutants are caught in controlled mode', () => {
  it('map-nopte-recheck (MAP-COUNT / REF-COUNT): PCT and random, seeds 1-5, within 50 iterations', () => {
    for (const seed of SEEDS)
      for (const kind of ['pct', 'random'] as const) expectCaught('map-nopte-recheck', exploreDefault('map-nopte-recheck', seed, kind, 50), 50);
  }, 30_000);

  it('truncate-nounmap (DEL-LOCKED): PCT and random, seeds 1-5, within 2000 iterations', () => {
    // the faulter must lock the page and read the old i_size, the truncator pass its first
    // unmap_mapping_range() before the PTE is set: PCT needs at most ~1,600 iterations here
    for (const seed of SEEDS)
      for (const kind of ['pct', 'random'] as const) expectCaught('truncate-nounmap', exploreDefault('truncate-nounmap', seed, kind, 2000), 2000);
  }, 60_000);

  it('map-norecheck-mapping (MAP-CACHE): PCT, seeds 1-5, within 200 iterations of the shrink-and-grow workload', () => {
    // the page must be truncated and the file grown back between the lookup and trylock_page(): a
    // depth-2 schedule on this workload (mapper demoted between xas_reload and trylock_page, both
    // truncations run). On the matrix's default cell PCT needs up to ~3,700 iterations.
    const ops: Op[][] = [HANDSHAKE_OPS[0], [{ kind: 'truncate', args: [0, 4096] }, { kind: 'truncate', args: [0, 4 * 4096] }]];
    for (const seed of SEEDS) expectCaught('map-norecheck-mapping', exploreHandshake('map-norecheck-mapping', seed, 200, 'pct', ops), 200);
  }, 30_000);

  it("the lockless proposals' own mutants (the handshake steps reordered) are caught in the handshake window", () => {
    for (const variant of ['map-linus-recheck-first', 'truncate-willy-mapped-first'])
      for (const seed of SEEDS) expectCaught(variant, exploreHandshake(variant, seed, 20_000), 20_000);
  }, 60_000);

  it('the unrelaxed delete assertion fires in the back-out window (the artefact the proposals relax)', () => {
    for (const variant of ['linus-recheck-strict-del', 'willy-uptodate-strict-del'])
      for (const seed of SEEDS) {
        const r = exploreHandshake(variant, seed, 20_000);
        expectCaught(variant, r, 20_000);
        expect(r.finds[0].violation.id).toBe('DEL-LOCKED');
      }
  }, 60_000);
});
