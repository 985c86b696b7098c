// The 5.12+ filemap_map_pages() loop (f9ce0be71d1f) with its two halves pluggable, for variants
// that change how a page is found or how its PTE is installed: find the first page before taking
// the PTL, take the PTL once for the whole range, then install each page the finder returns.
// The mainline loop itself is src/mm/filemap.ts filemapMapPages(); this is the same loop with the
// per-page step (do_set_pte() and what surrounds it) handed in. The finder is the configuration's
// next_uptodate_page() (vmOps.nextUptodatePage) unless the variant hands in its own.
import { ptlSlot } from '../../shm/mm.ts';
import { pteUnlock } from '../../mm/pgtable.ts';
import { pteOffsetMapLock } from '../../mm/pgtable.ts';
import { putPage } from '../../mm/page_alloc.ts';
import type { NextPageFn } from '../../mm/filemap.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import { VM_FAULT_NOPAGE } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';

/**
 * Install one page the finder returned, with the PTL for its PTE held. The step owns the page's
 * lookup reference (and its lock, if `page.locked`): it passes the reference to the PTE or drops
 * it, and unlocks. Returns true if it set the PTE.
 */
export type InstallFn = (t: Task, vmf: VmFault, page: NextPage) => Step<boolean>;

/** filemap_map_pages() over [start, end) (one page table) with the given finder and install
 * step. Returns VM_FAULT_NOPAGE if vmf.index got mapped. */
export function* mapPagesRange(
  t: Task, vmf: VmFault, start: number, end: number, install: InstallFn, next: NextPageFn = t.ops.vmOps.nextUptodatePage,
): Step<number> {
  const vma = vmf.vma;
  if (end > start && ptlSlot(t.shm, vma, start) !== ptlSlot(t.shm, vma, end - 1))
    throw new Error(`mapPagesRange: [${start}, ${end}) crosses a page table`);
  let ret = 0;
  let page: NextPage | null = yield* next(t, vmf, start, end);
  if (!page) return 0;
  const ptl = yield* pteOffsetMapLock(t, vma, start);
  if (ptl < 0) { // no PTE table (6.6 filemap_map_pages(): "if (!vmf->pte) { folio_unlock(); folio_put(); goto out; }")
    if (page.locked) yield* t.ops.lock.unlockPage(t, page.pfn);
    yield* putPage(t, page.pfn);
    return 0;
  }
  while (page) {
    t.page = page.pfn;
    t.aux = page.index;
    if ((yield* install(t, vmf, page)) && page.index === vmf.index) ret = VM_FAULT_NOPAGE;
    page = yield* next(t, vmf, page.index + 1, end);
  }
  pteUnlock(t, ptl);
  return ret;
}
