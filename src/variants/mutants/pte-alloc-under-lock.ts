// Self-test mutant `--variant pte-alloc-under-lock` (hidden): __do_fault() without the PTE-table
// preallocation of 63f3655f9501 ("mm, memcg: fix reclaim deadlock with writeback", v4.18), as
// before it: finish_fault() then meets a none PMD with no vmf->prealloc_pte and calls pte_alloc()
// with the faulted page locked.
//
// The bug, as that commit draws it: the allocation falls into direct reclaim, and reclaim waits
// for the writeback of another page (shrink_folio_list() Case 3, --reclaim-wait-writeback) while
// the task that started that writeback — write_cache_pages(), I/O of its batch in flight — waits
// for the page lock the faulter holds:
//
//                                   lock_page(A); SetPageWriteback(A); unlock_page(A)
//   lock_page(B)
//                                   lock_page(B)
//   pte_alloc_one -> shrink_folio_list -> wait_on_page_writeback(A)
//
// Must trip: LOCK-ORDER with --lockdep (a page lock held while waiting for the writeback of a page
// that comes before it: src/check/lockdep.ts rule 3b) as soon as such a wait starts, DEADLOCK when
// the writer is there to close the cycle. As a table: fault.__doFault only. do_fault_around()'s
// preallocation, which predates the commit, is kept: the read faults' fault-around installs their
// table; the write faults (do_shared_fault(), do_cow_fault()) do not fault around.
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import { VM_FAULT_ERROR, VM_FAULT_LOCKED, VM_FAULT_RETRY, type FaultResult, type VmFault } from '../../kernel/fault.ts';
import { vmFaultLockedCheck } from '../../mm/writeback.ts';
import type { Variant } from '../registry.ts';

function* __doFaultNoPrealloc(t: Task, vmf: VmFault): Step<FaultResult> {
  // BUG (deliberate): no "if (pmd_none(*vmf->pmd) && !vmf->prealloc_pte) vmf->prealloc_pte = pte_alloc_one()"
  const r = yield* t.ops.vmOps.fault(t, vmf);
  if (r.ret & (VM_FAULT_ERROR | VM_FAULT_RETRY)) return r;
  if (r.ret & VM_FAULT_LOCKED) vmFaultLockedCheck(t, r.pfn);
  else yield* t.ops.lock.lockPage(t, r.pfn);
  return { ret: r.ret | VM_FAULT_LOCKED, pfn: r.pfn };
}

export const pteAllocUnderLock: Variant = {
  name: 'pte-alloc-under-lock',
  kind: 'variant',
  summary: 'self-test: __do_fault() does not preallocate the PTE table, so finish_fault() allocates it under the page lock (before 63f3655f9501)',
  source: '63f3655f9501 "mm, memcg: fix reclaim deadlock with writeback" (v4.18); 6.6 mm/memory.c __do_fault(), finish_fault()',
  expected: ['LOCK-ORDER', 'DEADLOCK'],
  reasoning: "a write fault on a page table not yet allocated allocates it with the page locked; the allocator's direct reclaim waits "
    + 'for the writeback of a page whose writer, its batch in flight, waits for that page lock',
  hidden: true,
  ops: () => ({ fault: { __doFault: __doFaultNoPrealloc } }),
};
