// Checks of the mm model valid at any instant, run while the actors race. Each looks for a state
// no legal interleaving of mainline paths can show even transiently, and reads what it relies on
// twice around the check (the PTE or slot word and the page's allocation generation), so a page
// that was unmapped, freed and reused under the scan is not reported. The caller still
// re-validates (runs the check again) before it reports.
//
// Why these hold at every instant on mainline:
//  - counts: _mapcount >= -1 and _refcount >= 0 always;
//  - a PTE or a page-cache slot is cleared before the reference it held is dropped, so neither
//    ever points at a free page;
//  - a page leaves the page cache only when unmapped, under its lock, and a file PTE is installed
//    only under the page lock with page->mapping re-checked: a file PTE always maps the page the
//    page cache holds at that file and index;
//  - a migration entry exists only while its migrator holds the old page's reference and lock
//    (MIGRATE-ENTRY): it names a page that is neither free nor unlocked.
import type { Finding } from '../kernel/scenario.ts';
import { hugePmdPfn, isMigrationEntry, isPmdMigrationEntry, mkMigrationEntry, pmdMigrationPfn, pmdTransHuge, ptePfn, pteAnon, ptlsPerVma, vmaCount } from '../shm/mm.ts';
import { migrationEntryProblem } from '../mm/migrate.ts';
import { describePage, entireMapcount } from '../shm/page.ts';
import { xaLoadPage } from '../shm/files.ts';
import { NIL, PG_free, type Shm } from '../shm/shm.ts';

export const MAX_LIVE_FINDINGS = 32;

export function liveCheck(shm: Shm): Finding[] {
  const out: Finding[] = [];
  const P = shm.sizes.pages;
  const full = () => out.length >= MAX_LIVE_FINDINGS;

  for (let pfn = 0; pfn < P && !full(); pfn++) {
    const mc = Atomics.load(shm.mapcount, pfn), ref = Atomics.load(shm.refcount, pfn);
    if (mc < -1) out.push({ id: 'MAP-COUNT', page: pfn, message: `negative mapcount ${mc}: ${describePage(shm, pfn)}`, values: [mc] });
    if (ref < 0) out.push({ id: 'REF-COUNT', page: pfn, message: `negative refcount ${ref}: ${describePage(shm, pfn)}`, values: [ref] });
    if (shm.compound[pfn] > 0 && entireMapcount(shm, pfn) < -1)
      out.push({ id: 'MAP-COUNT', page: pfn, message: `negative _entire_mapcount ${entireMapcount(shm, pfn)}: ${describePage(shm, pfn)}`, values: [entireMapcount(shm, pfn)] });
  }

  // huge PMDs (--pmd on): like a file PTE, a PMD maps the page cache's folio at its range
  const perVmaPtls = ptlsPerVma(shm);
  for (let slot = 0; slot < shm.pmd.length && !full(); slot++) {
    const pmd = Atomics.load(shm.pmd, slot);
    if (isPmdMigrationEntry(pmd)) {
      // MIGRATE-ENTRY as at a PTE (src/mm/migrate.ts): the folio it names is allocated and locked
      const vma = Math.floor(slot / perVmaPtls), start = shm.vmaPgoff[vma] + (slot % perVmaPtls) * shm.sizes.ptesPerPtl;
      const problem = migrationEntryProblem(shm, mkMigrationEntry(pmdMigrationPfn(pmd)));
      if (problem !== null && Atomics.load(shm.pmd, slot) === pmd)
        out.push({
          id: 'MIGRATE-ENTRY', page: pmdMigrationPfn(pmd), values: [shm.vmaFile[vma], start, vma],
          message: `PMD migration entry at vma ${vma} (file ${shm.vmaFile[vma]}) index ${start} ${problem}: ${describePage(shm, pmdMigrationPfn(pmd))}`,
        });
      continue;
    }
    if (!pmdTransHuge(pmd)) continue;
    const head = hugePmdPfn(pmd), vma = Math.floor(slot / perVmaPtls), file = shm.vmaFile[vma];
    if (head >= P) continue;
    const start = shm.vmaPgoff[vma] + (slot % perVmaPtls) * shm.sizes.ptesPerPtl;
    const gen = Atomics.load(shm.stampGen, head);
    const free = (Atomics.load(shm.flags, head) & PG_free) !== 0;
    const mapping = Atomics.load(shm.mapping, head), pindex = Atomics.load(shm.index, head);
    const cached = xaLoadPage(shm, file, start);
    if (Atomics.load(shm.stampGen, head) !== gen || Atomics.load(shm.pmd, slot) !== pmd) continue;
    const at = `vma ${vma} (file ${file}) index ${start}`;
    if (free) out.push({ id: 'FREE-BAD', page: head, message: `huge PMD at ${at} maps a free page: ${describePage(shm, head)}`, values: [vma, start] });
    else if (mapping !== file + 1 || pindex !== start || cached !== head)
      out.push({
        id: 'MAP-CACHE', page: head, values: [vma, start, cached],
        message: `huge PMD at ${at} maps a folio that is not the page cache's there (slot: ${cached === NIL ? 'empty' : `page ${cached}`}): ${describePage(shm, head)}`,
      });
  }

  const perVma = shm.sizes.ptesPerVma, ppf = shm.sizes.pagesPerFile;
  for (let vma = 0, nv = vmaCount(shm); vma < nv && !full(); vma++) {
    const file = shm.vmaFile[vma], pgoff = shm.vmaPgoff[vma], len = shm.vmaLen[vma];
    for (let i = 0; i < len && !full(); i++) {
      const slot = vma * perVma + i, index = pgoff + i;
      const pte = Atomics.load(shm.ptes, slot);
      if (pte === 0) continue;
      if (isMigrationEntry(pte)) {
        // holds no reference: nothing to compare with the page cache; the entry itself is judged
        const problem = migrationEntryProblem(shm, pte);
        if (problem !== null && Atomics.load(shm.ptes, slot) === pte)
          out.push({
            id: 'MIGRATE-ENTRY', page: ptePfn(pte), values: [file, index, vma],
            message: `migration entry at vma ${vma} (file ${file}) index ${index} ${problem}: ${describePage(shm, ptePfn(pte))}`,
          });
        continue;
      }
      const pfn = ptePfn(pte);
      if (pfn < 0 || pfn >= P) continue;
      const gen = Atomics.load(shm.stampGen, pfn);
      const free = (Atomics.load(shm.flags, pfn) & PG_free) !== 0;
      const mapping = Atomics.load(shm.mapping, pfn), pindex = Atomics.load(shm.index, pfn);
      const cached = xaLoadPage(shm, file, index); // the page of the folio the slot holds
      if (Atomics.load(shm.stampGen, pfn) !== gen || Atomics.load(shm.ptes, slot) !== pte) continue;
      const at = `vma ${vma} (file ${file}, ${shm.vmaFlags[vma] & 1 ? 'shared' : 'private'}) index ${index}`;
      if (free) out.push({ id: 'FREE-BAD', page: pfn, message: `PTE at ${at} maps a free page: ${describePage(shm, pfn)}`, values: [vma, index] });
      else if (!pteAnon(pte) && (mapping !== file + 1 || pindex !== index || cached !== pfn))
        out.push({
          id: 'MAP-CACHE', page: pfn, values: [vma, index, cached],
          message: `PTE at ${at} maps a page that is not the page cache's page there (slot: ${cached === NIL ? 'empty' : `page ${cached}`}): ${describePage(shm, pfn)}`,
        });
    }
  }

  for (let s = 0, n = shm.sizes.files * ppf; s < n && !full(); s++) {
    const w = Atomics.load(shm.slots, s);
    if (w === 0) continue;
    const pfn = w - 1;
    if (pfn >= P) continue;
    const gen = Atomics.load(shm.stampGen, pfn);
    const free = (Atomics.load(shm.flags, pfn) & PG_free) !== 0;
    if (!free || Atomics.load(shm.stampGen, pfn) !== gen || Atomics.load(shm.slots, s) !== w) continue;
    out.push({
      id: 'FREE-BAD', page: pfn, values: [Math.floor(s / ppf), s % ppf],
      message: `page cache of file ${Math.floor(s / ppf)} index ${s % ppf} holds a free page: ${describePage(shm, pfn)}`,
    });
  }
  return out;
}
