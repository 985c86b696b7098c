// Controlled explorations of the map-truncate scenario for the map_pages variant tests.
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs, type StrategyKind } from '../../src/sched/strategies/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { mmConfig } from './mm-fixture.ts';

export const SEEDS = ['1', '2', '3', '4', '5'];

/** The matrix's controlled cell for map-truncate: 3 actors (mapper, truncator, the rest), 4 ops each. */
export function exploreDefault(variant: string, seed: string, kind: StrategyKind, iterations: number) {
  const cfg = mmConfig({ 'map-pages': variant }, { workers: 3, seed });
  return explore({
    scenario: mapTruncateScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: strategySpecs(kind, 3),
    iterations, opsPerActor: 4, seed,
  });
}

/** The lockless handshakes' window in its smallest form: one fault-around over indices 1..3 of a
 * 4-page file mapped once, one truncation to 1 page. The race needs the truncator's i_size write
 * and first unmap_mapping_range() between the mapper's lookup and its PTL, and then the two
 * handshake steps interleaved: a random walk finds it, PCT's few change points rarely do. */
export const HANDSHAKE_EXTRA = { roles: 'mapper,truncator', files: 1, 'file-pages': 4, processes: 1, vmas: 1, 'ptes-per-ptl': 4 };
export const HANDSHAKE_OPS: Op[][] = [[{ kind: 'map_pages', args: [0, 1, 4] }], [{ kind: 'truncate', args: [0, 4096] }]];

export function exploreHandshake(variant: string, seed: string, iterations: number, kind: StrategyKind = 'random', ops = HANDSHAKE_OPS) {
  const cfg = mmConfig({ 'map-pages': variant, ...HANDSHAKE_EXTRA }, { workers: 2, seed });
  return explore({
    scenario: mapTruncateScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: strategySpecs(kind, 3),
    iterations, opsPerActor: 1, seed, ops,
  });
}

