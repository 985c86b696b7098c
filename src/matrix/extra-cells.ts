// The matrix's cells: derived from the live registries (see cells.ts for the rules), plus the cells
// the built-in scenarios and mutants declare next to their code, registered here.
import { SCENARIOS } from '../scenarios/index.ts';
import { lockInfo, lockNames } from '../locks/index.ts';
import { MAINLINE_MAP_PAGES } from '../variants/map-pages/index.ts';
import { MAINLINE_FAULT_PATH } from '../variants/fault/index.ts';
import { variants } from '../variants/index.ts';
import { LOCKS, MAP_TRUNCATE, WRITEBACK, deriveCells, expectedText, explicitCells, registerCell, type Cell } from './cells.ts';
import { COLLAPSE_CELLS } from '../scenarios/collapse.ts';
import { FUSE_WRITE_CELLS } from '../scenarios/fuse-write.ts';
import { LOCK_ORDER_CELLS } from '../scenarios/lock-order.ts';
import { MAP_TRUNCATE_CELLS } from '../scenarios/map-truncate.ts';
import { LOCK_MUTANT_CELLS } from '../variants/mutants/lock-mutants.ts';
import { WB_LOCKLESS_CELLS } from '../variants/mutants/wb-mutants.ts';
import { MIGRATE_CELLS } from '../variants/mutants/migrate-mutants.ts';
import { PTE_ALLOC_CELLS } from '../variants/mutants/ptealloc-mutants.ts';
import { FOLIO_CELLS } from '../variants/folio/index.ts';
import { LARGE_FOLIO_CELLS } from '../variants/folio/large.ts';
import { PMD_CELLS } from '../variants/folio/index.ts';
import { WRITEBACK_PMD_CELLS } from '../variants/folio/large.ts';
import { COLLAPSE_FOLIO_CELLS } from '../variants/mutants/collapse-mutants.ts';
import { PMD_MIGRATE_CELLS } from '../variants/mutants/pmd-migrate-mutants.ts';
import { PMD_MKCLEAN_CELLS } from '../variants/mutants/pmd-mkclean-mutants.ts';
// the map-pages cells the derived ones do not cover well (the handshake window, the grow-back race)
import './map-pages-cells.ts';

// cells the built-in scenarios and mutants declare next to their code
for (const c of [...COLLAPSE_CELLS, ...FUSE_WRITE_CELLS, ...LOCK_ORDER_CELLS, ...MAP_TRUNCATE_CELLS, ...LOCK_MUTANT_CELLS, ...WB_LOCKLESS_CELLS]) registerCell(c);
for (const c of MIGRATE_CELLS) registerCell(c);
for (const c of PTE_ALLOC_CELLS) registerCell(c);
for (const c of FOLIO_CELLS) registerCell(c);
for (const c of LARGE_FOLIO_CELLS) registerCell(c);
for (const c of PMD_CELLS) registerCell(c);
for (const c of WRITEBACK_PMD_CELLS) registerCell(c);
for (const c of COLLAPSE_FOLIO_CELLS) registerCell(c);
for (const c of PMD_MIGRATE_CELLS) registerCell(c);
for (const c of PMD_MKCLEAN_CELLS) registerCell(c);

export function matrixCells(): Cell[] {
  return deriveCells({
    scenarios: [...SCENARIOS.values()],
    mapPages: [MAINLINE_MAP_PAGES, ...variants({ kind: 'map-pages', hidden: true })],
    locks: lockNames({ hidden: true }).map((name) => {
      const l = lockInfo(name)!;
      return { name, description: l.description, hidden: l.hidden };
    }),
    faultPaths: [MAINLINE_FAULT_PATH, ...variants({ kind: 'fault-path', hidden: true })],
    explicit: explicitCells(),
  });
}

// starvation (LOCK-FAIR, one check for every algorithm: src/locks/waitqueue.ts): with k = 0 a
// waiter may be woken without the lock and overtaken once per lock attempt
const STARVE = { unfairness: 0, workers: 4, pages: 2, extra: { signals: false } } as const;
registerCell({
  name: 'locks/v4.14-starve', scenario: LOCKS, cfg: { lock: 'v4.14', ...STARVE }, controlled: { workers: 3, opsPerActor: 4, strategy: 'random' },
  expected: { breaks: ['LOCK-FAIR'] },
  reasoning: 'wake one, then race: a woken waiter that loses test_and_set_bit_lock() to a fast-path locker queues again at the tail, '
    + 'with no bound (the soft lockups that led to the 5.9 rewrite); on two hot pages a waiter is overtaken twice in one attempt',
  source: '2a9127fcf229 "mm: rewrite wait_on_page_bit_common() logic" (its changelog: starvation of the woken waiter), kernel-protocols §5.3',
});
registerCell({
  name: 'locks/v5.9-starve', scenario: LOCKS, cfg: { lock: 'v5.9', ...STARVE }, controlled: { workers: 3, opsPerActor: 4, strategy: 'random' },
  expected: 'clean',
  reasoning: 'the fair hand-off never wakes an exclusive waiter without the lock: it cannot be overtaken once queued, whatever k',
  source: '2a9127fcf229, kernel-protocols §5.6',
});
