// Writable huge PMDs (writeback --pmd on, 6.6): the self-test mutant, registered hidden (--variant
// NAME accepts it), and its matrix cell (PMD_MKCLEAN_CELLS, registered by src/matrix), with the
// free-mode roles the writeback PMD cells share (WB_PMD_FREE_ROLES).
//
// pmd-mkclean-skip: page_mkclean() walks only PTEs: page_vma_mkclean_one()'s PMD branch ("if
// (!pmd_dirty(*pmd) && !pmd_write(*pmd)) continue; ... pmd_wrprotect(pmd_mkclean(entry))") is gone,
// as in a page_mkclean() that predates file THPs. A shared write fault maps a PMD-sized folio by a
// writable, dirty PMD (do_set_pmd()); writeback then clears the folio's PG_dirty for I/O with the
// PMD still writable, so the next store goes through without a fault and the folio stays clean:
// data written after the writeback that no writeback will know of (until a split hands the PMD's
// dirty bit over). Caught where writeback clears PG_dirty (WB-MKCLEAN).
import { registerVariant, type Variant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';

// eslint-disable-next-line require-yield
function* pageVmaMkcleanPmdSkip(_t: Task, _vma: number, _index: number, _pfn: number): Step<number> {
  return 0; // BUG (deliberate): a huge PMD is left writable and dirty
}

export const pmdMkcleanSkip: Variant = {
  name: 'pmd-mkclean-skip',
  kind: 'variant',
  summary: 'self-test: page_mkclean() skips huge PMDs (no pmd_wrprotect(pmd_mkclean()) under the PMD lock; --pmd on)',
  source: 'mutant of page_vma_mkclean_one() (6.6 mm/rmap.c, the PMD branch)',
  expected: ['WB-MKCLEAN'],
  reasoning: 'a writable, dirty PMD that a shared write fault mapped survives folio_clear_dirty_for_io(): writeback clears the '
    + 'folio\'s PG_dirty while a PMD still maps it writable, and later stores through it dirty nothing',
  hidden: true,
  ops: () => ({ writeback: { pageVmaMkcleanPmd: pageVmaMkcleanPmdSkip } }),
};

registerVariant(pmdMkcleanSkip);

/**
 * Free mode for writeback --pmd on: the default four actors, and an unmapper with the mixed actor.
 * A PMD range keeps the first table a fault installs there (6.6 frees a table only in
 * free_pgtables(): munmap; and collapses no regular file open for write), so without the unmapper a
 * free run maps PMDs only in its first operations, if at all (10 s, seed 1: 0 PMD mappings); its
 * mmap(MAP_FIXED) of a VMA over itself frees the tables, and the next fault at a PMD-sized folio's
 * head maps it by the PMD again (10 s, seed 1: some hundreds, half of them writable). Controlled mode
 * starts every iteration without tables and keeps the default mix. The clean cells
 * writeback/folios-pmd=<lock> run the same roles (src/variants/folio/large.ts).
 */
export const WB_PMD_FREE_ROLES = 'writer,truncator,writeback,faulter+reader+zapper+reclaimer+fsync+pinner+unmapper';
/** The default mix of four actors (writebackDefaultRoles(4)), spelled out: the cell's free roles would
 * otherwise reach controlled mode too, and an empty --roles is no value. */
export const WB_PMD_CONTROLLED_ROLES = 'writer,truncator,writeback,faulter+reader+zapper+reclaimer+fsync+pinner';

export const PMD_MKCLEAN_CELLS: readonly CellSpec[] = [
  {
    name: 'writeback/pmd-mkclean-skip', scenario: 'writeback',
    cfg: { workers: 4, variants: ['folio-eof-clamp', 'folio-mkwrite-eof', 'pmd-mkclean-skip'], extra: { pmd: 'on', roles: WB_PMD_FREE_ROLES } },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random', extra: { roles: WB_PMD_CONTROLLED_ROLES } },
    expected: { breaks: pmdMkcleanSkip.expected as readonly InvariantId[] }, hidden: true,
    reasoning: pmdMkcleanSkip.reasoning!, source: 'src/variants/mutants/pmd-mkclean-mutants.ts',
  },
];
