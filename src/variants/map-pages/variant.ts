// What a ->map_pages variant declares (the older, path-specific form of a Variant: src/variants/registry.ts;
// index.ts turns it into a partial table).
import type { InvariantId } from '../../kernel/invariants.ts';
import type { VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';

export interface MapPagesVariant {
  name: string;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** why that is the expected outcome, in a sentence or two (matrix cells, reports) */
  reasoning?: string;
  /** vma->vm_ops->map_pages over file indices [start, end), inside one page table. Returns
   * VM_FAULT_NOPAGE if vmf.index got mapped. */
  mapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number>;
  /** The truncate side of the protocol, if it differs from mainline: truncate_cleanup_folio() +
   * filemap_remove_folio() + dropping the page cache's reference, for a page `t` holds locked
   * that is still in `file` (mapPagesOps() installs it as truncate.truncateInodeFolio, after the
   * page->mapping re-check). A Variant can instead replace only the entries it changes
   * (truncate.truncateCleanupFolio, pagecache.filemapRemoveFolio), as the built-in ones do. */
  truncateFolio?(t: Task, pfn: number, file: number): Step;
  /** a self-test mutant or an experiment: accepted by --map-pages, not listed */
  hidden?: boolean;
}
