// Self-test mutant of linus-recheck: the re-checks run before the mapcount increment — what a
// missing barrier between "increment the page mapcount" and "check that the page still isn't
// locked" amounts to (Linus: "need to make sure the memory ordering between testing the page lock
// initially, incrementing the count, and re-testing is ok", Msg-ID
// CAHk-=wjXBv0ZKqH4muuo2j4bH2km=7wedrEeQJxY6g2JcdOZSQ). JS Atomics are sequentially consistent, so the
// weak-ordering bug is modelled as this reordering of program steps (kernel-protocols §1.8).
//
// The bug: the handshake is gone. The truncator can lock the page and look at page_mapped() after
// our re-checks passed but before our increment, see it unmapped, and delete the page while we go
// on to set the PTE.
//
// Must trip: DEL-LOCKED (the relaxed delete assertion of linus-recheck: a PTE maps the page at
// deletion) or MAP-CACHE (the PTE maps a page the cache no longer has). This is what the
// relaxed assertion still catches: it shows linus-recheck's silence is not a blind checker.
// Run it with --map-pages map-linus-recheck-first.
import { putPage } from '../../mm/page_alloc.ts';
import { xaLoad } from '../../shm/files.ts';
import { mkPte, pteNone, pteRead, pteWrite } from '../../shm/mm.ts';
import { PageLocked } from '../../shm/page.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';
import { filemapRemoveFolioRelaxed, nextPageNoLock } from '../map-pages/lockless.ts';
import { mapPagesRange } from '../map-pages/range.ts';

function* linusSetPteRecheckFirst(t: Task, vmf: VmFault, page: NextPage): Step<boolean> {
  const shm = t.shm, { pfn, index } = page, file = vmf.file;
  yield 'pte_none';
  const ok = pteNone(pteRead(shm, vmf.vma, index));
  yield 'PageLocked';
  // BUG: the "re-check" is done before the increment is visible
  if (!ok || PageLocked(shm, pfn) || Atomics.load(shm.mapping, pfn) !== file + 1 || xaLoad(shm, file, index) !== pfn) {
    yield* putPage(t, pfn);
    return false;
  }
  yield* t.ops.rmap.pageAddRmap(t, pfn);
  yield 'set_pte_at';
  pteWrite(shm, vmf.vma, index, mkPte(pfn));
  t.stat('mapped');
  return true;
}

function linusMapPagesRecheckFirst(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  return mapPagesRange(t, vmf, start, end, linusSetPteRecheckFirst, nextPageNoLock);
}

/** linus-recheck's entries with this map_pages: its truncate side is linus-recheck's (the relaxed
 * filemap_remove_folio()). */
export const mapLinusRecheckFirst: Variant = {
  name: 'map-linus-recheck-first',
  kind: 'map-pages',
  summary: 'self-test: linus-recheck with the re-check before the mapcount increment (the missing barrier)',
  source: 'mutant of linus-recheck (kernel-protocols §1.8)',
  expected: ['DEL-LOCKED', 'MAP-CACHE'],
  reasoning: 'without the increment-then-recheck order the truncator can miss the mapper and the mapper miss the truncator: a PTE outlives the page in the cache',
  hidden: true,
  ops: () => ({ vmOps: { mapPages: linusMapPagesRecheckFirst }, pagecache: { filemapRemoveFolio: filemapRemoveFolioRelaxed } }),
};
