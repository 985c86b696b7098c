// Scenario `collapse`: khugepaged's collapse_file() (src/mm/khugepaged.ts, 5.9) racing
// filemap_map_pages (--map-pages), read and COW faults, zaps, reclaim and user reads over
// map-truncate's files and mappings (shared and private VMAs). No truncation in the default mix:
// the cells are about the invariant Hugh's run tripped under patch 4, "a locked page that was unmapped stays unmapped
// while locked" — collapse_file()'s VM_BUG_ON_PAGE(page_mapped(page)) (COLLAPSE-MAPPED).
//   collapser  collapse_file() over an aligned range of --collapse-pages pages of a file
//   mapper     filemap_map_pages() over a range of one page table of a VMA
//   faulter    a single access: read fault, or on a private VMA sometimes a COW fault
//   zapper     MADV_DONTNEED a range (so the collapser often finds pages mapped, and mappers
//              find PTEs to fill)
//   reader     user loads through the PTEs (DATA-STAMP)
//   reclaimer  shrink a few pages (ref freeze)
//   truncator  (never in the default mix) truncate_setsize() as map-truncate's: shrink, or back to
//              full; with large folios it splits or drops the collapsed folios
// With large folios (--max-folio-order at least the PMD order log2(--ptes-per-ptl), or --pmd on,
// which implies it) the collapser runs 6.6's collapse_file() instead (src/mm/khugepaged.ts
// collapseFileFolio): through a VMA, over the PMD-aligned, PMD-sized range of the file there, as
// khugepaged (then SCAN_PTE_MAPPED_HUGEPAGE hands over to collapse_pte_mapped_thp(install_pmd =
// false)) or MADV_COLLAPSE (madvise_collapse(): collapse_pte_mapped_thp(install_pmd = true) after a
// success too), half each. Even files start in order-0 pages (what khugepaged collapses), odd
// files in PMD-sized folios (already huge: the hand-over); readahead refills what reclaim takes.
// --collapse-pages is the order-0 protocol's range; the 6.6 range is HPAGE_PMD_NR = --ptes-per-ptl.
import type { Finding, Op, Scenario, ScenarioOption } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, type Rng } from '../kernel/rng.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { VM_SHARED, type Shm } from '../shm/shm.ts';
import { CTL, MAX_HELD } from '../shm/layout.ts';
import { ZAP_ALL, readThroughPtes } from '../mm/memory.ts';
import { quiescentCheck } from '../check/quiescent.ts';
import { liveCheck } from '../check/live.ts';
import { KILLABLE_NO_KILLER_HELP, MAP_TRUNCATE_OPTIONS, PMD_OPTION, READAHEAD_ORDER_OPTION, checkFolioFlags, checkMmSizes, initMapTruncate, mapTruncateScenario, mmSizes, mtConfig, pmdOrderOf, vmaLayout } from './map-truncate.ts';
import { collapsePteMappedThp, hpageCollapseScanFile } from '../mm/khugepaged.ts';
import { thpPmdEnabled, transhugeVmaSuitable } from '../mm/pgtable.ts';
import { vmaContains } from '../shm/mm.ts';
import { checkRoles, roleParts, rolesOf } from './roles.ts';
import { accessOp } from './writeback.ts';
import type { CellSpec } from '../kernel/cells.ts';

export const COLLAPSE_ROLES = ['collapser', 'mapper', 'faulter', 'zapper', 'reader', 'reclaimer', 'truncator'] as const;

export function collapseDefaultRoles(workers: number): string[] {
  switch (workers) {
    case 1: return ['collapser+mapper+faulter+zapper+reader+reclaimer'];
    case 2: return ['collapser', 'mapper+faulter+zapper'];
    case 3: return ['collapser', 'mapper', 'zapper+faulter+reader+reclaimer'];
  }
  const four = ['collapser', 'mapper', 'zapper', 'faulter+reader+reclaimer'];
  return Array.from({ length: workers }, (_, i) => four[i % 4]);
}

const roles = (cfg: RunConfig) => rolesOf(cfg, COLLAPSE_ROLES, collapseDefaultRoles);

export const COLLAPSE_OPTIONS: readonly ScenarioOption[] = [
  // --max-folio-order (at least the PMD order) or --pmd on: 6.6 collapse_file() over PMD-sized ranges
  ...MAP_TRUNCATE_OPTIONS.filter((o) => o.name !== 'roles').map((o) => (o.name === 'killable-faults' ? { ...o, help: KILLABLE_NO_KILLER_HELP } : o)),
  { name: 'collapse-pages', kind: 'int', default: 4, min: 1, max: 512, help: 'small pages per collapse of the order-0 (5.9) protocol (HPAGE_PMD_NR is 512 on x86; the model takes fewer); with large folios a collapse covers --ptes-per-ptl pages' },
  { name: 'roles', kind: 'string', default: '', help: `actor roles (${COLLAPSE_ROLES.join(', ')}), comma-separated, '+' joins, '*N' repeats; empty = default mix for --workers` },
  {
    ...PMD_OPTION,
    help: 'map PMD-sized folios (order log2(--ptes-per-ptl)) by a huge PMD (filemap_map_pmd() / finish_fault() -> do_set_pmd(), and '
      + 'MADV_COLLAPSE\'s collapse_pte_mapped_thp(install_pmd)); implies --max-folio-order the PMD order when it is 0, so the collapser '
      + 'runs 6.6 collapse_file(); needs --ptes-per-ptl a power of two, --map-pages mainline (off: CONFIG_TRANSPARENT_HUGEPAGE=n for file mappings)',
  },
  {
    ...READAHEAD_ORDER_OPTION, default: 'uniform',
    help: 'with large folios: uniform (the default here) = even files are read as a filesystem without large folios reads them '
      + '(6.6 page_cache_ra_order(): !mapping_large_folio_support() falls back to order 0; the files READ_ONLY_THP_FOR_FS '
      + 'collapses), odd files at an order drawn from the op stream per fault; grow = v6.6 page_cache_ra_order() growth on every file',
  },
];

/** Large folios: the collapser runs 6.6 collapse_file() (--max-folio-order > 0; validate() makes it
 * at least the PMD order). */
const largeFolios = (cfg: RunConfig): boolean => mtConfig(cfg).maxFolioOrder > 0;

const collapsePages = (cfg: RunConfig): number => Number(cfg.extra['collapse-pages'] ?? 4) || 4;

function nextOp(role: string, r: Rng, cfg: RunConfig): Op {
  const c = mtConfig(cfg);
  const parts = roleParts(role);
  const part = parts[below(r, parts.length)];
  const vma = below(r, c.processes * c.vmas);
  const { pgoff, flags } = vmaLayout(c, vma);
  const off = below(r, c.vmaPages);
  const index = pgoff + off;
  switch (part) {
    case 'collapser': {
      if (c.maxFolioOrder > 0) {
        // khugepaged (0) or MADV_COLLAPSE (1) of the PMD range holding `index`, through this VMA
        const per = c.ptesPerPtl;
        return { kind: 'collapse_folio', args: [vma, index - (index % per), below(r, 2)] };
      }
      const nr = Math.min(collapsePages(cfg), c.filePages);
      const start = below(r, Math.floor(c.filePages / nr)) * nr; // aligned, as a huge page is
      return { kind: 'collapse', args: [below(r, c.files), start, nr] };
    }
    case 'mapper': {
      const ptEnd = pgoff + Math.min(c.vmaPages, (Math.floor(off / c.ptesPerPtl) + 1) * c.ptesPerPtl);
      return { kind: 'map_pages', args: [vma, index, Math.min(ptEnd, index + 1 + below(r, c.ptesPerPtl))] };
    }
    case 'faulter': {
      const write = (flags & VM_SHARED) === 0 && below(r, 1000) < c.cowPermille ? 1 : 0;
      // with large folios, the readahead order (--readahead-order uniform): 0 on even files, drawn on odd ones
      if (c.maxFolioOrder > 0) return { kind: 'fault', args: [vma, index, write, vmaLayout(c, vma).file % 2 === 0 ? 0 : below(r, c.maxFolioOrder + 1)] };
      return { kind: 'fault', args: [vma, index, write] };
    }
    case 'zapper':
      return { kind: 'zap', args: [vma, index, Math.min(pgoff + c.vmaPages, index + 1 + below(r, 2 * c.ptesPerPtl))] };
    case 'reader':
      return { kind: 'read', args: [vma, index, Math.min(pgoff + c.vmaPages, index + 1 + below(r, 2 * c.ptesPerPtl))] };
    case 'reclaimer':
      return { kind: 'reclaim', args: [below(r, c.files), below(r, c.filePages), 1 + below(r, 4)] };
    case 'truncator':
      return mapTruncateScenario.nextOp('truncator', r, cfg, 0);
  }
  throw new Error(`collapse: unknown role '${part}'`);
}

function* runOp(t: Task, role: string, op: Op, cfg: RunConfig): Step {
  const a = op.args;
  switch (op.kind) {
    case 'collapse':
      yield* t.ops.collapse.collapseFile(t, a[0], a[1], a[2]);
      return;
    case 'collapse_folio':
      return yield* collapseFolioOp(t, a[0], a[1], a[2] === 1);
    case 'map_pages': {
      // with large folios, as map-truncate does it: a table for a none PMD first (do_fault_around())
      if (t.shm.ctl[CTL.MAX_ORDER] > 0) return yield* mapTruncateScenario.runOp(t, role, op, cfg);
      const [vma, start, end] = a;
      yield* t.ops.vmOps.mapPages(t, { vma, file: t.shm.vmaFile[vma], index: start }, start, end);
      return;
    }
    case 'fault':
      t.raOrder = a[3] ?? 0;
      return yield* accessOp(t, a[0], a[1], a[2] === 1);
    case 'zap':
      yield* t.ops.rmap.zapPteRange(t, a[0], a[1], a[2], ZAP_ALL);
      return;
    case 'read':
      yield* readThroughPtes(t, a[0], a[1], a[2]);
      return;
    case 'reclaim':
      for (let i = 0; i < a[2]; i++) yield* t.ops.reclaim.shrinkPage(t, a[0], (a[1] + i) % t.shm.sizes.pagesPerFile);
      return;
    case 'truncate':
      return yield* t.ops.truncate.truncateSetsize(t, a[0], a[1]);
  }
  throw new Error(`collapse: unknown op '${op.kind}'`);
}

/**
 * One khugepaged or MADV_COLLAPSE pass over the PMD range at `start` of `vma`'s file (6.6
 * hpage_collapse_scan_file(), then collapse_file()). The VMA must map the whole range, PMD-aligned
 * (thp_vma_suitable_order(), else SCAN_VMA_CHECK). khugepaged_scan_mm_slot(): SCAN_PTE_MAPPED_HUGEPAGE
 * -> collapse_pte_mapped_thp(mm, addr, false); madvise_collapse(): collapse_file() answers
 * SCAN_PTE_MAPPED_HUGEPAGE for a success too ("If MADV_COLLAPSE, adjust result to call
 * collapse_pte_mapped_thp()"), then collapse_pte_mapped_thp(mm, addr, true) maps it by the PMD
 * (with --pmd on; without, file THPs are not PMD-mappable).
 */
function* collapseFolioOp(t: Task, vma: number, start: number, madvise: boolean): Step {
  const shm = t.shm, file = shm.vmaFile[vma];
  if (!vmaContains(shm, vma, start) || !transhugeVmaSuitable(shm, vma, start) || start + shm.sizes.ptesPerPtl > shm.sizes.pagesPerFile) return;
  const r = yield* hpageCollapseScanFile(t, file, start, !madvise);
  if (r === 'SCAN_PTE_MAPPED_HUGEPAGE' || (madvise && r === 'SCAN_SUCCEED')) yield* collapsePteMappedThp(t, vma, start, madvise && thpPmdEnabled(t));
}

/** Collapse with large folios: even files start in order-0 pages, odd files in PMD-sized folios. */
function initCollapse(shm: Shm, cfg: RunConfig): void {
  const pmdOrder = pmdOrderOf(mtConfig(cfg).ptesPerPtl);
  initMapTruncate(shm, cfg, (file) => (file % 2 === 0 ? 0 : pmdOrder));
}

export const collapseScenario: Scenario = {
  name: 'collapse',
  description: "khugepaged collapse_file() (lock, unmap, VM_BUG_ON_PAGE(page_mapped), ref freeze) racing map_pages, faults, zaps and reclaim (Hugh's patch-4 hit); with --max-folio-order / --pmd, 6.6 collapse_file() into a PMD-sized folio",
  options: COLLAPSE_OPTIONS,
  invariants: [
    'COLLAPSE-MAPPED', 'MAP-CACHE', 'MAP-COUNT', 'REF-COUNT', 'DEL-LOCKED', 'FAULT-SIGBUS', 'FAULT-LOCKED', 'DATA-STAMP', 'FREE-BAD',
    'LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'DEADLOCK', 'HUNG', 'CRASH',
    'PTE-TABLE', 'MAP-EOF',
  ],
  validate(cfg) {
    const bad = checkMmSizes(cfg, 'collapse');
    if (bad) return bad;
    const roleErr = checkRoles(cfg, COLLAPSE_ROLES, collapseDefaultRoles);
    // the order-0 collapse_file() keeps every page of its range locked until the end (the pagelist)
    const nr = Math.min(collapsePages(cfg), mtConfig(cfg).filePages);
    if (!roleErr && !largeFolios(cfg) && nr > MAX_HELD) return `collapse: --collapse-pages ${nr} is more than the model's ${MAX_HELD} page locks held at once (collapse_file() keeps every page of its range locked)`;
    if (roleErr || !largeFolios(cfg)) return roleErr;
    const c = mtConfig(cfg), pmdOrder = pmdOrderOf(c.ptesPerPtl);
    if (pmdOrder < 1) return `collapse with large folios needs --ptes-per-ptl a power of two (HPAGE_PMD_NR), not ${c.ptesPerPtl}`;
    if (c.maxFolioOrder < pmdOrder) return `collapse: --max-folio-order ${c.maxFolioOrder} is below the PMD order ${pmdOrder} (log2(--ptes-per-ptl)): give 0, or ${pmdOrder} or more`;
    // the old pages and the new folio are locked together; the held list (LOCK-LEAK, lockdep) names MAX_HELD
    if (c.ptesPerPtl + 1 > MAX_HELD) return `collapse with large folios: --ptes-per-ptl ${c.ptesPerPtl} is more than the model's ${MAX_HELD - 1} page locks held at once (collapse_file() locks every old page and the new folio)`;
    if (c.filePages < c.ptesPerPtl) return `collapse: --file-pages ${c.filePages} is smaller than one PMD range (--ptes-per-ptl ${c.ptesPerPtl})`;
    const folioErr = checkFolioFlags(cfg);
    // what --pmd on implies (the PMD order), written into the configuration as map-truncate's
    // applyPmdImplied() does, so the start line, run.json and repro files show the run's order
    if (folioErr === null) cfg.extra['max-folio-order'] = c.maxFolioOrder;
    return folioErr;
  },
  roles,
  sizes: mmSizes,
  init: (shm, cfg) => (largeFolios(cfg) ? initCollapse(shm, cfg) : initMapTruncate(shm, cfg)),
  nextOp: (role, r, cfg) => nextOp(role, r, cfg),
  runOp,
  quiescentCheck: (shm): Finding[] => quiescentCheck(shm),
  liveCheck: (shm): Finding[] => liveCheck(shm),
};

// ---- matrix cells -------------------------------------------------------------------------------
// Controlled mode: the collapser, a mapper and a zapper on one file of 8 pages, mapped shared and
// private (patch 4 only skips the lock for private mappings).
const COLLAPSE_CONTROLLED = { workers: 3, opsPerActor: 4, extra: { roles: 'collapser,mapper,zapper', files: 1, 'file-pages': 8, processes: 1, vmas: 2 } };
const HUGH = 'Hugh Dickins, Msg-ID alpine.LSU.2.11.2010132230060.2516@eggly.anvils; kernel-protocols §1.7';

export const COLLAPSE_CELLS: readonly CellSpec[] = ([
  ['mainline', 'clean', 'every path that maps a page-cache page takes its lock first (map_pages trylocks, filemap_fault locks), and '
    + 'collapse_file() holds it from the unmap to the assertion: an unmapped locked page stays unmapped'],
  ['v5.9', 'clean', 'the 5.9 map_pages trylocks each page before mapping it, like mainline'],
  ['folio', 'clean', 'the folio map_pages trylocks each folio before mapping it, like mainline'],
  ['patch4', { breaks: ['COLLAPSE-MAPPED'] }, 'patch 4 maps private-VMA pages without the page lock: a fault-around that passed its '
    + 'PageLocked re-check before collapse_file() locked the page installs its PTE between the unmap and '
    + 'VM_BUG_ON_PAGE(page_mapped(page)) — the assertion Hugh had to comment out'],
  ['linus-recheck', 'open', "Linus's mapcount-then-recheck (§1.4, §1.8) raises the mapcount of a page collapse holds locked before it "
    + 'backs out: the assertion can see the transient mapping (kernel-protocols §1.8 predicts it); whether that is a real PTE or '
    + 'only the window before the back-out is what the run shows'],
  ['willy-uptodate', 'open', "Willy's PG_uptodate handshake (§1.9) adapted truncate and invalidate (clear uptodate, then check "
    + 'mapped) but not collapse_file(), which leaves the page uptodate: nothing stops a mapper between the unmap and the assertion'],
] as const).map(([variant, expected, reasoning]) => ({
  name: `collapse/${variant}`, scenario: 'collapse', cfg: { extra: { 'map-pages': variant } }, controlled: COLLAPSE_CONTROLLED,
  expected, reasoning, source: HUGH,
  // patch 4's hit needs 2-5 s in free mode (seeds 1-3): twice the default known-bad share
  ...(variant === 'patch4' ? { weight: 6 } : {}),
}));
