// Linus's lockless map_pages (14 Oct 2020, Msg-ID
// CAHk-=wjXBv0ZKqH4muuo2j4bH2km=7wedrEeQJxY6g2JcdOZSQ@mail.gmail.com; kernel-protocols §1.4, §1.8),
// proposed after Kirill showed patch 4 racing truncation. Verbatim:
//    - lock the page tables
//    - check that the page isn't locked
//    - increment the page mapcount (atomic and ordered)
//    - check that the page still isn't locked
//    - insert pte
// and, from the cover letter (Msg-ID CAHk-=wgkD+sVx3cHAAzhVO5orgksY=7i8q6mbzwBjN0+4XTAUw), "re-checking
// that the page still isn't locked and the mapping is still valid, and reachable in the xarray".
// No trylock_page() at all, for shared and private mappings alike (the model has no compound
// pages, which Linus would have kept locking). The unlocked checks of the lookup (mapping,
// uptodate, i_size) stay, as in patch 4: racy, but the handshake is what has to hold.
//
// Why it should be safe (the Dekker handshake of §1.8): every remover (truncate, reclaim) locks
// the page, then looks at page_mapped(), and unmaps — which needs this PTL — before deleting. So
// either the remover sees our increment and zaps our PTE after we drop the PTL, or our re-check
// sees PG_locked (or the page already gone from the xarray) and we back out. JS Atomics are
// sequentially consistent, so the full barriers Linus asked for are implied; a weak-ordering bug
// would have to be modelled as a reordering of these steps.
//
// The truncate side is mainline's except for the delete assertion: see lockless.ts for why
// DEL-LOCKED's mapcount test becomes "no PTE maps it" (the mapcount is transiently up during the
// back-out window). As a table: vmOps.mapPages and pagecache.filemapRemoveFolio (the relaxed
// one); truncate_inode_folio() and truncate_cleanup_folio() stay mainline's. Reclaim is unchanged: our lookup reference makes its page_ref_freeze() fail,
// which is what Linus pointed at as its real guard (Msg-ID
// CAHk-=wgNooZpC8G4=0dB-OBT5PYuv9d=sqzUXS9Ea_acjrAi_A@mail.gmail.com).
//
// Expected: 'open'. Nobody proved it either way in the thread; Kirill's remaining objection
// (try_to_unmap()'s rwc->done() early exit, Msg-ID 20201015094344.pmvg2jxrb2bsoanr@box) concerns an
// rmap walker the model does not have (its try_to_unmap walks every VMA, and reclaim freezes the
// refcount), and Linus answered it. docs/proposals.md records what the tool showed.
import { putPage } from '../../mm/page_alloc.ts';
import { xaLoad } from '../../shm/files.ts';
import { mkPte, pteNone, pteRead, pteWrite } from '../../shm/mm.ts';
import { PageLocked, folioPage } from '../../shm/page.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';
import { backOut, filemapRemoveFolioRelaxed, nextPageNoLock } from './lockless.ts';
import { mapPagesRange } from './range.ts';

/** The per-page step, PTL held, page referenced and not locked. */
export function* linusSetPte(t: Task, vmf: VmFault, page: NextPage): Step<boolean> {
  const shm = t.shm, { pfn, index } = page, file = vmf.file;
  const sub = folioPage(shm, pfn, index); // the folio's page at this index (the folio itself when order 0)
  yield 'pte_none';
  if (!pteNone(pteRead(shm, vmf.vma, index))) {
    yield* putPage(t, pfn);
    return false;
  }
  // "check that the page isn't locked"
  yield 'PageLocked';
  if (PageLocked(shm, pfn)) {
    t.stat('skippedLocked');
    yield* putPage(t, pfn);
    return false;
  }
  // "increment the page mapcount (atomic and ordered)"
  yield* t.ops.rmap.pageAddRmap(t, sub);
  // "check that the page still isn't locked", the mapping still valid, reachable in the xarray
  yield 'PageLocked';
  if (PageLocked(shm, pfn)) return yield* backOut(t, sub);
  yield 'page->mapping';
  if (Atomics.load(shm.mapping, pfn) !== file + 1) return yield* backOut(t, sub);
  yield 'xas_reload';
  if (xaLoad(shm, file, index) !== pfn) return yield* backOut(t, sub);
  // "insert pte": the lookup reference passes to the PTE
  yield 'set_pte_at';
  pteWrite(shm, vmf.vma, index, mkPte(sub));
  t.stat('mapped');
  return true;
}

export function linusMapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  return mapPagesRange(t, vmf, start, end, linusSetPte, nextPageNoLock);
}

export const linusRecheck: Variant = {
  name: 'linus-recheck',
  kind: 'map-pages',
  summary: "Linus's proposal (14 Oct 2020): no page lock; under the PTL check !locked, mapcount++, re-check !locked and still in the xarray, else back out",
  source: 'Msg-ID CAHk-=wjXBv0ZKqH4muuo2j4bH2km=7wedrEeQJxY6g2JcdOZSQ@mail.gmail.com (kernel-protocols §1.4, §1.8); never merged',
  expected: 'open',
  reasoning: 'never merged and never proved: a Dekker handshake on PG_locked and the mapcount that should close the patch-4 race; the truncate side deletes with the relaxed "no PTE maps it" assertion because the mapcount is transiently up in the back-out window (docs/proposals.md)',
  ops: () => ({ vmOps: { mapPages: linusMapPages }, pagecache: { filemapRemoveFolio: filemapRemoveFolioRelaxed } }),
};
