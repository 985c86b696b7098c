// Self-test mutant `--variant fault-killed-locked` (hidden): lock_folio_maybe_drop_mmap() that
// ignores __folio_lock_killable()'s -EINTR and tells filemap_fault() the page is locked.
//
// The bug: a fatal signal ends the killable wait without the lock (mainline: "return 0", then
// out_retry and VM_FAULT_RETRY); here the fault goes on as if it held the page lock and hands the
// page to __do_fault() with VM_FAULT_LOCKED (or, having dropped the mmap lock, unlocks a page it
// does not hold). Needs FAULT_FLAG_KILLABLE (--killable-faults) and the 'killer' role.
//
// Must trip: FAULT-LOCKED at __do_fault()'s VM_BUG_ON_PAGE(!PageLocked) hand-over check, or
// LOCK-UNLOCK (unlock of a page another task holds, or nobody does). As a table:
// pagecache.lockFolioMaybeDropMmap only, wrapping the one it is composed over.
import type { VmFault } from '../../kernel/fault.ts';
import type { KernelOps, PageCacheOps, Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

function lockIgnoringEintr(base: KernelOps): PageCacheOps['lockFolioMaybeDropMmap'] {
  const lock = base.pagecache.lockFolioMaybeDropMmap;
  return function* lockFolioMaybeDropMmapNoEintr(t: Task, vmf: VmFault, pfn: number, fpin: boolean): Step<{ locked: boolean; fpin: boolean }> {
    const r = yield* lock(t, vmf, pfn, fpin);
    return { locked: true, fpin: r.fpin }; // BUG (deliberate): a killed wait did not take the lock
  };
}

export const faultKilledLocked: Variant = {
  name: 'fault-killed-locked',
  kind: 'variant',
  summary: "self-test: filemap_fault() goes on after a killed page-lock wait as if it held the lock",
  source: 'mutant of lock_folio_maybe_drop_mmap() (6.6 mm/filemap.c: __folio_lock_killable() -> out_retry)',
  expected: ['FAULT-LOCKED', 'LOCK-UNLOCK'],
  reasoning: 'a faulter killed while it waits for the page lock returns the page as VM_FAULT_LOCKED without holding it: the '
    + 'hand-over check fires (FAULT-LOCKED), or its unlock of a page it does not own does (LOCK-UNLOCK)',
  hidden: true,
  ops: (base) => ({ pagecache: { lockFolioMaybeDropMmap: lockIgnoringEintr(base) } }),
};
