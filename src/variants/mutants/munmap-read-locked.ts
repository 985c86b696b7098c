// Self-test mutant `--variant munmap-read-locked` (hidden): mmap_region()'s munmap of the old range
// with the mmap_lock held only for reading while the VMA is still in the mm's VMA tree.
//
// The kernel's rule (6.6 mm/mmap.c): the page tables of a range are freed (free_pgtables()) only
// once no fault can walk them. mmap_region() keeps the mmap_lock for writing across
// do_vmi_munmap(..., unlock = false); munmap() may drop to the read side (mmap_write_downgrade() in
// do_vmi_align_munmap()) only after it detached the VMAs from the tree, so that a fault taking the
// lock for reading no longer finds them. Here the lock is taken for reading and the VMA stays
// findable: a fault runs in the range while its tables are zapped and freed.
//
// The bug: a fault that installed or found the table and took its PTL sets its PTE after
// unmap_vmas() passed that table, or after free_pte_range() cleared the PMD: the PTE outlives its
// table (PTE-TABLE, at do_set_pte() or when the table is freed with it), and the next pmd_install()
// there populates a fresh table over it, so its mapcount and reference belong to nothing
// (MAP-COUNT, REF-COUNT at the next quiescent check).
//
// Must trip: PTE-TABLE (MAP-COUNT and REF-COUNT follow). As a table: rmap.mmapRegion only.
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import { mmapReadLock, mmapReadUnlock, unmapRegion, vmaLink } from '../../mm/mmap.ts';
import type { Variant } from '../registry.ts';

function* mmapRegionReadLocked(t: Task, vma: number): Step {
  // BUG (deliberate): mmap_read_lock() where mmap_region() holds mmap_write_lock(), the VMA not detached
  yield* mmapReadLock(t, vma);
  yield* unmapRegion(t, vma);
  yield* vmaLink(t, vma);
  yield* mmapReadUnlock(t);
}

export const munmapReadLocked: Variant = {
  name: 'munmap-read-locked',
  kind: 'variant',
  summary: "self-test: mmap_region()'s munmap frees the page tables with the mmap_lock held for reading and the VMA still findable",
  source: 'mutant of mmap_region() / do_vmi_align_munmap() (6.6 mm/mmap.c: free_pgtables() only once no fault can walk the range)',
  expected: ['PTE-TABLE', 'MAP-COUNT', 'REF-COUNT'],
  reasoning: 'a fault in the VMA runs while unmap_region() zaps and frees its page tables: a PTE set after the zap passed its table, '
    + 'or after free_pte_range() cleared the PMD, lies in no installed table, and its mapcount and reference then belong to nothing',
  hidden: true,
  ops: () => ({ rmap: { mmapRegion: mmapRegionReadLocked } }),
};
