// Self-test mutant: a mapper that skips the pte_none re-check under the PTL.
//
// The bug: the lookup ran without the PTL (for the first page) and another fault or fault-around
// may have installed a PTE at that index since — the same page, or a private COW copy. Mainline's
// "if (!pte_none(ptep_get(vmf->pte))) goto skip" (kernel-protocols §3.4 step 10, finish_fault()'s
// "Re-check under ptl") is what stops a second install. Without it set_pte_at() overwrites a
// present PTE: the old PTE's mapcount and page reference are never dropped (a COW copy leaks), or
// one page carries two mapcounts for one PTE.
//
// Must trip: MAP-COUNT (mapcount != PTEs mapping the page) or REF-COUNT (a reference no PTE or
// page-cache slot accounts for) at the next quiescent check, or — when a truncation gets to the
// page first, as it usually does in free mode — DEL-LOCKED: the leaked mapcount makes page_mapped()
// true with no PTE left to zap, so the page is deleted "still mapped". Run it with
// --map-pages map-nopte-recheck.
import { mkPte, pteWrite } from '../../shm/mm.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';
import { mapPagesRange } from '../map-pages/range.ts';

/** do_set_pte() without the pte_none re-check. */
function* doSetPteNoRecheck(t: Task, vmf: VmFault, page: NextPage): Step<boolean> {
  const { pfn, index } = page;
  // BUG: no "if (!pte_none(*vmf->pte)) goto unlock;"
  yield* t.ops.rmap.pageAddRmap(t, pfn);
  yield 'set_pte_at';
  pteWrite(t.shm, vmf.vma, index, mkPte(pfn));
  t.stat('mapped');
  yield* t.ops.lock.unlockPage(t, pfn);
  return true;
}

function mapPagesNoPteRecheck(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  return mapPagesRange(t, vmf, start, end, doSetPteNoRecheck);
}

export const mapNoPteRecheck: Variant = {
  name: 'map-nopte-recheck',
  kind: 'map-pages',
  summary: 'self-test: map_pages without the pte_none re-check under the PTL',
  source: 'mutant of filemap_map_pages() (kernel-protocols §3.4 step 10)',
  expected: ['MAP-COUNT', 'REF-COUNT', 'DEL-LOCKED'],
  reasoning: 'set_pte_at() overwrites a PTE another fault installed: its mapcount and reference are never dropped (a truncation then deletes a page whose mapcount says mapped: DEL-LOCKED)',
  hidden: true,
  ops: () => ({ vmOps: { mapPages: mapPagesNoPteRecheck } }),
};
