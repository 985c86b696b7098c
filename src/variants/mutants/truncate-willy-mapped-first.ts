// Self-test mutant of willy-uptodate: truncate_cleanup_page() looks at page_mapped() before it
// clears PG_uptodate — what the missing smp_mb__before_atomic() between ClearPageUptodate() and
// the mapcount read amounts to (Msg-ID 20200915033210.GA5449@casper.infradead.org; JS Atomics are
// sequentially consistent, so the weak-ordering bug is modelled as this reordering of steps).
//
// The bug: the handshake is gone. The truncator can see the page unmapped, the mapper then raise
// the mapcount and still see PG_uptodate set, set its PTE, and the truncator delete the page under it.
//
// Must trip: DEL-LOCKED (willy-uptodate's relaxed delete assertion: a PTE maps the page at
// deletion) or MAP-CACHE. It shows that willy-uptodate's silence is not a blind checker.
// Run it with --map-pages truncate-willy-mapped-first. As a table: willy-uptodate's entries with
// this truncate.truncateCleanupFolio.
import { pageMapped } from '../../shm/page.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import type { Variant } from '../registry.ts';
import { filemapRemoveFolioRelaxed } from '../map-pages/lockless.ts';
import { clearPageUptodate, willyMapPages } from '../map-pages/willy-uptodate.ts';

function* truncateCleanupFolioMappedFirst(t: Task, pfn: number): Step {
  yield 'folio_mapped';
  const mapped = pageMapped(t.shm, pfn); // BUG: read before PG_uptodate is cleared
  yield* clearPageUptodate(t, pfn);
  if (mapped) yield* t.ops.rmap.unmapMappingFolio(t, pfn);
}

export const truncateWillyMappedFirst: Variant = {
  name: 'truncate-willy-mapped-first',
  kind: 'map-pages',
  summary: "self-test: willy-uptodate's truncate side reading page_mapped() before clearing PG_uptodate (the missing barrier)",
  source: 'mutant of willy-uptodate (kernel-protocols §1.9)',
  expected: ['DEL-LOCKED', 'MAP-CACHE'],
  reasoning: 'without clear-then-check the truncator can miss the mapper and the mapper miss the truncation: a PTE outlives the page in the cache',
  hidden: true,
  ops: () => ({
    vmOps: { mapPages: willyMapPages },
    truncate: { truncateCleanupFolio: truncateCleanupFolioMappedFirst },
    pagecache: { filemapRemoveFolio: filemapRemoveFolioRelaxed },
  }),
};
