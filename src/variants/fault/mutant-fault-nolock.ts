// Self-test mutant `--fault-path fault-nolock` (hidden). THE BUG: the ->fault handler drops the
// page lock before returning but still says VM_FAULT_LOCKED (filemap_fault() with an early
// unlock_page()). The fault path is otherwise mainline's. MUST TRIP: FAULT-LOCKED, at
// __do_fault()'s VM_BUG_ON_PAGE(!PageLocked(vmf->page)) — the hand-over assertion, not some later
// consequence (the caller's unlock_page of a page it does not hold would be LOCK-UNLOCK).
import { VM_FAULT_LOCKED, type FaultResult, type VmFault } from '../../kernel/fault.ts';
import { filemapFault } from '../../mm/filemap.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { doCowFault, doReadFault, doSharedFault, type FaultPatches } from './paths.ts';
import type { FaultPathVariant } from './variant.ts';

function* filemapFaultEarlyUnlock(t: Task, vmf: VmFault): Step<FaultResult> {
  const r = yield* filemapFault(t, vmf);
  if (r.ret & VM_FAULT_LOCKED) yield* t.ops.lock.unlockPage(t, r.pfn); // BUG (deliberate): still returns VM_FAULT_LOCKED
  return r;
}

const P: FaultPatches = { patch1: false, patch2: false, patch3: false, fault: filemapFaultEarlyUnlock };

export const faultNolock: FaultPathVariant = {
  name: 'fault-nolock',
  summary: 'self-test: ->fault returns VM_FAULT_LOCKED with the page already unlocked',
  source: 'mutant of mm/memory.c __do_fault() contract (VM_BUG_ON_PAGE(!PageLocked) with VM_FAULT_LOCKED)',
  expected: ['FAULT-LOCKED'],
  reasoning: 'every fault that finds or reads a page hands it over unlocked while claiming VM_FAULT_LOCKED: the assertion at the '
    + 'hand-over must fire on the first such fault',
  hidden: true,
  doReadFault: (t, vmf) => doReadFault(t, vmf, P),
  doCowFault: (t, vmf) => doCowFault(t, vmf, P),
  doSharedFault: (t, vmf) => doSharedFault(t, vmf, P),
};
