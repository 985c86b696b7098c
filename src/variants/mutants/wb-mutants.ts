// The writeback scenario's lockless paths (v6.6): writeback waiters without the page lock (fsync's
// __filemap_fdatawait_range(), reclaim's Case 3 wait), dirtying without the page lock (the PTE
// dirty bit at zap / unmap, a get_user_pages() pin's late set_page_dirty(), __remove_mapping()'s
// re-check after the freeze) and try_to_unmap()'s early exit. Their self-test mutants, registered
// hidden (--variant NAME accepts them), and the matrix cells (WB_LOCKLESS_CELLS, registered by
// src/matrix): each mutant with what it must trip, and the paths clean under each lock algorithm.
import { registerVariant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import { fdatawaitDirtyTag } from './fdatawait-dirty-tag.ts';
import { reclaimNoDirtyRecheck } from './reclaim-nodirty-recheck.ts';

registerVariant(fdatawaitDirtyTag);
registerVariant(reclaimNoDirtyRecheck);

/** Free mode: each new path on its own actor, against writeback, writers and truncation. */
const FREE = { workers: 4, extra: { roles: 'fsync+pinner,writeback+writer,reclaimer+zapper,truncator+faulter+reader' } } as const;
/** Controlled mode: the waiter / pinner, the writeback that cleans and the reclaimer that frees on
 * three actors (a smaller file keeps the op streams on the same pages). */
const CONTROLLED = {
  workers: 3, opsPerActor: 4,
  extra: { roles: 'fsync+pinner,writeback+writer,reclaimer+zapper+truncator', 'file-pages': 4, files: 1 },
} as const;

export const WB_LOCKLESS_CELLS: readonly CellSpec[] = [
  ...['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10'].map((lock): CellSpec => ({
    name: `writeback/lockless-${lock}`, scenario: 'writeback', cfg: { lock, ...FREE }, controlled: CONTROLLED, expected: 'clean',
    reasoning: 'fsync waits for writeback without the page lock while the next writeback of the page may start, reclaim waits '
      + 'for writeback unlocked, pinned writers and zapped dirty PTEs dirty pages without it, try_to_unmap() stops early: '
      + 'mainline (v6.6) keeps every invariant, WB-WAIT and RECLAIM-DIRTY included, under every lock algorithm (no fatal '
      + 'signals here: the killable-wait lost wake-ups of v4.10 and v4.14 need them)',
    source: 'mm/filemap.c __filemap_fdatawait_range(), mm/vmscan.c shrink_folio_list() / __remove_mapping(), mm/rmap.c, mm/gup.c (v6.6)',
  })),
  {
    name: 'writeback/fdatawait-dirty-tag', scenario: 'writeback', cfg: { variants: ['fdatawait-dirty-tag'], ...FREE },
    controlled: CONTROLLED, expected: { breaks: ['WB-WAIT'] }, hidden: true,
    reasoning: fdatawaitDirtyTag.reasoning!, source: 'src/variants/mutants/fdatawait-dirty-tag.ts',
  },
  // reclaim-nodirty-recheck is not caught with this mix (its race needs the pin taken, the page
  // written back, reclaim past its dirty test and the pin's owner dirtying and unpinning before the
  // freeze, all inside one DMA): its cell, writeback/reclaim-nodirty-recheck, runs the setting of
  // src/variants/mutants/ptealloc-mutants.ts (PIN_RECLAIM), which says why.
];
