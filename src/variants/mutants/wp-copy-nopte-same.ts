// Self-test mutant `--variant wp-copy-nopte-same` (hidden): wp_page_copy() without "Re-check the
// pte - we dropped the lock".
//
// The bug: the copy is made without the PTL and without the page lock (mainline's
// __wp_page_copy_user()), so by the time the PTL is taken again the PTE may be gone — zapped by
// truncation's unmap_mapping_range() or by MADV_DONTNEED — or replaced by another fault's COW
// copy. Mainline installs the copy only if pte_same(); without the check it overwrites whatever
// is there and page_remove_rmap()s the old page a second time.
//
// Must trip: MAP-COUNT (the old page's mapcount dropped for a PTE that no longer mapped it; below
// -1 is the kernel's "Bad page map"), REF-COUNT (an overwritten COW copy is never freed), or
// MAP-EOF / FAULT-SIGBUS / DATA-STAMP (a copy installed after truncation's second unmap, at an
// index beyond EOF). As a table: fault.wpPageCopy only; do_wp_page() is mainline's.
import { allocPage, putPage } from '../../mm/page_alloc.ts';
import { pteLock, pteUnlock } from '../../mm/pgtable.ts';
import { mkPte, ptePfn, pteWrite } from '../../shm/mm.ts';
import { MAPPING_ANON, SetPageUptodate } from '../../shm/page.ts';
import { NIL, PTE_ANON, PTE_WRITE } from '../../shm/shm.ts';
import { VM_FAULT_OOM, type VmFault } from '../../kernel/fault.ts';
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

function* wpPageCopyNoPteSame(t: Task, vmf: VmFault, orig: number): Step<number> {
  const shm = t.shm, { vma, index } = vmf, old = ptePfn(orig);
  const cow = yield* allocPage(t);
  if (cow === NIL) {
    yield* putPage(t, old);
    return VM_FAULT_OOM;
  }
  t.page = old;
  yield '__wp_page_copy_user';
  shm.stampFile[cow] = shm.stampFile[old];
  shm.stampIndex[cow] = shm.stampIndex[old];
  SetPageUptodate(shm, cow);
  Atomics.store(shm.index, cow, index);
  Atomics.store(shm.mapping, cow, MAPPING_ANON);
  const ptl = yield* pteLock(t, vma, index);
  // BUG (deliberate): no "if (likely(vmf->pte && pte_same(ptep_get(vmf->pte), vmf->orig_pte)))"
  yield 'ptep_clear_flush';
  pteWrite(shm, vma, index, 0);
  yield* t.ops.rmap.pageAddRmap(t, cow);
  yield 'set_pte_at_notify';
  pteWrite(shm, vma, index, mkPte(cow, PTE_ANON | PTE_WRITE));
  yield* t.ops.rmap.pageRemoveRmap(t, old);
  pteUnlock(t, ptl);
  yield* putPage(t, old); // the old PTE's reference
  yield* putPage(t, old); // do_wp_page()'s folio_get()
  return 0;
}

export const wpCopyNoPteSame: Variant = {
  name: 'wp-copy-nopte-same',
  kind: 'variant',
  summary: 'self-test: wp_page_copy() installs its copy without re-checking the PTE under the PTL',
  source: 'mutant of wp_page_copy() (6.6 mm/memory.c: "Re-check the pte - we dropped the lock")',
  expected: ['MAP-COUNT', 'REF-COUNT', 'MAP-EOF', 'FAULT-SIGBUS', 'DATA-STAMP', 'MAP-CACHE', 'DEL-LOCKED'],
  reasoning: 'a COW of a PTE that a zap or truncation cleared while the copy was made overwrites the none PTE and drops the old '
    + "page's mapcount a second time (MAP-COUNT), or leaves a copy beyond EOF after truncation's unmaps (MAP-EOF)",
  hidden: true,
  ops: () => ({ fault: { wpPageCopy: wpPageCopyNoPteSame } }),
};
