// filemap_map_pages() as in current mainline (folios; kernel-protocols §3.4, torvalds/linux
// mm/filemap.c @ b6273b55): next_uptodate_folio() returns the folio locked with the lookup
// reference; the PTL is taken once; filemap_map_order0_folio() re-checks pte_none, then
// set_pte_range() (folio_add_file_rmap_ptes(): mapcount, then set_ptes()) and folio_ref_inc():
// one new reference per PTE, added under the PTL while the folio is locked. The lookup reference
// is not handed to the PTE: filemap_map_pages() drops it with folio_put() after folio_unlock().
// The model has order-0 pages only, so a folio is one page.
//
// Expected: 'clean'. The PTE still appears only under the page lock after the §3.4 checks; the
// difference from 5.12 is only whose reference the PTE holds, and the refcount never drops to the
// PTE's alone while the folio is locked (the lookup reference is put after the unlock).
import { putPage } from '../../mm/page_alloc.ts';
import { mkPte, pteNone, pteRead, pteWrite } from '../../shm/mm.ts';
import { getPage } from '../../shm/page.ts';
import type { NextPage, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';
import { mapPagesRange } from './range.ts';

/** filemap_map_order0_folio(), then the loop's folio_unlock(); folio_put(). PTL held; the folio
 * is locked and referenced by next_uptodate_folio(). */
function* filemapMapOrder0Folio(t: Task, vmf: VmFault, page: NextPage): Step<boolean> {
  const shm = t.shm, { pfn, index } = page;
  let mapped = false;
  yield 'pte_none';
  if (pteNone(pteRead(shm, vmf.vma, index))) {
    // set_pte_range(): folio_add_file_rmap_ptes(), set_ptes()
    yield* t.ops.rmap.pageAddRmap(t, pfn);
    yield 'set_pte_at';
    pteWrite(shm, vmf.vma, index, mkPte(pfn));
    t.stat('mapped');
    yield 'folio_ref_inc'; // the PTE's own reference
    getPage(shm, pfn);
    mapped = true;
  }
  yield* t.ops.lock.unlockPage(t, pfn); // folio_unlock()
  yield* putPage(t, pfn); // folio_put(): the lookup reference
  return mapped;
}

/** filemap_map_pages() of current mainline (vmOps.mapPages). */
export function folioMapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  return mapPagesRange(t, vmf, start, end, filemapMapOrder0Folio);
}

export const folio: Variant = {
  name: 'folio',
  kind: 'map-pages',
  summary: 'filemap_map_pages as in current mainline: one folio reference per PTE added under the PTL, the lookup reference dropped after unlock',
  source: 'torvalds/linux mm/filemap.c @ b6273b55 filemap_map_order0_folio() / filemap_map_folio_range() (kernel-protocols §3.4)',
  expected: 'clean',
  reasoning: 'current mainline: the same page-lock serialisation as 5.12; only whose reference the PTE holds changes (one new reference per PTE, the lookup reference put after unlock)',
  ops: () => ({ vmOps: { mapPages: folioMapPages } }),
};
