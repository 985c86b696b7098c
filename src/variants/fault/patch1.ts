// --fault-path patch1: patch 1/4 "mm: move final page locking out of __do_fault() helper into
// callers". "This change only moves that final page locking out into the callers, but
// intentionally does not actually change any of the locking semantics" (the patch's message).
import { __doFaultPatch1, doCowFault, doReadFault, doSharedFault, type FaultPatches } from './paths.ts';
import type { FaultPathVariant } from './variant.ts';

const P: FaultPatches = { patch1: true, patch2: false, patch3: false };

export const patch1: FaultPathVariant = {
  name: 'patch1',
  summary: 'patch 1: the final lock_page() moves out of __do_fault() into do_read/cow/shared_fault()',
  source: 'Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com (0001-mm-move-final-page-locking-out-of-__do_fault-helper-.patch)',
  expected: 'clean',
  reasoning: 'a pure move: each caller locks (or asserts VM_FAULT_LOCKED) right where __do_fault() used to, before anything '
    + 'else touches the page, so every schedule of mainline has an equivalent one here',
  doReadFault: (t, vmf) => doReadFault(t, vmf, P),
  doCowFault: (t, vmf) => doCowFault(t, vmf, P),
  doSharedFault: (t, vmf) => doSharedFault(t, vmf, P),
  __doFault: __doFaultPatch1,
};
