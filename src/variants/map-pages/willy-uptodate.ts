// Willy's PG_uptodate handshake (Sept 2020, "Kernel Benchmarking" thread, Msg-ID
// 20200915033210.GA5449@casper.infradead.org; kernel-protocols §1.9). His patch let filemap_fault()
// return an uptodate page unlocked (VM_FAULT_UPTODATE) and made alloc_set_pte():
//     page_add_file_rmap(page); smp_mb__after_atomic();
//     if (FAULT_FLAG_UPTODATE_ONLY && !PageUptodate(page)) { page_remove_rmap(page); ...; return VM_FAULT_NOPAGE; }
//     set_pte_at(...)
// "truncate or invalidate2 may be trying to remove it at the same time. Both paths will check the
// page's mapcount after clearing the PageUptodate bit, so if we increment the mapcount here before
// checking the Uptodate bit, the page will be unmapped by the other thread." And on the other side
//     truncate_cleanup_page(): ClearPageUptodate(page); smp_mb__before_atomic();
//                              if (page_mapped(page)) unmap_mapping_pages(...);
// Here the handshake is applied to map_pages (the path the model's mappers run; his patch left
// map_pages' trylock alone): no trylock_page(), the PTE is installed under the PTL after
// mapcount++ and an uptodate re-check. The model's filemap_fault() keeps returning the page
// locked; only map_pages is lockless.
//
// What else relies on PG_uptodate in the model, and how it is handled:
//  - map_pages' own uptodate checks (lookup, and mainline's re-check under the lock): a page whose
//    bit truncation cleared is one being deleted, so "skip" is the right answer for it. The
//    lookup's check stays as a cheap filter; the re-check after mapcount++ is the handshake.
//  - filemap_fault(): it locks the page, checks page->mapping first ("Did it get truncated?") and
//    only then re-reads a !uptodate page. The bit is cleared only under the page lock by a
//    truncation that deletes the page before unlocking, so a faulter never finds an in-cache page
//    truncation has cleared: it finds mapping == NULL and retries.
//  - a page being created is in the cache locked and !uptodate until read: the mapper skips it,
//    or backs out if it raised the mapcount first — the same answer as mainline's.
//  - reclaim (__remove_mapping) does not clear PG_uptodate in Willy's patch: it is not needed,
//    since the mapper holds its lookup reference across the handshake and reclaim's
//    page_ref_freeze() fails on it (Linus, Msg-ID CAHk-=wgNooZpC8G4=0dB-OBT5PYuv9d=sqzUXS9Ea_acjrAi_A).
//    invalidate_inode_pages2 (Willy's other remover) is not in the model.
// The delete assertion is relaxed as lockless.ts explains (mapcount transiently up in the
// back-out window).
// As a table: vmOps.mapPages, truncate.truncateCleanupFolio (ClearPageUptodate, then the cleanup it
// wraps) and pagecache.filemapRemoveFolio (the relaxed one); truncate_inode_folio() stays mainline's.
//
// Expected: 'open' (not merged, not proved either way). docs/proposals.md records what the tool
// showed.
import { putPage } from '../../mm/page_alloc.ts';
import { mkPte, pteNone, pteRead, pteWrite } from '../../shm/mm.ts';
import { PageUptodate, folioPage } from '../../shm/page.ts';
import { PG_uptodate } from '../../shm/shm.ts';
import type { KernelOps, NextPage, TruncateOps, Task } from '../../kernel/task.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';
import { backOut, filemapRemoveFolioRelaxed, nextPageNoLock } from './lockless.ts';
import { mapPagesRange } from './range.ts';

/** alloc_set_pte() with FAULT_FLAG_UPTODATE_ONLY, PTL held, page referenced and not locked. */
export function* willySetPte(t: Task, vmf: VmFault, page: NextPage): Step<boolean> {
  const shm = t.shm, { pfn, index } = page;
  const sub = folioPage(shm, pfn, index); // the folio's page at this index (the folio itself when order 0)
  yield 'pte_none';
  if (!pteNone(pteRead(shm, vmf.vma, index))) {
    yield* putPage(t, pfn);
    return false;
  }
  yield* t.ops.rmap.pageAddRmap(t, sub); // then smp_mb__after_atomic()
  yield 'PageUptodate';
  if (!PageUptodate(shm, pfn)) return yield* backOut(t, sub);
  yield 'set_pte_at';
  pteWrite(shm, vmf.vma, index, mkPte(sub));
  t.stat('mapped');
  return true;
}

export function* clearPageUptodate(t: Task, pfn: number): Step {
  t.page = pfn;
  yield 'ClearPageUptodate';
  Atomics.and(t.shm.flags, pfn, ~PG_uptodate);
}

/** Willy's truncate_cleanup_page() over the one in `base`: ClearPageUptodate, then
 * (smp_mb__before_atomic) the cleanup it wraps — "if (page_mapped(page)) unmap" on mainline. */
export function willyTruncateCleanupFolio(base: KernelOps): TruncateOps['truncateCleanupFolio'] {
  const cleanup = base.truncate.truncateCleanupFolio;
  return function* truncateCleanupFolioWilly(t: Task, pfn: number): Step {
    yield* clearPageUptodate(t, pfn);
    yield* cleanup(t, pfn);
  };
}

export function willyMapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number> {
  return mapPagesRange(t, vmf, start, end, willySetPte, nextPageNoLock);
}

export const willyUptodate: Variant = {
  name: 'willy-uptodate',
  kind: 'map-pages',
  summary: "Willy's PG_uptodate handshake (Sept 2020): no page lock; mapcount++ then re-check uptodate, else back out; truncate clears uptodate, then unmaps if mapped",
  source: 'Msg-ID 20200915033210.GA5449@casper.infradead.org (kernel-protocols §1.9); never merged',
  expected: 'open',
  reasoning: 'never merged and never proved: the same handshake on PG_uptodate (truncate clears it, then checks page_mapped) with the relaxed delete assertion; reclaim is covered by the refcount freeze (docs/proposals.md)',
  ops: (base) => ({
    vmOps: { mapPages: willyMapPages },
    truncate: { truncateCleanupFolio: willyTruncateCleanupFolio(base) },
    pagecache: { filemapRemoveFolio: filemapRemoveFolioRelaxed },
  }),
};
