// --fault-path mainline: the fault paths as in 5.9 and, for what the seed thread touched, still in
// mainline (patches 1-3 were not merged in that form, kernel-protocols §0.2): __do_fault() ends
// with `if (!(ret & VM_FAULT_LOCKED)) lock_page(); else VM_BUG_ON_PAGE(!PageLocked)`, the COW
// source stays locked until after finish_fault(), do_shared_fault() unlocks for page_mkwrite.
import { doCowFault as mainlineCowFault, doReadFault as mainlineReadFault } from '../../mm/memory.ts';
import { filemapFault } from '../../mm/filemap.ts';
import { doSharedFault, type FaultPatches } from './paths.ts';
import type { FaultPathVariant } from './index.ts';

const P: FaultPatches = { patch1: false, patch2: false, patch3: false, fault: filemapFault };

export const mainline: FaultPathVariant = {
  name: 'mainline',
  summary: '5.9 / mainline fault paths: __do_fault() returns the page locked; the COW source is locked across the copy and finish_fault()',
  source: 'mm/memory.c (5.9): __do_fault, do_read_fault, do_cow_fault, do_shared_fault',
  expected: 'clean',
  reasoning: 'the shipped protocol: a file PTE (and a COW copy of a file page) is installed only under the page lock, after the '
    + 'mapping and i_size were checked under it, which is what truncation relies on (kernel-protocols §4.3)',
  doReadFault: (t, vmf) => mainlineReadFault(t, vmf),
  doCowFault: (t, vmf) => mainlineCowFault(t, vmf),
  doSharedFault: (t, vmf) => doSharedFault(t, vmf, P),
};
