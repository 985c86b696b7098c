// 6.6 collapse_file() with large folios (src/mm/khugepaged.ts collapseFileFolio) in the matrix: its
// self-test mutant, registered hidden (--variant NAME accepts it), and the cells (COLLAPSE_FOLIO_CELLS,
// registered by src/matrix): the collapse scenario with --pmd on clean under every public lock, and
// the mutant with what it must trip.
//
// Mutant `collapse-unlock-before-retract`: the end of a successful collapse unlocks the new folio
// before retract_page_tables() instead of after. 6.6 retract_page_tables() clears the PMD and frees
// the PTE table without looking at its PTEs: "Huge page lock is still held, so normally the page
// table must remain empty". Unlocked, the new folio is in the page cache and uptodate, so a
// fault-around (filemap_map_pages() trylocks it) or a fault maps its pages into the table that is
// about to go: the PTEs are left under a none PMD (PTE-TABLE), with their mapcounts and references
// owned by no table (MAP-COUNT, REF-COUNT once the next fault installs a fresh table over them).
// As a table: collapse.collapseFinish only; it calls the same pieces in the other order.
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import type { InvariantId } from '../../kernel/invariants.ts';
import { collapseFreeOld, collapseReplace } from '../../mm/khugepaged.ts';
import { lockNames, otherInvariantsUnfairness } from '../../locks/index.ts';
import { registerVariant, type Variant } from '../registry.ts';

function* collapseFinishUnlockBeforeRetract(t: Task, file: number, start: number, hpage: number, pagelist: readonly number[]): Step {
  yield* collapseReplace(t, file, start, hpage);
  yield* t.ops.lock.unlockPage(t, hpage); // BUG (deliberate): folio_unlock() before retract_page_tables()
  yield* t.ops.collapse.retractPageTables(t, file, start);
  yield* collapseFreeOld(t, pagelist);
}

export const collapseUnlockBeforeRetract: Variant = {
  name: 'collapse-unlock-before-retract',
  kind: 'variant',
  summary: 'self-test: collapse_file() unlocks the new folio before retract_page_tables() frees the range\'s PTE tables',
  source: 'mutant of collapse_file() / retract_page_tables() (6.6 mm/khugepaged.c)',
  expected: ['PTE-TABLE', 'MAP-COUNT', 'REF-COUNT'],
  reasoning: 'retract_page_tables() frees the tables without looking at their PTEs because the new folio\'s lock keeps them empty; '
    + 'unlocked early, a fault-around maps the folio into a table that is then freed: PTEs under a none PMD, mapcounts and '
    + 'references no table owns',
  hidden: true,
  ops: () => ({ collapse: { collapseFinish: collapseFinishUnlockBeforeRetract } }),
};

registerVariant(collapseUnlockBeforeRetract);

/** The collapse scenario with large folios and PMDs: even files in order-0 pages (collapsed), odd
 * files in PMD-sized folios (handed to collapse_pte_mapped_thp()), shared and private VMAs. */
const FOLIOS = { pmd: 'on' } as const;
const FOLIOS_CONTROLLED = {
  workers: 3, opsPerActor: 4,
  extra: { roles: 'collapser,mapper+faulter,zapper+reader+reclaimer', files: 2, 'file-pages': 8, processes: 1, vmas: 4 },
} as const;
const SOURCE = '6.6 mm/khugepaged.c collapse_file(), retract_page_tables(), collapse_pte_mapped_thp(), madvise_collapse(); '
  + 'ac492b9c70ca "mm/khugepaged: maintain page cache uptodate flag"';

export const COLLAPSE_FOLIO_CELLS: readonly CellSpec[] = [
  ...lockNames().map((lock): CellSpec => ({
    name: `collapse/folios=${lock}`, scenario: 'collapse', cfg: { lock, ...otherInvariantsUnfairness(lock), extra: FOLIOS },
    controlled: FOLIOS_CONTROLLED, expected: 'clean', source: SOURCE,
    reasoning: 'collapse_file() holds every old page locked from before its unmap until the new folio has replaced it in the page '
      + 'cache and its mapping is NULL, so no lookup maps an old page again; the new folio stays locked until retract_page_tables() '
      + 'has freed the empty tables, and every mapper trylocks or locks the folio first',
  })),
  {
    name: 'collapse/collapse-unlock-before-retract', scenario: 'collapse', cfg: { variants: ['collapse-unlock-before-retract'], extra: FOLIOS },
    controlled: FOLIOS_CONTROLLED, expected: { breaks: collapseUnlockBeforeRetract.expected as readonly InvariantId[] }, hidden: true,
    source: collapseUnlockBeforeRetract.source, reasoning: collapseUnlockBeforeRetract.reasoning!,
  },
];
