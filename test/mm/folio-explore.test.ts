// map-truncate with large folios (--max-folio-order 3) under the controlled driver, through the
// same path as `explore --max-folio-order 3 --variant V --strategy random --seed 1`: each folio
// self-test is caught by one of its invariants within an iteration budget, and mainline shows
// nothing in a bounded exploration. Budgets are iteration counts, never times.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { findVariant } from '../../src/variants/index.ts';

const cfgOf = (seed: string, variants?: string[], extra: RunConfig['extra'] = {}): RunConfig => ({
  ...DEFAULTS, scenario: 'map-truncate', seed, durationMs: 0, ops: 0, workers: 4, ...(variants ? { variants } : {}),
  extra: { ...Object.fromEntries((getScenario('map-truncate').options ?? []).map((o) => [o.name, o.default])), 'max-folio-order': 3, ...extra },
});

function exploreCfg(cfg: RunConfig, iterations: number) {
  return explore({
    scenario: getScenario('map-truncate'), cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }),
    strategies: strategySpecs('random', 3), iterations, opsPerActor: 4, seed: cfg.seed,
  });
}

describe('map-truncate with large folios', () => {
  // seed 1 finds (measured with the CLI): folio-map-one-ref at iteration 0, folio-split-nofreeze 25, folio-partial-keep 10
  it.each(['folio-map-one-ref', 'folio-split-nofreeze', 'folio-partial-keep'])('self-test %s is caught', (variant) => {
    const res = exploreCfg(cfgOf('1', [variant]), 300);
    expect(res.finds.length).toBe(1);
    expect(findVariant(variant)?.expected).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('mainline: nothing in 500 iterations', () => {
    const res = exploreCfg(cfgOf('2'), 500);
    expect(res.finds).toEqual([]);
    expect(res.stats.iterations).toBe(500);
  }, 120_000);

  // two faulters and a truncator on one 8-page file: readahead adds a folio sized from an i_size
  // read before a truncation, and v6.6 filemap_map_pages() maps its pages past EOF (found at
  // iteration 904 of seed 1); with the range clamped at i_size (folio-eof-clamp) the same
  // iterations show nothing
  const RACE = { roles: 'faulter,faulter,truncator', files: 1, 'file-pages': 8 };
  it('v6.6 maps a folio that reaches past EOF: FAULT-SIGBUS or MAP-EOF', () => {
    const res = exploreCfg({ ...cfgOf('1', undefined, RACE), workers: 3 }, 1500);
    expect(res.finds.length).toBe(1);
    expect(['FAULT-SIGBUS', 'MAP-EOF']).toContain(res.finds[0].violation.id);
  }, 120_000);

  it('the same with folio-eof-clamp: nothing', () => {
    const res = exploreCfg({ ...cfgOf('1', ['folio-eof-clamp'], RACE), workers: 3 }, 1500);
    expect(res.finds).toEqual([]);
  }, 120_000);

  it('the matrix has a clean large-folio cell per lock (range clamped at EOF), the v6.6 past-EOF cell and the three self-tests', () => {
    const cells = new Map(matrixCells().map((c) => [c.name, c]));
    for (const lock of ['v4.10', 'v5.9', 'v5.9-rc6'])
      expect(cells.get(`map-truncate/folios=${lock}`)?.expected).toBe('clean');
    expect(cells.get('map-truncate/folios-6.6-beyond-eof')?.expected).toEqual({ breaks: ['FAULT-SIGBUS', 'MAP-EOF'] });
    expect(cells.get('map-truncate/folio-partial-keep')?.expected).toEqual({ breaks: ['MAP-EOF', 'FAULT-SIGBUS'] });
    expect(cells.get('map-truncate/folio-split-nofreeze')?.expected).toMatchObject({ breaks: expect.arrayContaining(['REF-COUNT']) });
    expect(cells.get('map-truncate/folio-map-one-ref')?.expected).toMatchObject({ breaks: expect.arrayContaining(['REF-COUNT']) });
  });

  it('rejects a map_pages variant that maps order-0 pages only: one line, before any run', () => {
    const validate = getScenario('map-truncate').validate!;
    expect(validate(cfgOf('1', undefined, { 'map-pages': 'patch4' }))).toMatch(/--max-folio-order 3 needs --map-pages mainline/);
    expect(validate(cfgOf('1', ['map-nopte-recheck']))).toMatch(/--variant map-nopte-recheck replaces a path that maps order-0 pages only/);
    // large folios migrate whole (src/mm/migrate.ts): the migrator role takes them
    expect(validate({ ...cfgOf('1', undefined, { roles: 'migrator,faulter,truncator' }), workers: 3 })).toBeNull();
    expect(validate(cfgOf('1', ['folio-eof-clamp'], { 'map-pages': 'linus-recheck' }))).toBeNull();
  });
});
