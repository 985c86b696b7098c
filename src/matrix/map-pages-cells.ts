// Matrix cells for map_pages variants whose race the derived cell (map-truncate with 3 actors x 4
// operations, a PCT-led portfolio: src/variants/index.ts) does not reach within a cell's share
// of the budget. Each replaces the derived cell of the same name and says why.
//
// The lockless handshakes (linus-recheck, willy-uptodate and their reordered mutants) can only
// race on the first page of a fault-around: later pages are checked under the PTL, which
// truncation's first unmap_mapping_range() must take too. The mapper must read the old i_size,
// the truncator write the new one and pass its first unmap before the mapper takes the PTL, and
// then the two handshake steps must interleave: 4-5 context switches at the right points. PCT at
// depth 3 did not reach it in 20,000 iterations per seed (nor depths 4-6 in 3,000-5,000); a random
// walk over a 2-actor, 1-operation workload does, once in ~400-20,000 iterations (docs/proposals.md).
import { registerCell, type ControlledCellCfg } from './cells.ts';

const MAP_TRUNCATE = 'map-truncate';

/** One small file mapped once: the mapper's first page is the truncator's first victim. */
const SMALL_FILE = { files: 1, 'file-pages': 4, processes: 1, vmas: 1, 'ptes-per-ptl': 4 };
/** Controlled: mapper and truncator, one operation each (the handshake window in its smallest form). */
const HANDSHAKE_CONTROLLED: ControlledCellCfg = { workers: 2, opsPerActor: 1, extra: { ...SMALL_FILE, roles: 'mapper,truncator' } };
/** Free: a faulter refills the page cache the truncator empties (a mapper only maps cached pages). */
const HANDSHAKE_FREE = { workers: 3, extra: { ...SMALL_FILE, roles: 'mapper,truncator,faulter' } };

for (const [variant, reasoning] of [
  ['linus-recheck', "Linus's proposal, run where its handshake decides: the mapper's first page against a truncation of that page. "
    + 'Never merged, never proved; the relaxed delete assertion, MAP-CACHE, MAP-EOF and DATA-STAMP must hold (docs/proposals.md)'],
  ['willy-uptodate', "Willy's PG_uptodate handshake, run where it decides (the mapper's first page against its truncation). Never "
    + 'merged, never proved (docs/proposals.md)'],
] as const) {
  registerCell({
    name: `${MAP_TRUNCATE}/handshake/${variant}`, scenario: MAP_TRUNCATE, cfg: { ...HANDSHAKE_FREE, extra: { ...HANDSHAKE_FREE.extra, 'map-pages': variant } },
    controlled: HANDSHAKE_CONTROLLED, expected: 'open', reasoning, source: 'kernel-protocols §1.4, §1.8, §1.9',
  });
}

// Calibration of the explorer's reach, not detector guards: the reordered handshakes and the
// unrelaxed delete assertion are caught deterministically by test/variants-map-mutants.test.ts;
// here they only show whether a cell's budget reached the window (open: the matrix reports it).
for (const [variant, what] of [
  ['map-linus-recheck-first', 'linus-recheck with the re-check before the mapcount increment'],
  ['truncate-willy-mapped-first', "willy-uptodate's truncate reading page_mapped() before clearing PG_uptodate"],
  ['linus-recheck-strict-del', "linus-recheck with the kernel's unrelaxed delete assertion"],
  ['willy-uptodate-strict-del', "willy-uptodate with the kernel's unrelaxed delete assertion"],
] as const) {
  registerCell({
    name: `${MAP_TRUNCATE}/${variant}`, scenario: MAP_TRUNCATE, cfg: { extra: { 'map-pages': variant } },
    controlled: HANDSHAKE_CONTROLLED, expected: 'open', hidden: true, modes: ['controlled'],
    reasoning: `${what}: known to break (DEL-LOCKED / MAP-CACHE) in the handshake window, a depth-5 race a random walk finds in `
      + '~1,500-20,000 iterations and PCT not at all; the deterministic test guards the detector, this cell shows whether the budget reached the window',
    source: 'docs/proposals.md',
  });
}

// The missing mapping re-check needs the page truncated and the file grown back between the
// lookup and trylock_page(): on one small file with a mapper and a truncator doing two
// operations each the portfolio finds it within ~550 iterations (seeds 1-5), on the derived cell
// only after up to ~3,700.
registerCell({
  name: `${MAP_TRUNCATE}/map-norecheck-mapping`, scenario: MAP_TRUNCATE, cfg: { extra: { 'map-pages': 'map-norecheck-mapping' } },
  controlled: { workers: 2, opsPerActor: 2, extra: { ...SMALL_FILE, roles: 'mapper,truncator' } },
  expected: { breaks: ['MAP-CACHE', 'DATA-STAMP'] }, hidden: true,
  reasoning: 'a page truncated (and the file grown back) between the lookup and trylock_page() is mapped though the page cache no longer holds it',
  source: 'mutant of next_uptodate_folio() (kernel-protocols §3.4 step 7)',
});
