// Scenario `map-truncate`: truncation racing fault-around, read faults, COW faults, zaps,
// reclaim and user reads over a few small files mapped shared and private by a few processes
// (kernel-protocols §1.7, §4.3). This is the race patch 4 of the seed thread broke.
//
// Roles (--roles, default by --workers):
//   mapper     filemap_map_pages() (the --map-pages variant) over a random range of one page
//              table of a random VMA
//   faulter    a single-page access through the arch fault handler (do_user_addr_fault(): with
//              --fault-retry it retries VM_FAULT_RETRY): a read fault (fault-around first), or on
//              a private VMA sometimes a write: do_cow_fault() for a none PTE, do_wp_page() ->
//              wp_page_copy() for a present read-only one; checks FAULT-SIGBUS against a stable
//              i_size
//   truncator  truncate_setsize(): shrink to a random size, or grow back to full (a size inside a
//              page zeroes that page's tail: truncate_inode_partial_folio())
//   zapper     zap a random range of a VMA (MADV_DONTNEED)
//   reader     read the data stamps through the PTEs of a range (DATA-STAMP), and the last page's
//              bytes beyond EOF (EOF-ZERO)
//   reclaimer  shrink a few page-cache pages (ref freeze)
//   killer     send a fatal signal to another actor (an OOM kill): with --killable-faults it
//              interrupts a fault sleeping in the page lock, as in mainline's fault path
//   migrator   migrate_pages() of one page-cache page (MIGRATE_ASYNC or MIGRATE_SYNC, half each):
//              its PTEs become migration entries that faulters wait on without a page reference
//              (src/mm/migrate.ts). Never in the default mix: only --roles names it.
//   gup        get_user_pages(FOLL_NOWAIT) of one page and put_page() (KVM's async page fault
//              probe): a missing PTE faults with FAULT_FLAG_RETRY_NOWAIT, so a contended page lock
//              is VM_FAULT_RETRY at once (-EBUSY), never a wait
//   collapser  (--pmd on) collapse_pte_mapped_thp() of a VMA's PMD range (MADV_COLLAPSE half the
//              time: then it maps the folio by the PMD): the PTE table of a PTE-mapped PMD-sized
//              folio is retracted and freed during the run. Never in the default mix.
//   unmapper   (--pte-alloc) mmap(MAP_FIXED) of a VMA over itself (src/mm/mmap.ts): under the mm's
//              mmap_lock for writing, zap it and free its PTE tables (free_pgtables(), under the
//              file's i_mmap lock), then map it again: tables go away while the page cache still
//              holds the range's small folios. While it runs in the mix, the faults, fault-around,
//              zaps, reads, GUP and collapses take their mm's mmap_lock for reading, and rmap walks
//              the i_mmap lock. Never in the default mix.
// With --pte-alloc the mm starts with no PTE tables: faults and fault-around allocate them
// (src/mm/pgtable.ts), from the page allocator, which falls into direct reclaim when --pages is
// small.
// With --pmd on (implies --pte-alloc, and large folios up to the PMD order) a PMD-sized folio is
// mapped by a huge PMD (filemap_map_pmd() / finish_fault() -> do_set_pmd()), and zaps,
// truncation, reclaim and write faults clear it again (zap_huge_pmd(), __split_huge_pmd()): the
// next fault there allocates a PTE table, so tables go missing during the run.
// A '+'-joined role ('reader+zapper+reclaimer') does one of its parts per operation.
import type { Finding, Op, Scenario, ScenarioOption } from '../kernel/scenario.ts';
import type { CellSpec } from '../kernel/cells.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, type Rng } from '../kernel/rng.ts';
import { checkUnmapper, roleParts, rolesName } from './roles.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { CTL } from '../shm/layout.ts';
import { NIL, PG_free, PG_uptodate, VM_SHARED, type Shm } from '../shm/shm.ts';
import { initShm } from '../shm/init.ts';
import { allocPageInit, folioAllocInit, putPage, setMaxFolioOrder } from '../mm/page_alloc.ts';
import { pmdClearAll, pmdNone, pteAllocOne, pteFree, thpPmdEnabled } from '../mm/pgtable.ts';
import { MAX_FOLIO_ORDER } from '../shm/page.ts';
import { MAX_FILE_PAGES, PAGE_SIZE, maxIndex, xaStore } from '../shm/files.ts';
import { isMigrationEntry, mappingWordAt, pmdTransHuge, pteNone, setupVma, vmaCount } from '../shm/mm.ts';
import { VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, type VmFault } from '../kernel/fault.ts';
import { lockNames, makeLock, otherInvariantsUnfairness, sendFatalSignal } from '../locks/index.ts';
import { mainlineOps } from '../mm/mainline.ts';
import { findVariant, type Variant } from '../variants/registry.ts';
import { NO_FAULT, ZAP_ALL, readThroughPtes } from '../mm/memory.ts';
import { collapsePteMappedThp } from '../mm/khugepaged.ts';
import { mmapReadLock, mmapReadUnlock } from '../mm/mmap.ts';
import { mapPagesHiddenNames, mapPagesNames, DEFAULT_MAP_PAGES } from '../variants/map-pages/index.ts';
import { DEFAULT_FAULT_PATH, faultPathHiddenNames, faultPathNames } from '../variants/fault/index.ts';
import { quiescentCheck } from '../check/quiescent.ts';
import { liveCheck } from '../check/live.ts';

export const ROLES = ['mapper', 'faulter', 'truncator', 'zapper', 'reader', 'reclaimer', 'killer', 'migrator', 'gup', 'collapser', 'unmapper'] as const;

/**
 * Default actors by worker count. Four: mapper, faulter (its fault-around is a second map_pages
 * caller), truncator, and one actor for the rest; more workers repeat the four. Fewer share roles.
 * Measured under the controlled driver (portfolio PCT, 6 ops per actor, patch4, 1000 iterations,
 * seeds 1-2): four workers 12 finds, first at iteration 6; the three-worker mix below 4 and 3
 * finds (first at 11 and 107), where 'mapper, truncator, faulter+reader+zapper+reclaimer' had 1
 * and 5 (first at 983 and 115).
 */
export function defaultRoles(workers: number): string[] {
  switch (workers) {
    case 1: return ['mapper+faulter+truncator+reader+zapper+reclaimer'];
    case 2: return ['mapper+faulter', 'truncator+reader+zapper+reclaimer'];
    case 3: return ['mapper', 'faulter+reader+zapper', 'truncator+reclaimer'];
  }
  const four = ['mapper', 'faulter', 'truncator', 'reader+zapper+reclaimer'];
  return Array.from({ length: workers }, (_, i) => four[i % 4]);
}

/** The kernel-path choices every scenario that faults accepts (src/variants): which ->map_pages
 * fault-around runs, which do_read/cow/shared_fault() a none PTE takes. */
export const FAULT_VARIANT_OPTIONS: readonly ScenarioOption[] = [
  { name: 'map-pages', kind: 'enum', default: DEFAULT_MAP_PAGES, choices: mapPagesNames(), hiddenChoices: mapPagesHiddenNames(), help: 'filemap_map_pages variant (src/variants/map-pages): v5.9, mainline (5.12+), folio, patch4, and the two lockless proposals of 2020, linus-recheck and willy-uptodate' },
  {
    name: 'fault-path', kind: 'enum', default: DEFAULT_FAULT_PATH, choices: faultPathNames(), hiddenChoices: faultPathHiddenNames(),
    help: 'do_read/cow/shared_fault variant: mainline, or patch1 / patch1-2 / patch1-3 of the Oct 2020 series (src/variants/fault)',
  },
  {
    name: 'killable-faults', kind: 'bool', default: false,
    help: "FAULT_FLAG_KILLABLE: filemap_fault() takes the page lock killable, as mainline's lock_folio_maybe_drop_mmap() does; a fatal signal (the 'killer' role) ends the fault with VM_FAULT_RETRY and the arch handler does not retry it",
  },
];

/** --killable-faults in a scenario with no 'killer' role (collapse, writeback, fuse-write): nothing sends a
 * fatal signal there, so the flag only switches the path filemap_fault() locks the page by. */
export const KILLABLE_NO_KILLER_HELP = "FAULT_FLAG_KILLABLE: filemap_fault() takes the page lock killable (lock_page_killable(), as mainline's "
  + "lock_folio_maybe_drop_mmap() does). This scenario has no killer role and sends no fatal signal, so the killable wait is never "
  + "interrupted: only the lock path changes (in map-truncate a killer actor interrupts it)";

/** map-truncate's own: its faulter goes through the arch handler, which retries (the scenarios that
 * share MAP_TRUNCATE_OPTIONS call handle_mm_fault() once). */
const FAULT_RETRY_OPTION: ScenarioOption = {
  name: 'fault-retry', kind: 'bool', default: false,
  help: 'FAULT_FLAG_ALLOW_RETRY: a fault that would sleep on I/O or on a contended page lock drops the mmap lock (fpin) and returns VM_FAULT_RETRY (out_retry); the arch handler retries with FAULT_FLAG_TRIED (mainline user faults; off keeps the 2020 single-pass fault)',
};

/** --readahead-order (map-truncate): how readahead picks the order of the folios it adds. */
export const READAHEAD_ORDER_OPTION: ScenarioOption = {
  name: 'readahead-order', kind: 'enum', default: 'grow', choices: ['grow', 'uniform'],
  help: 'with --max-folio-order: grow = v6.6 page_cache_ra_order() (read-around asks for order 2, a fault that continues a cached '
    + 'run asks for the order of the folio before it + 2, capped by ilog2 of the 32-page window), uniform = an order drawn '
    + 'from the op stream per fault; both lowered to fit alignment, EOF and the folios already cached',
};

/** --pmd (map-truncate, writeback): the PMD level. */
export const PMD_OPTION: ScenarioOption = {
  name: 'pmd', kind: 'enum', default: 'off', choices: ['on', 'off'],
  help: 'map PMD-sized folios (order log2(--ptes-per-ptl)) by a huge PMD: filemap_map_pmd() / finish_fault() -> do_set_pmd(); '
    + 'zap_huge_pmd() / __split_huge_pmd() clear it and the next fault allocates a PTE table. Implies --pte-alloc, and '
    + '--max-folio-order the PMD order when it is 0 (file 0 starts in PMD-sized folios; readahead makes more: map-truncate as --readahead-order says, writeback as v6.6 grows them); '
    + 'needs --ptes-per-ptl a power of two, --map-pages mainline (off: CONFIG_TRANSPARENT_HUGEPAGE=n for file mappings)',
};

/** --pte-alloc (map-truncate, writeback): PTE tables allocated on demand. */
export const PTE_ALLOC_OPTION: ScenarioOption = {
  name: 'pte-alloc', kind: 'bool', default: false,
  help: 'the mm starts with no PTE tables: do_fault_around() and __do_fault() preallocate one before the page lock (vmf->prealloc_pte), '
    + 'finish_fault() installs it (pmd_install() under the mm\'s page_table_lock) or allocates one (pte_alloc()); tables come from the '
    + 'page allocator, which enters direct reclaim when it is empty (off: tables set up with the VMAs)',
};

export const MAP_TRUNCATE_OPTIONS: readonly ScenarioOption[] = [
  ...FAULT_VARIANT_OPTIONS,
  { name: 'files', kind: 'int', default: 2, min: 1, max: 4096, help: 'files (address_spaces)' },
  { name: 'file-pages', kind: 'int', default: 16, min: 1, max: MAX_FILE_PAGES, help: 'pages per file at full size (truncation grows files back to this)' },
  { name: 'processes', kind: 'int', default: 2, min: 1, max: 4096, help: 'processes (mm), each mapping the files' },
  { name: 'vmas', kind: 'int', default: 2, min: 1, max: 4096, help: 'VMAs per process; they alternate shared / private per file' },
  { name: 'vma-pages', kind: 'int', default: 0, min: 0, max: MAX_FILE_PAGES, help: 'pages per VMA (0 = the whole file)' },
  { name: 'ptes-per-ptl', kind: 'int', default: 8, min: 1, max: 1 << 20, help: 'PTEs per split page-table lock (a page table)' },
  { name: 'fault-around', kind: 'int', default: 16, min: 1, max: 1 << 20, help: 'fault-around window in pages (fault_around_bytes / PAGE_SIZE; 1 = off)' },
  { name: 'cow-permille', kind: 'int', default: 250, min: 0, max: 1000, help: 'faults on private VMAs that are writes (COW), per mille' },
  { name: 'max-folio-order', kind: 'int', default: 0, min: 0, max: MAX_FOLIO_ORDER, help: 'large folios: the page cache holds folios of order 0..N (each file starts with its own order; readahead grows them, page_cache_ra_order(): --readahead-order); 0 = single pages' },
  { name: 'roles', kind: 'string', default: '', help: "actor roles, comma-separated, '+' joins roles one actor alternates, '*N' repeats (e.g. 'mapper*2,truncator,reader+zapper'); empty = default mix for --workers. roles: mapper, faulter, truncator, zapper, reader, reclaimer, killer, gup, and migrator (migrate_pages()), collapser (collapse_pte_mapped_thp(), --pmd on) and unmapper (munmap and mmap again: free_pgtables(), --pte-alloc), never in the default mix" },
];

// ---- configuration ----------------------------------------------------------------------

export interface MapTruncateConfig {
  files: number;
  filePages: number;
  processes: number;
  vmas: number;
  vmaPages: number;
  ptesPerPtl: number;
  cowPermille: number;
  /** --max-folio-order (0: single pages; with --pmd on and 0: the PMD order) */
  maxFolioOrder: number;
  /** --pmd on */
  pmd: boolean;
  pages: number;
}

/** HPAGE_PMD_ORDER for --ptes-per-ptl `per` (src/shm/mm.ts hpagePmdOrder()), or -1. */
export const pmdOrderOf = (per: number): number => (per >= 2 && (per & (per - 1)) === 0 ? Math.log2(per) : -1);

const num = (cfg: RunConfig, name: string, def: number): number => {
  const v = cfg.extra[name];
  return v === undefined || v === '' ? def : Number(v);
};

/** Parsed once per configuration object: nextOp asks for it at every operation. */
const mtConfigs = new WeakMap<RunConfig, MapTruncateConfig>();

export function mtConfig(cfg: RunConfig): MapTruncateConfig {
  const known = mtConfigs.get(cfg);
  if (known !== undefined && known.pages === cfg.pages) return known;
  const filePages = num(cfg, 'file-pages', 16);
  const vmaPages = num(cfg, 'vma-pages', 0) || filePages;
  const ptesPerPtl = num(cfg, 'ptes-per-ptl', 8), pmd = cfg.extra.pmd === 'on';
  const order = num(cfg, 'max-folio-order', 0);
  const c = {
    files: num(cfg, 'files', 2), filePages, processes: num(cfg, 'processes', 2), vmas: num(cfg, 'vmas', 2),
    vmaPages, ptesPerPtl, cowPermille: num(cfg, 'cow-permille', 250),
    maxFolioOrder: pmd && order === 0 ? Math.max(0, pmdOrderOf(ptesPerPtl)) : order, pmd, pages: cfg.pages,
  };
  mtConfigs.set(cfg, c);
  return c;
}

/** VMA k (= process * vmas + v): which file, at which offset, shared or private. Files are dealt
 * round-robin; each file's successive VMAs alternate shared / private, so every file is mapped
 * both ways as soon as there are two VMAs per file. */
export function vmaLayout(c: MapTruncateConfig, k: number): { file: number; pgoff: number; flags: number } {
  const file = k % c.files;
  const pgoff = (k * 5) % (c.filePages - c.vmaPages + 1);
  const flags = Math.floor(k / c.files) % 2 === 0 ? VM_SHARED : 0;
  return { file, pgoff, flags };
}

/** Parse --roles: 'mapper*2,truncator,reader+zapper'. */
export function parseRoles(spec: string): string[] {
  const out: string[] = [];
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z+]+)(?:\*(\d+))?$/.exec(item);
    if (!m) throw new Error(`--roles: cannot read '${item}'`);
    for (const r of m[1].split('+'))
      if (!(ROLES as readonly string[]).includes(r)) throw new Error(`--roles: unknown role '${r}' (roles: ${ROLES.join(', ')})`);
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(m[1]);
  }
  return out;
}

function roles(cfg: RunConfig): string[] {
  const spec = String(cfg.extra.roles ?? '');
  return spec ? parseRoles(spec) : defaultRoles(cfg.workers);
}

// ---- operations -------------------------------------------------------------------------

/** --max-folio-order (0: single pages). */
export const maxFolioOrder = (cfg: RunConfig): number => mtConfig(cfg).maxFolioOrder;

function nextOp(role: string, r: Rng, cfg: RunConfig, task: number): Op {
  const c = mtConfig(cfg);
  const parts = roleParts(role);
  const part = parts[below(r, parts.length)];
  const nvma = c.processes * c.vmas;
  const vma = below(r, nvma);
  const { pgoff, flags } = vmaLayout(c, vma);
  const off = below(r, c.vmaPages);
  const index = pgoff + off;
  switch (part) {
    case 'mapper': {
      // a range inside the page table holding `index`, starting at `index`
      const ptEnd = pgoff + Math.min(c.vmaPages, (Math.floor(off / c.ptesPerPtl) + 1) * c.ptesPerPtl);
      return { kind: 'map_pages', args: [vma, index, Math.min(ptEnd, index + 1 + below(r, c.ptesPerPtl))] };
    }
    case 'faulter': {
      const write = (flags & VM_SHARED) === 0 && below(r, 1000) < c.cowPermille ? 1 : 0;
      const maxOrder = c.maxFolioOrder;
      // the readahead order this fault asks for (drawn only with large folios: order-0 op streams stay as they were)
      if (maxOrder > 0) return { kind: 'fault', args: [vma, index, write, below(r, maxOrder + 1)] };
      return { kind: 'fault', args: [vma, index, write] };
    }
    case 'truncator': {
      // half the time back to full size, else a random (often not page-aligned) smaller size
      const file = below(r, c.files);
      const full = c.filePages * PAGE_SIZE;
      const size = below(r, 2) === 0 ? full : below(r, full);
      return { kind: 'truncate', args: [file, size] };
    }
    case 'zapper':
      return { kind: 'zap', args: [vma, index, Math.min(pgoff + c.vmaPages, index + 1 + below(r, 2 * c.ptesPerPtl))] };
    case 'reader':
      return { kind: 'read', args: [vma, index, Math.min(pgoff + c.vmaPages, index + 1 + below(r, 2 * c.ptesPerPtl))] };
    case 'reclaimer':
      return { kind: 'reclaim', args: [below(r, c.files), below(r, c.filePages), 1 + below(r, 4)] };
    case 'migrator':
      // one page-cache page, MIGRATE_ASYNC (0) or MIGRATE_SYNC (1)
      return { kind: 'migrate', args: [below(r, c.files), below(r, c.filePages), below(r, 2)] };
    case 'gup':
      return { kind: 'gup', args: [vma, index] };
    case 'collapser':
      // collapse_pte_mapped_thp() of the PMD range holding `index`; install_pmd half the time (MADV_COLLAPSE)
      return { kind: 'collapse_pmd', args: [vma, index, below(r, 2)] };
    case 'unmapper':
      // mmap(MAP_FIXED) of the VMA over itself: munmap, free its page tables, map it again
      return { kind: 'munmap', args: [vma] };
    case 'killer': {
      // a fatal signal (an OOM kill, a SIGKILL) to another actor: it interrupts killable waits
      const v = below(r, Math.max(1, cfg.workers - 1));
      return { kind: 'signal', args: [v >= task ? v + 1 : v] };
    }
  }
  throw new Error(`map-truncate: unknown role '${part}'`);
}

/**
 * One access through handle_mm_fault(), then FAULT-SIGBUS: if no truncation started or was in
 * flight from before the fault to after it, i_size did not change, so the fault must have
 * returned SIGBUS exactly when its index is at or beyond EOF, and a SIGBUS maps nothing.
 */
function* faultOp(t: Task, vma: number, index: number, write: boolean): Step {
  const shm = t.shm, ctl = shm.ctl, file = shm.vmaFile[vma];
  const seq = Atomics.load(ctl, CTL.TRUNC_SEQ), busy = Atomics.load(ctl, CTL.TRUNCATING);
  const size = Atomics.load(shm.iSize, file);
  const ret = yield* t.ops.fault.doUserAddrFault(t, vma, index, write);
  if (ret === NO_FAULT || (ret & (VM_FAULT_OOM | VM_FAULT_RETRY))) return; // RETRY: killed, nothing to judge
  const mappedNow = !pteNone(mappingWordAt(shm, vma, index)); // a PTE or a huge PMD
  if (busy !== 0 || Atomics.load(ctl, CTL.TRUNCATING) !== 0 || Atomics.load(ctl, CTL.TRUNC_SEQ) !== seq) return;
  const beyond = index >= maxIndex(size);
  const sigbus = (ret & VM_FAULT_SIGBUS) !== 0;
  if (beyond !== sigbus || (sigbus && mappedNow)) t.violation('FAULT-SIGBUS', t.page, file, index, size, ret);
}

/** do_fault_around()'s part that fault-around's map_pages runs in: a PTE table, then ->map_pages. */
function* mapPagesOp(t: Task, vma: number, start: number, end: number): Step {
  if (thpPmdEnabled(t)) {
    // 6.6 do_fault_around(): preallocate a table for a none PMD; filemap_map_pages() maps a
    // PMD-sized folio by the PMD or installs the table (filemap_map_pmd()); an unused one is freed
    const vmf: VmFault = { vma, file: t.shm.vmaFile[vma], index: start };
    if (pmdNone(t.shm, vma, start)) {
      vmf.preallocPte = yield* pteAllocOne(t);
      if (vmf.preallocPte === NIL) return;
    }
    yield* t.ops.vmOps.mapPages(t, vmf, start, end);
    if ((vmf.preallocPte ?? NIL) !== NIL) yield* pteFree(t, vmf.preallocPte!);
    return;
  }
  // ->map_pages runs in do_fault_around(), which first gives it a PTE table
  if (!(yield* t.ops.fault.pteAlloc(t, vma, start))) return;
  yield* t.ops.vmOps.mapPages(t, { vma, file: t.shm.vmaFile[vma], index: start }, start, end);
}

function* runOp(t: Task, _role: string, op: Op): Step {
  const a = op.args;
  switch (op.kind) {
    case 'map_pages':
      // the user tasks' page-table walks hold the mmap_lock for reading while an unmapper runs
      // (src/mm/mmap.ts; nothing otherwise); the fault takes it in do_user_addr_fault()
      yield* mmapReadLock(t, a[0]);
      yield* mapPagesOp(t, a[0], a[1], a[2]);
      return yield* mmapReadUnlock(t);
    case 'fault':
      t.raOrder = a[3] ?? 0;
      return yield* faultOp(t, a[0], a[1], a[2] === 1);
    case 'truncate':
      return yield* t.ops.truncate.truncateSetsize(t, a[0], a[1]);
    case 'zap':
      yield* mmapReadLock(t, a[0]); // madvise(MADV_DONTNEED)
      yield* t.ops.rmap.zapPteRange(t, a[0], a[1], a[2], ZAP_ALL);
      return yield* mmapReadUnlock(t);
    case 'read':
      yield* mmapReadLock(t, a[0]);
      yield* readThroughPtes(t, a[0], a[1], a[2]);
      return yield* mmapReadUnlock(t);
    case 'reclaim':
      for (let i = 0; i < a[2]; i++) yield* t.ops.reclaim.shrinkPage(t, a[0], (a[1] + i) % t.shm.sizes.pagesPerFile);
      return;
    case 'munmap':
      return yield* t.ops.rmap.mmapRegion(t, a[0]);
    case 'signal':
      if (a[0] < t.shm.sizes.tasks - 1) yield* sendFatalSignal(t, a[0]);
      return;
    case 'migrate':
      yield* t.ops.migrate.migratePages(t, a[0], a[1], a[2] === 1 ? 'sync' : 'async');
      return;
    case 'collapse_pmd':
      yield* mmapReadLock(t, a[0]); // khugepaged and MADV_COLLAPSE hold it for reading
      yield* collapsePteMappedThp(t, a[0], a[1], a[2] === 1);
      return yield* mmapReadUnlock(t);
    case 'gup': {
      yield* mmapReadLock(t, a[0]);
      const pfn = yield* t.ops.writeback.getUserPage(t, a[0], a[1], false, true);
      yield* mmapReadUnlock(t);
      if (pfn !== NIL) yield* putPage(t, pfn);
      return;
    }
  }
  throw new Error(`map-truncate: unknown op '${op.kind}'`);
}

// ---- state ------------------------------------------------------------------------------

/**
 * Set up the model: VMAs, full-size files, and page-cache pages (filled, uptodate, one page-cache
 * reference each) for up to half the allocator's pages, so mappers have work from the start and
 * faults still find free pages. Linear in pages + slots: a million pages start in well under a second.
 */
export function initMapTruncate(shm: Shm, cfg: RunConfig, folioOrderOf?: (file: number, maxOrder: number) => number): void {
  // the orchestrator initialises the buffer; a bare caller (tests, tools) may not have
  if (shm.sizes.pages > 0 && shm.ctl[CTL.FREE_COUNT] === 0 && (shm.flags[0] & PG_free) === 0 && shm.ctl[CTL.FREE_HEAD] === 0) initShm(shm);
  const c = mtConfig(cfg);
  if (cfg.extra['pte-alloc'] === true || c.pmd) pmdClearAll(shm);
  if (rolesName(cfg, 'unmapper')) shm.ctl[CTL.MMAP_LOCKING] = 1; // VMAs go away: take the mmap and i_mmap locks
  for (let k = 0; k < vmaCount(shm); k++) {
    const { file, pgoff, flags } = vmaLayout(c, k);
    setupVma(shm, k, file, pgoff, c.vmaPages, flags);
  }
  let budget = Math.floor(shm.sizes.pages / 2);
  for (let file = 0; file < c.files; file++) shm.iSize[file] = c.filePages * PAGE_SIZE;
  const maxOrder = maxFolioOrder(cfg);
  if (maxOrder > 0) return initFolios(shm, c, maxOrder, budget, folioOrderOf);
  // interleave files so every file gets pages when the budget is short
  for (let index = 0; index < c.filePages && budget > 0; index++) {
    for (let file = 0; file < c.files && budget > 0; file++, budget--) {
      const pfn = allocPageInit(shm);
      if (pfn === NIL) return;
      shm.stampFile[pfn] = file;
      shm.stampIndex[pfn] = index;
      shm.stampEnd[pfn] = PAGE_SIZE;
      shm.flags[pfn] = PG_uptodate;
      shm.mapping[pfn] = file + 1;
      shm.index[pfn] = index;
      xaStore(shm, file, index, pfn); // the allocation reference becomes the page cache's
      shm.nrpages[file]++;
    }
  }
}

/** initMapTruncate() with large folios: the allocator's free lists become blocks of `maxOrder`,
 * and file f is filled with folios of order maxOrder - f % (maxOrder + 1), or `orderOf(f)` (smaller
 * at the file's end if it is not a multiple), files interleaved, up to `budget` pages. */
function initFolios(shm: Shm, c: MapTruncateConfig, maxOrder: number, budget: number, orderOf?: (file: number, maxOrder: number) => number): void {
  setMaxFolioOrder(shm, maxOrder);
  const next = new Array<number>(c.files).fill(0);
  for (let more = true; more && budget > 0;) {
    more = false;
    for (let file = 0; file < c.files && budget > 0; file++) {
      const index = next[file];
      if (index >= c.filePages) continue;
      let order = orderOf ? orderOf(file, maxOrder) : maxOrder - (file % (maxOrder + 1));
      while (order > 0 && (index % (1 << order) !== 0 || index + (1 << order) > c.filePages || (1 << order) > budget)) order--;
      const nr = 1 << order;
      const pfn = folioAllocInit(shm, order);
      if (pfn === NIL) return;
      for (let i = 0; i < nr; i++) {
        shm.stampFile[pfn + i] = file;
        shm.stampIndex[pfn + i] = index + i;
        shm.stampEnd[pfn + i] = PAGE_SIZE;
        shm.mapping[pfn + i] = file + 1;
        shm.index[pfn + i] = index + i;
        xaStore(shm, file, index + i, pfn);
      }
      shm.flags[pfn] = PG_uptodate;
      shm.refcount[pfn] = nr; // the allocation reference and nr - 1 more: the page cache's, one per page
      shm.nrpages[file] += nr;
      next[file] = index + nr;
      budget -= nr;
      more = true;
    }
  }
}

function summary(shm: Shm): Record<string, unknown> {
  let cached = 0, mapped = 0, anon = 0, migration = 0, large = 0, huge = 0;
  for (let slot = 0; slot < shm.pmd.length; slot++) if (pmdTransHuge(shm.pmd[slot])) huge++;
  for (let pfn = 0; pfn < shm.sizes.pages; pfn++) if (shm.compound[pfn] > 0 && shm.mapping[pfn] > 0) large++;
  for (let s = 0; s < shm.slots.length; s++) if (shm.slots[s] !== 0) cached++;
  for (let i = 0; i < shm.ptes.length; i++) {
    const pte = shm.ptes[i];
    if (pte !== 0) (isMigrationEntry(pte) ? migration++ : pte & (1 << 25) ? anon++ : mapped++);
  }
  return {
    freePages: shm.ctl[CTL.FREE_COUNT], pageCachePages: cached, filePtes: mapped, cowPtes: anon, migrationEntries: migration,
    iSizePages: Array.from(shm.iSize, (s) => maxIndex(s)).slice(0, 16),
    ...(shm.ctl[CTL.MAX_ORDER] > 0 ? { largeFoliosCached: large } : {}),
    ...(huge > 0 ? { hugePmds: huge } : {}),
  };
}

/** The model's sizes for the scenarios built on map-truncate's files, processes and VMAs. */
export function mmSizes(cfg: RunConfig): ReturnType<Scenario['sizes']> {
  const c = mtConfig(cfg);
  return {
    pages: cfg.pages, buckets: cfg.buckets, files: c.files, pagesPerFile: c.filePages,
    processes: c.processes, vmasPerProcess: c.vmas, ptesPerVma: c.vmaPages, ptesPerPtl: c.ptesPerPtl,
  };
}

/** The ->map_pages variants that map a large folio's pages (folio_file_page() at each index):
 * mainline (v6.6 filemap_map_folio_range()) and the two 2020 proposals. */
export const FOLIO_MAP_PAGES: readonly string[] = [DEFAULT_MAP_PAGES, 'linus-recheck', 'willy-uptodate'];

/** With large folios, the paths that install PTEs must be ones that map a folio's pages: the
 * map_pages variants above, mainline's fault path (finish_fault() on folio_file_page()), and no
 * --variant that replaces ->map_pages, its page finder or do_set_pte() unless it is a folio
 * self-test: the others install a PTE for the page they locked, as an order-0 page. A usage error,
 * or null. */
export function checkFolioFlags(cfg: RunConfig): string | null {
  const order = maxFolioOrder(cfg);
  const c = mtConfig(cfg), pmdOrder = pmdOrderOf(c.ptesPerPtl);
  if (c.pmd && pmdOrder < 1) return `--pmd on needs --ptes-per-ptl a power of two (the PMD range), not ${c.ptesPerPtl}`;
  if (order === 0) return null;
  const mp = String(cfg.extra['map-pages'] ?? DEFAULT_MAP_PAGES), fp = String(cfg.extra['fault-path'] ?? DEFAULT_FAULT_PATH);
  if (c.pmd && order < pmdOrder) return `--pmd on needs --max-folio-order ${pmdOrder} or more (0 picks it): a PMD maps a folio of order log2(--ptes-per-ptl ${c.ptesPerPtl})`;
  if (c.pmd && mp !== DEFAULT_MAP_PAGES) return `--pmd on needs --map-pages ${DEFAULT_MAP_PAGES}: filemap_map_pmd() is 6.6's filemap_map_pages()`;
  if (!FOLIO_MAP_PAGES.includes(mp)) return `--max-folio-order ${order} needs --map-pages ${FOLIO_MAP_PAGES.join(', ')}: ${mp} maps order-0 pages only`;
  if (fp !== DEFAULT_FAULT_PATH) return `--max-folio-order ${order} needs --fault-path ${DEFAULT_FAULT_PATH}: ${fp} maps order-0 pages only`;
  for (const name of cfg.variants ?? []) {
    const v = findVariant(name);
    if (!v || name.startsWith('folio-')) continue;
    let o: ReturnType<Variant['ops']>;
    try {
      o = v.ops(mainlineOps(makeLock(cfg.lock, { unfairness: cfg.unfairness })));
    } catch {
      continue;
    }
    if ((o.vmOps && ('mapPages' in o.vmOps || 'nextUptodatePage' in o.vmOps)) || (o.fault && 'doSetPte' in o.fault))
      return `--max-folio-order ${order}: --variant ${name} replaces a path that maps order-0 pages only`;
  }
  return null;
}

/**
 * What --pmd on implies, written into the configuration once checkFolioFlags() accepted it, so that
 * what is printed and recorded (the start line, run.json, repro files) is what runs: --pte-alloc on,
 * and --max-folio-order the PMD order when it was 0 (mtConfig() reads the same). Idempotent: a
 * configuration read back from a repro file passes through unchanged.
 */
export function applyPmdImplied(cfg: RunConfig): void {
  if (cfg.extra.pmd !== 'on') return;
  cfg.extra['pte-alloc'] = true;
  cfg.extra['max-folio-order'] = mtConfig(cfg).maxFolioOrder;
}

/** Size flags that cannot work together, as a usage error (null when they fit). */
export function checkMmSizes(cfg: RunConfig, scenario: string): string | null {
  const c = mtConfig(cfg);
  if (c.vmaPages > c.filePages) return `--vma-pages ${c.vmaPages} is more than --file-pages ${c.filePages}`;
  if (cfg.pages < 2) return `--pages ${cfg.pages} is too small for ${scenario}: give at least 2`;
  return null;
}

export const mapTruncateScenario: Scenario = {
  name: 'map-truncate',
  description: 'truncate racing filemap_map_pages, read and COW faults, zap, reclaim and readers over shared and private file mappings',
  options: [...FAULT_VARIANT_OPTIONS, FAULT_RETRY_OPTION, ...MAP_TRUNCATE_OPTIONS.slice(FAULT_VARIANT_OPTIONS.length), PTE_ALLOC_OPTION, READAHEAD_ORDER_OPTION, PMD_OPTION],
  invariants: [
    'MAP-CACHE', 'MAP-EOF', 'MAP-COUNT', 'REF-COUNT', 'DEL-LOCKED', 'FAULT-SIGBUS', 'DATA-STAMP', 'FREE-BAD', 'FAULT-LOCKED',
    'LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'DEADLOCK', 'HUNG', 'CRASH', 'FAULT-RETRY', 'EOF-ZERO',
    'MIGRATE-ENTRY', 'PTE-TABLE', 'LOCK-ORDER',
  ],

  validate(cfg) {
    const bad = checkMmSizes(cfg, 'map-truncate');
    if (bad) return bad;
    let r: string[];
    try {
      r = roles(cfg);
    } catch (e) {
      return (e as Error).message;
    }
    if (cfg.extra.roles && r.length !== cfg.workers) return `--roles names ${r.length} actor(s) but --workers is ${cfg.workers}: give both the same count`;
    if (r.some((role) => role.split('+').includes('collapser')) && cfg.extra.pmd !== 'on') return '--roles collapser needs --pmd on: it collapses PTE-mapped PMD-sized folios';
    const unmapper = checkUnmapper(cfg);
    if (unmapper) return unmapper;
    const folios = checkFolioFlags(cfg);
    if (folios === null) applyPmdImplied(cfg);
    return folios;
  },

  roles,

  sizes: mmSizes,

  init: initMapTruncate,
  nextOp: (role, r, cfg, task) => nextOp(role, r, cfg, task),
  runOp,
  quiescentCheck: (shm): Finding[] => quiescentCheck(shm),
  liveCheck: (shm): Finding[] => liveCheck(shm),
  summary,
};

// ---- matrix cells -------------------------------------------------------------------------------
// The killable-wait lost wake-up of 5ef64cc8987a (docs/findings/killable-lost-wakeup.md) in the
// fault path: faulters lock killable, a killer sends fatal signals, a truncator queues behind them.
// Controlled mode found it on seed 1 with the random walk at iteration 73,092 (16 s): longer than a
// matrix share, so mainline's cell is open and reports what it saw; the proposed fix must be clean.
const KILLABLE_FAULTS = {
  workers: 4, extra: { 'killable-faults': true, roles: 'faulter,faulter,truncator,killer', files: 1, 'file-pages': 4 },
} as const;
const KILLABLE_SOURCE = 'lock_folio_maybe_drop_mmap() -> __folio_lock_killable(); docs/findings/killable-lost-wakeup.md';

// The 6.6 paths (COW of a present read-only PTE, fault retry, the partial last page) under every
// public lock algorithm: mainline user faults (FAULT_FLAG_ALLOW_RETRY | KILLABLE) without a killer,
// so no wait is interrupted and the v5.9-rc6 killable lost wake-up (the cells above) cannot show;
// the default roles do the COW writes, the truncations inside a page and the reads.
const SIX_SIX_PATHS = { 'fault-retry': true, 'killable-faults': true } as const;
const SIX_SIX_SOURCE = '6.6 mm/memory.c do_wp_page() / wp_page_copy(), mm/filemap.c filemap_fault() / lock_folio_maybe_drop_mmap(), '
  + 'arch/x86/mm/fault.c do_user_addr_fault(), mm/truncate.c truncate_inode_partial_folio()';
const SIX_SIX_CELLS: CellSpec[] = lockNames().map((lock) => ({
  name: `map-truncate/fault-retry=${lock}`, scenario: 'map-truncate', cfg: { lock, ...otherInvariantsUnfairness(lock), extra: SIX_SIX_PATHS },
  controlled: { workers: 3, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: SIX_SIX_SOURCE,
  reasoning: 'wp_page_copy() installs its copy only over the PTE it copied (re-checked under the PTL); a fault that dropped the '
    + 'mmap lock returns VM_FAULT_RETRY with the page unlocked and put, and is retried; truncation zeroes the last page\'s tail '
    + 'under its lock, and readers judge it only with no truncation in flight',
}));

// The self-tests of those paths (--variant, src/variants/mutants and src/variants/fault): each
// must be caught by the invariant its bug breaks, in both modes. The random walk finds them in
// controlled mode in a few thousand iterations at most (PCT's few change points rarely split a
// COW between its two PTL sections).
const SIX_SIX_MUTANT_CELLS: CellSpec[] = [
  {
    name: 'map-truncate/wp-copy-nopte-same', scenario: 'map-truncate',
    // two faulters (their read faults map what their writes then COW) against a truncator
    cfg: { workers: 3, variants: ['wp-copy-nopte-same'], extra: { roles: 'faulter,faulter,truncator', 'cow-permille': 500, files: 1, 'file-pages': 8 } },
    controlled: { workers: 3, opsPerActor: 4, strategy: 'random' },
    expected: { breaks: ['MAP-COUNT', 'REF-COUNT', 'MAP-EOF', 'FAULT-SIGBUS', 'DATA-STAMP', 'MAP-CACHE', 'DEL-LOCKED', 'FREE-BAD'] },
    source: 'mutant of wp_page_copy() (6.6 mm/memory.c: "Re-check the pte - we dropped the lock")',
    reasoning: 'a COW of a PTE that a zap or truncation cleared while the copy was made overwrites the none PTE and drops the old '
      + "page's mapcount a second time (MAP-COUNT), or leaves a copy beyond EOF after truncation's unmaps (MAP-EOF)",
  },
  {
    name: 'map-truncate/fault-killed-locked', scenario: 'map-truncate',
    cfg: { workers: 4, variants: ['fault-killed-locked'], extra: { ...KILLABLE_FAULTS.extra, 'fault-retry': true } },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' },
    expected: { breaks: ['FAULT-LOCKED', 'LOCK-UNLOCK'] },
    source: 'mutant of lock_folio_maybe_drop_mmap() (6.6 mm/filemap.c: __folio_lock_killable() -> out_retry)',
    reasoning: 'a faulter killed while it waits for the page lock goes on as if it held it: the VM_FAULT_LOCKED hand-over check '
      + '(FAULT-LOCKED) or its unlock of a page it does not own (LOCK-UNLOCK) fires',
  },
  {
    name: 'map-truncate/truncate-nozero', scenario: 'map-truncate', cfg: { variants: ['truncate-nozero'] },
    controlled: { workers: 3, opsPerActor: 4, strategy: 'random' }, expected: { breaks: ['EOF-ZERO'] },
    source: 'mutant of truncate_inode_partial_folio() (6.6 mm/truncate.c: folio_zero_range())',
    reasoning: 'a truncation to a size inside a cached, mapped page leaves its tail: a read through a PTE sees data beyond EOF',
  },
];

export const MAP_TRUNCATE_CELLS: readonly CellSpec[] = [
  {
    name: 'map-truncate/killable-faults', scenario: 'map-truncate', cfg: { lock: 'v5.9-rc6', ...KILLABLE_FAULTS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'open', source: KILLABLE_SOURCE,
    reasoning: 'a faulter killed while queued on the page lock is woken without the lock before its finish_wait() and returns '
      + '-EINTR (VM_FAULT_RETRY); the truncator queued behind it may sleep on an unlocked page (DEADLOCK in controlled mode)',
  },
  {
    name: 'map-truncate/killable-faults-wakefix', scenario: 'map-truncate', cfg: { lock: 'v5.9-rc6-wakefix', ...KILLABLE_FAULTS },
    controlled: { workers: 4, opsPerActor: 4, strategy: 'random' }, expected: 'clean', source: KILLABLE_SOURCE,
    reasoning: 'with the proposed fix the killed faulter takes the lock it was woken for (and its fault path unlocks it) or the '
      + 'page is locked again by someone whose unlock wakes the queue: no wake-up is lost',
  },
  ...SIX_SIX_CELLS,
  ...SIX_SIX_MUTANT_CELLS,
];
