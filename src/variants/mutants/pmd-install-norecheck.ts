// Self-test mutant `--variant pmd-install-norecheck` (hidden): pmd_install() that populates the PMD
// without taking pmd_lock() and re-checking pmd_none() ("Has another populated it ?").
//
// The bug: two faults that both found the PMD none and allocated a table both install theirs; the
// second replaces the first, with whatever PTEs were set in it meanwhile. Those PTEs are gone from
// the page tables but still hold their pages' mapcount and reference, and the first table's page is
// never freed.
//
// Must trip: MAP-COUNT and REF-COUNT (the quiescent check: a mapcount and a reference no PTE owns,
// a table page nobody refers to). As a table: fault.pmdInstall only.
import type { Task } from '../../kernel/task.ts';
import type { Step } from '../../kernel/step.ts';
import { pmdPopulate } from '../../mm/pgtable.ts';
import type { Variant } from '../registry.ts';

function* pmdInstallNoRecheck(t: Task, vma: number, index: number, pfn: number): Step<boolean> {
  t.page = pfn;
  t.aux = index;
  // BUG (deliberate): no pmd_lock(), no "if (likely(pmd_none(*pmd)))"
  yield 'pmd_populate';
  pmdPopulate(t.shm, vma, index, pfn);
  return true;
}

export const pmdInstallNoRecheckMutant: Variant = {
  name: 'pmd-install-norecheck',
  kind: 'variant',
  summary: 'self-test: pmd_install() populates the PMD without pmd_lock() and the pmd_none() re-check',
  source: 'mutant of pmd_install() (6.6 mm/memory.c)',
  expected: ['MAP-COUNT', 'REF-COUNT'],
  reasoning: 'two faults racing to allocate the same PTE table both install theirs: the second table replaces the first and the PTEs '
    + 'set in it, whose mapcounts and references no PTE owns any more; the first table page leaks',
  hidden: true,
  ops: () => ({ fault: { pmdInstall: pmdInstallNoRecheck } }),
};
