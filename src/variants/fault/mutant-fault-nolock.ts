// Self-test mutant `--fault-path fault-nolock` (hidden). THE BUG: the ->fault handler drops the
// page lock before returning but still says VM_FAULT_LOCKED (filemap_fault() with an early
// unlock_page()). The fault path is otherwise mainline's. MUST TRIP: FAULT-LOCKED, at
// __do_fault()'s VM_BUG_ON_PAGE(!PageLocked(vmf->page)) — the hand-over assertion, not some later
// consequence (the caller's unlock_page of a page it does not hold would be LOCK-UNLOCK).
//
// As a table: vmOps.fault only, wrapping the ->fault it is composed over; __do_fault() and the
// do_*_fault() handlers are mainline's (src/mm/memory.ts), so every fault that finds or reads a page
// reaches the hand-over check.
import { VM_FAULT_LOCKED, type FaultResult, type VmFault } from '../../kernel/fault.ts';
import type { KernelOps, VmOps, Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

/** ->fault with an early unlock_page(), over the ->fault of `base`. */
function filemapFaultEarlyUnlock(base: KernelOps): VmOps['fault'] {
  const fault = base.vmOps.fault;
  return function* faultEarlyUnlock(t: Task, vmf: VmFault): Step<FaultResult> {
    const r = yield* fault(t, vmf);
    if (r.ret & VM_FAULT_LOCKED) yield* t.ops.lock.unlockPage(t, r.pfn); // BUG (deliberate): still returns VM_FAULT_LOCKED
    return r;
  };
}

export const faultNolock: Variant = {
  name: 'fault-nolock',
  kind: 'fault-path',
  summary: 'self-test: ->fault returns VM_FAULT_LOCKED with the page already unlocked',
  source: 'mutant of mm/memory.c __do_fault() contract (VM_BUG_ON_PAGE(!PageLocked) with VM_FAULT_LOCKED)',
  expected: ['FAULT-LOCKED'],
  reasoning: 'every fault that finds or reads a page hands it over unlocked while claiming VM_FAULT_LOCKED: the assertion at the '
    + 'hand-over must fire on the first such fault',
  hidden: true,
  ops: (base) => ({ vmOps: { fault: filemapFaultEarlyUnlock(base) } }),
};
