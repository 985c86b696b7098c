// filemap_map_pages() as in 5.9/5.10, the code patch 4 modified (kernel-protocols §3.1): one loop
// over the range, the same per-page checks as later kernels (skip if locked, speculative ref,
// xas_reload, uptodate/readahead, trylock_page, mapping + uptodate, i_size), then
// alloc_set_pte(): the PTL is taken lazily, by pte_alloc_one_map() -> pte_offset_map_lock() on
// the first page that gets that far, and stays held for the rest of the range; "Re-check under
// ptl" pte_none, page_add_file_rmap(), set_pte_at(); unlock_page(), the speculative reference now
// owned by the PTE. map_pages returned nothing: do_fault_around() looked at the faulting PTE
// under the still-held PTL ("check if the page fault is solved") and released it.
//
// Against truncation this orders exactly as 5.12+ does — the page lock, not the PTL, serialises
// with the remover — so the expectation is the same as mainline's.
// Expected: 'clean' (shipped in 5.9/5.10; the truncation guarantee of §4.3 holds because every
// PTE is installed under the page lock after mapping and i_size were re-checked under it).
import { putPage } from '../../mm/page_alloc.ts';
import { mkPte, pteNone, pteRead, pteWrite, ptlSlot } from '../../shm/mm.ts';
import { pteUnlock } from '../../mm/pgtable.ts';
import { pteLock } from '../../mm/pgtable.ts';
import { VM_FAULT_NOPAGE, type VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import type { Variant } from '../registry.ts';

/** filemap_map_pages() + alloc_set_pte() of 5.9/5.10 (vmOps.mapPages); the pages come from the
 * configuration's next_uptodate_page(). */
export function* filemapMapPages59(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  const shm = t.shm, vma = vmf.vma, next = t.ops.vmOps.nextUptodatePage;
  if (end > start && ptlSlot(shm, vma, start) !== ptlSlot(shm, vma, end - 1))
    throw new Error(`filemapMapPages59: [${start}, ${end}) crosses a page table`);
  let ptl = -1; // vmf->pte == NULL until alloc_set_pte() maps the page table
  for (let page = yield* next(t, vmf, start, end); page; page = yield* next(t, vmf, page.index + 1, end)) {
    const { pfn, index } = page; // locked and referenced
    // alloc_set_pte()
    if (ptl < 0) ptl = yield* pteLock(t, vma, index); // pte_alloc_one_map(): taken once, kept
    t.page = pfn;
    t.aux = index;
    yield 'pte_none'; // "Re-check under ptl"
    if (!pteNone(pteRead(shm, vma, index))) {
      // VM_FAULT_NOPAGE -> goto unlock: unlock_page(); put_page()
      yield* t.ops.lock.unlockPage(t, pfn);
      yield* putPage(t, pfn);
      continue;
    }
    yield* t.ops.rmap.pageAddRmap(t, pfn);
    yield 'set_pte_at';
    pteWrite(shm, vma, index, mkPte(pfn));
    t.stat('mapped');
    yield* t.ops.lock.unlockPage(t, pfn);
  }
  if (ptl < 0) return 0; // "->map_pages() haven't done anything useful. Cold page cache?"
  // do_fault_around(): "check if the page fault is solved", then pte_unmap_unlock()
  t.page = -1;
  t.aux = vmf.index;
  const solved = vmf.index >= start && vmf.index < end && !pteNone(pteRead(shm, vma, vmf.index));
  pteUnlock(t, ptl);
  return solved ? VM_FAULT_NOPAGE : 0;
}

export const v5_9: Variant = {
  name: 'v5.9',
  kind: 'map-pages',
  summary: 'filemap_map_pages as in 5.9/5.10: trylock each page, alloc_set_pte takes the PTL on the first page mapped and keeps it',
  source: 'mm/filemap.c + mm/memory.c alloc_set_pte() of v5.9/v5.10 (kernel-protocols §3.1); replaced by f9ce0be71d1f in 5.12',
  expected: 'clean',
  reasoning: 'shipped in 5.9/5.10: every PTE is installed under the page lock after mapping and i_size were re-checked under it, so truncation either sees the PTE (page_mapped) or the mapper sees the truncation (kernel-protocols §4.3)',
  ops: () => ({ vmOps: { mapPages: filemapMapPages59 } }),
};
