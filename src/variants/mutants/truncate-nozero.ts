// Self-test mutant `--variant truncate-nozero` (hidden): truncate_inode_partial_folio() that
// waits for writeback but does not zero the tail (folio_zero_range() left out).
//
// The bug: a truncation to a size inside a cached page leaves the old data beyond the new EOF in
// that page. It is still mapped (truncate_pagecache() unmaps from the next page on), so a load
// through a PTE sees it beyond EOF, and a later extension of the file would make it file data.
//
// Must trip: EOF-ZERO at the next read through a PTE of that page while no truncation is in
// flight. As a table: truncate.truncateInodePartialFolio only.
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { Variant } from '../registry.ts';

function* truncateInodePartialFolioNoZero(t: Task, pfn: number): Step {
  yield* t.ops.lock.waitOnPageWriteback(t, pfn);
  // BUG (deliberate): no folio_zero_range(folio, offset, length)
}

export const truncateNoZero: Variant = {
  name: 'truncate-nozero',
  kind: 'variant',
  summary: 'self-test: truncate leaves the old data beyond the new EOF in the last page (no folio_zero_range())',
  source: 'mutant of truncate_inode_partial_folio() (6.6 mm/truncate.c)',
  expected: ['EOF-ZERO'],
  reasoning: 'a truncation to a size inside a cached, mapped page leaves its tail as it was: the next read through a PTE of that '
    + 'page sees non-zero bytes beyond EOF',
  hidden: true,
  ops: () => ({ truncate: { truncateInodePartialFolio: truncateInodePartialFolioNoZero } }),
};
