// --fault-path patch1-2: patches 1 and 2/4 "mm: don't lock the page, only to immediately unlock it
// again for do_page_mkwrite()". do_shared_fault() unlocks only what ->fault returned locked, and
// after do_page_mkwrite() locks only if that did not ("Did do_page_mkwrite() lock the page again?").
import { __doFaultPatch1, doCowFault, doReadFault, doSharedFault, type FaultPatches } from './paths.ts';
import type { FaultPathVariant } from './variant.ts';

const P: FaultPatches = { patch1: true, patch2: true, patch3: false };

export const patch1to2: FaultPathVariant = {
  name: 'patch1-2',
  summary: 'patches 1-2: do_shared_fault() no longer locks the page only to unlock it for page_mkwrite',
  source: 'Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com (0002-mm-don-t-lock-the-page-only-to-immediately-unlock-it.patch)',
  expected: 'clean',
  reasoning: 'page_mkwrite (filemap_page_mkwrite) takes the lock itself and re-checks page->mapping under it before dirtying; '
    + 'finish_fault() still runs under that lock, so the shared PTE is installed exactly as before. The lock/unlock pair it '
    + 'removes protected nothing (filemap_fault already returns the page locked; the unlock follows at once)',
  doReadFault: (t, vmf) => doReadFault(t, vmf, P),
  doCowFault: (t, vmf) => doCowFault(t, vmf, P),
  doSharedFault: (t, vmf) => doSharedFault(t, vmf, P),
  __doFault: __doFaultPatch1,
};
