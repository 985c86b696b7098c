// Self-test mutant: __remove_mapping() without the dirty re-check after folio_ref_freeze(). Its
// comment draws the race this lets through: "get_user_pages(&page); [user mapping goes away]
// write_to(page); !PageDirty(page) [good] SetPageDirty(page); put_page(page); !page_count(page)
// [good, discard it]": a pin's owner dirties the page after reclaim tested PG_dirty and drops its
// reference before reclaim freezes the count, and the data it wrote is freed unwritten.
//
// Must trip: RECLAIM-DIRTY (shrink_folio_list(): the page freed is dirty). Run it with --variant
// reclaim-nodirty-recheck. As a table: reclaim.removeMapping only.
import { spinLock, spinUnlock } from '../../locks/spinlock.ts';
import { pageRefFreeze } from '../../shm/page.ts';
import { RECLAIM_FREEZE_REFS } from '../../mm/vmscan.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import type { Variant } from '../registry.ts';

function* removeMappingNoRecheck(t: Task, pfn: number, file: number): Step<boolean> {
  const shm = t.shm;
  t.page = pfn;
  yield 'i_lock';
  yield* spinLock(t, shm.iPagesLock, file, 'xa_lock_irq');
  yield 'page_ref_freeze';
  if (!pageRefFreeze(shm, pfn, RECLAIM_FREEZE_REFS)) {
    spinUnlock(shm.iPagesLock, file);
    return false;
  }
  // BUG: no "if (unlikely(folio_test_dirty(folio))) { folio_ref_unfreeze(); goto cannot_free; }"
  t.ops.pagecache.pageCacheDelete(t, pfn, file);
  spinUnlock(shm.iPagesLock, file);
  return true;
}

export const reclaimNoDirtyRecheck: Variant = {
  name: 'reclaim-nodirty-recheck',
  kind: 'variant',
  summary: 'self-test: __remove_mapping() frees a page dirtied after reclaim tested it (no re-check after the refcount freeze)',
  source: "mutant of __remove_mapping() (mm/vmscan.c, v6.6), the race in its comment",
  expected: ['RECLAIM-DIRTY'],
  reasoning: "a get_user_pages() pin's owner dirties the page between reclaim's dirty test and its refcount freeze and drops the pin: the freeze succeeds and the dirty page is freed",
  hidden: true,
  ops: () => ({ reclaim: { removeMapping: removeMappingNoRecheck } }),
};
