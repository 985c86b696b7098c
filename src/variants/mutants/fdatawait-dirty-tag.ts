// Self-test mutant: __filemap_fdatawait_range() that looks pages up by the DIRTY tag instead of
// the WRITEBACK tag, so it waits only for pages that are under writeback and dirty again. A page
// written back is clean while its I/O is in flight (folio_clear_dirty_for_io() came first), and
// fsync's own write pass skips a clean page without waiting: fsync returns with that I/O still in
// flight.
//
// Must trip: WB-WAIT (the fsync op's check: an I/O in flight when the call began has not
// completed when it returns). Run it with --variant fdatawait-dirty-tag. As a table:
// writeback.filemapFdatawaitRange only.
import { putPage } from '../../mm/page_alloc.ts';
import { NIL, PG_dirty, PG_writeback } from '../../shm/shm.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import type { Variant } from '../registry.ts';

function* filemapFdatawaitRangeDirtyTag(t: Task, file: number, start: number, end: number): Step {
  for (let index = start; index < end; index++) {
    const pfn = yield* t.ops.pagecache.findGetPage(t, file, index);
    if (pfn === NIL) continue;
    t.page = pfn;
    t.aux = index;
    yield 'PAGECACHE_TAG_DIRTY'; // BUG: the WRITEBACK tag is the one to look up
    const flags = Atomics.load(t.shm.flags, pfn);
    if ((flags & PG_dirty) && (flags & PG_writeback)) yield* t.ops.lock.waitOnPageWriteback(t, pfn);
    yield* putPage(t, pfn);
  }
}

export const fdatawaitDirtyTag: Variant = {
  name: 'fdatawait-dirty-tag',
  kind: 'variant',
  summary: 'self-test: fsync waits only for pages under writeback that are dirty again (the DIRTY tag, not WRITEBACK)',
  source: 'mutant of __filemap_fdatawait_range() (mm/filemap.c, v6.6)',
  expected: ['WB-WAIT'],
  reasoning: 'a page whose I/O is in flight is clean, so neither fsync pass waits for it: fsync returns before that I/O completed',
  hidden: true,
  ops: () => ({ writeback: { filemapFdatawaitRange: filemapFdatawaitRangeDirtyTag } }),
};
