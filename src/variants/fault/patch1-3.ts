// --fault-path patch1-3: patches 1-3; 3/4 "mm: do_cow_fault() does not need the source page to be
// locked": the source page is unlocked right after the copy, before finish_fault() maps the copy.
//
// [derived] The copy itself does not need the lock, but the ORDER against truncation did: with the
// source locked until the COW PTE is set, truncate_inode_pages_range() cannot remove the source
// page (it needs that lock) until the copy is mapped, so truncate_pagecache()'s second
// unmap_mapping_range(even_cows = 1) — there "for correctness": "it is possible for private pages
// to be COWed, which remain after truncate_inode_pages finishes" (mm/truncate.c) — finds the copy
// and zaps it. With patch 3 the faulter (i_size checked under the lock in filemap_fault) can
// unlock, truncation can run to its end (i_size, both unmaps, page deleted), and only then does
// finish_fault() install the copy: a private PTE beyond EOF after truncate returned, so a load
// there reads old data instead of SIGBUS (MAP-EOF). Nobody raised it in the thread; Linus called
// the series' fault-path changes "pretty much theoretical" because filemap_fault() always
// returns the page locked, but the unlock in patch 3 happens before finish_fault() regardless.
import { __doFaultPatch1, doCowFault, doReadFault, doSharedFault, type FaultPatches } from './paths.ts';
import type { FaultPathVariant } from './variant.ts';

const P: FaultPatches = { patch1: true, patch2: true, patch3: true };

export const patch1to3: FaultPathVariant = {
  name: 'patch1-3',
  summary: 'patches 1-3: do_cow_fault() unlocks the source page after the copy, before finish_fault() maps the copy',
  source: 'Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com (0003-mm-do_cow_fault-does-not-need-the-source-page-to-be-.patch)',
  expected: ['MAP-EOF'],
  // free mode needs 8-26 s (seeds 1-3): a bigger share of the matrix budget than the default 3
  weight: 12,
  reasoning: '[derived] the source page lock ordered the COW PTE before truncation removed the source page, so truncation\'s '
    + 'second unmap_mapping_range(even_cows) zapped it; unlocked before finish_fault(), the copy can be mapped after truncate '
    + 'returned, beyond the new EOF (MAP-EOF: a load reads stale data instead of SIGBUS). See patch1-3.ts',
  doReadFault: (t, vmf) => doReadFault(t, vmf, P),
  doCowFault: (t, vmf) => doCowFault(t, vmf, P),
  doSharedFault: (t, vmf) => doSharedFault(t, vmf, P),
  __doFault: __doFaultPatch1,
};
