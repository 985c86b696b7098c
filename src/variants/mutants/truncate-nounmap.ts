// Self-test mutant: a truncate that deletes a page from the page cache without unmapping it when
// it is mapped (truncate_cleanup_folio()'s "if (folio_mapped(folio)) unmap_mapping_folio(folio)"
// left out). The mappers are mainline's.
//
// The bug: truncate_pagecache()'s first unmap_mapping_range() runs before the page locks are
// taken, so a faulter that held the page lock (and read the old i_size) can install its PTE after
// that unmap passed by. truncate_cleanup_folio() is what catches that PTE (kernel-protocols §4.2,
// §4.3 case A); without it the page leaves the cache still mapped, and the PTE maps a page the
// cache no longer has, beyond EOF, until the second unmap_mapping_range() zaps it.
//
// Must trip: DEL-LOCKED (filemap_unaccount_folio()'s "still mapped when deleted", the model's
// pageCacheDelete() assertion), or MAP-CACHE if a zap or a check sees the PTE first. Run it with
// --map-pages truncate-nounmap. As a table: truncate.truncateCleanupFolio only; truncate_inode_folio()
// still calls filemap_remove_folio() and drops the page cache's reference after it.
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

function* truncateCleanupFolioNoUnmap(): Step {
  // BUG: no "if (folio_mapped(folio)) unmap_mapping_folio(folio);"
}

export const truncateNoUnmap: Variant = {
  name: 'truncate-nounmap',
  kind: 'map-pages',
  summary: 'self-test: truncate deletes a mapped page from the page cache without unmapping it',
  source: 'mutant of truncate_cleanup_folio() (kernel-protocols §4.2)',
  expected: ['DEL-LOCKED', 'MAP-CACHE'],
  reasoning: 'a PTE installed after the first unmap_mapping_range() survives truncate_cleanup_folio(): the page leaves the cache still mapped',
  hidden: true,
  ops: () => ({ truncate: { truncateCleanupFolio: truncateCleanupFolioNoUnmap } }),
};
