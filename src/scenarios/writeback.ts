// Scenario `writeback`: the write side of file mappings racing truncation, writeback and reclaim —
// and the fault paths before and after patches 1-3 of the seed thread (--fault-path).
//
// The model is map-truncate's (same files, VMAs shared and private, page cache, flags; see
// map-truncate.ts); the roles add writes:
//   writer     a store through a random VMA: a none PTE of a shared VMA is do_shared_fault()
//              (page_mkwrite: lock, re-check mapping, dirty; finish_fault maps it writable), a
//              read-only one is wp_page_shared(), a none PTE of a private VMA is do_cow_fault();
//              FAULT-SIGBUS is checked as map-truncate's faulter does
//   faulter    a read access (do_read_fault, fault-around first)
//   truncator  truncate_setsize(): shrink, or grow back to full (truncate waits for writeback)
//   writeback  write_cache_pages() over a range: per page lock, write-protect PTEs, clear dirty,
//              set PG_writeback, unlock; then the batch's I/O completes, end_page_writeback each
//              (wakes writeback waiters)
//   reclaimer  shrink pages (skips dirty and writeback pages)
//   zapper     MADV_DONTNEED a range
//   reader     user loads through the PTEs (DATA-STAMP)
//   fsync      file_write_and_wait_range(): write the range back, then wait for every page under
//              writeback there without its page lock (__filemap_fdatawait_range), WB-WAIT
//   pinner     get_user_pages(FOLL_WRITE) of one page, "DMA" into it, then set_page_dirty() with
//              only the reference held and put_page() (what __remove_mapping()'s re-check is for)
//   unmapper   (--pte-alloc) mmap(MAP_FIXED) of a VMA over itself: zap, free its PTE tables, map it
//              again (src/mm/mmap.ts; map-truncate's role). Never in the default mix.
// page_mkwrite waits for writeback under the page lock (wait_for_stable_page, --stable-pages);
// reclaim waits for writeback without it (shrink_folio_list() Case 3, --reclaim-wait-writeback).
// A writer's store through a writable PTE sets the PTE's dirty bit, which zap and try_to_unmap
// hand to the page; reclaim must never free a page with data not written back (RECLAIM-DIRTY).
//
// --pmd on (6.6; the pieces are map-truncate's, src/mm/huge_memory.ts): read faults and fault-around
// map a PMD-sized folio by a read-only huge PMD (filemap_map_pmd() / finish_fault() -> do_set_pmd()),
// and a shared write fault at the folio's head on a none PMD maps it writable and dirty (do_shared_fault()
// -> page_mkwrite -> finish_fault() -> do_set_pmd(): "maybe_pmd_mkwrite(pmd_mkdirty(entry), vma)").
// Every write path meets them: a store through a writable PMD sets its dirty bit (userStore()); a
// store through a read-only one faults, __handle_mm_fault() -> wp_huge_pmd() splits it for a file VMA
// (__split_huge_pmd(): cleared, its dirty bit handed to the folio) and the write goes on at the PTE
// level (VM_FAULT_FALLBACK: do_shared_fault() / do_cow_fault() on the none PMD); page_mkclean()
// write-protects and cleans it under the PMD lock (page_vma_mkclean_one()); GUP follows it for a read,
// and for FOLL_WRITE while it is writable (follow_trans_huge_pmd()), else faults; reclaim's
// try_to_unmap() splits it (TTU_SPLIT_HUGE_PMD); truncation and zaps clear it (zap_huge_pmd(),
// __split_huge_pmd()). No collapser here: 6.6 collapses a regular file's pages only while no one has
// it open for write (file_thp_enabled(): CONFIG_READ_ONLY_THP_FOR_FS).
import type { Finding, Op, Scenario, ScenarioOption } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, type Rng } from '../kernel/rng.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';
import { CTL } from '../shm/layout.ts';
import { NIL, PG_dirty, PG_writeback, PTE_ANON, PTE_DIRTY, PTE_WRITE, type Shm } from '../shm/shm.ts';
import { PAGE_SIZE, maxIndex, xaLoad } from '../shm/files.ts';
import { PMD_DIRTY, hugePmdPfn, mappingWordAt, mkHugePmd, pmdBits, pmdDirty, pmdTransHuge, pmdWrite, pteNone, ptePfn, ptePresent, pteSlot, ptlSlot } from '../shm/mm.ts';
import { VM_FAULT_OOM, VM_FAULT_SIGBUS } from '../kernel/fault.ts';
import { NO_FAULT, ZAP_ALL, readThroughPtes } from '../mm/memory.ts';
import { quiescentCheck } from '../check/quiescent.ts';
import { liveCheck } from '../check/live.ts';
import { KILLABLE_NO_KILLER_HELP, MAP_TRUNCATE_OPTIONS, PMD_OPTION, PTE_ALLOC_OPTION, applyPmdImplied, checkFolioFlags, checkMmSizes, initMapTruncate, mmSizes, mtConfig, vmaLayout } from './map-truncate.ts';
import { checkRoles, checkUnmapper, roleParts, rolesOf } from './roles.ts';
import { mmapReadLock, mmapReadUnlock } from '../mm/mmap.ts';

export const WRITEBACK_ROLES = ['writer', 'faulter', 'truncator', 'writeback', 'reclaimer', 'zapper', 'reader', 'fsync', 'pinner', 'migrator', 'unmapper'] as const;

/** Default actors by worker count: the writer and the truncator first (the race patch 3 opens),
 * then writeback, then one actor for the rest. */
export function writebackDefaultRoles(workers: number): string[] {
  switch (workers) {
    case 1: return ['writer+faulter+truncator+writeback+reader+zapper+reclaimer+fsync+pinner'];
    case 2: return ['writer+faulter+pinner', 'truncator+writeback+reader+zapper+reclaimer+fsync'];
    case 3: return ['writer', 'truncator', 'writeback+faulter+reader+zapper+reclaimer+fsync+pinner'];
  }
  const four = ['writer', 'truncator', 'writeback', 'faulter+reader+zapper+reclaimer+fsync+pinner'];
  return Array.from({ length: workers }, (_, i) => four[i % 4]);
}

const roles = (cfg: RunConfig) => rolesOf(cfg, WRITEBACK_ROLES, writebackDefaultRoles);

type Opt = ScenarioOption & { hiddenChoices?: readonly string[] };

/** Schedule points a pinned page's DMA lasts: long enough for writeback to clean the page and
 * reclaim to reach it meanwhile (a real transfer outlasts both by far). */
export const DMA_STEPS = 8;

export const WRITEBACK_OPTIONS: readonly Opt[] = [
  // --max-folio-order: large folios in the page cache, written back whole (write_cache_pages() over
  // folios, PG_writeback and PG_dirty on the folio, page_mkclean() of each of its pages); readahead
  // grows them as v6.6 does (map-truncate's --readahead-order uniform needs its faulter's draw)
  ...MAP_TRUNCATE_OPTIONS.filter((o) => o.name !== 'roles' && o.name !== 'cow-permille').map((o) => (o.name === 'killable-faults' ? { ...o, help: KILLABLE_NO_KILLER_HELP } : o)),
  { name: 'stable-pages', kind: 'bool', default: true, help: 'page_mkwrite waits for writeback under the page lock (wait_for_stable_page)' },
  { name: 'reclaim-wait-writeback', kind: 'bool', default: true, help: "reclaim meeting a page under writeback unlocks it and waits (shrink_folio_list() Case 3); off: keeps it (Case 2)" },
  { name: 'roles', kind: 'string', default: '', help: `actor roles (${WRITEBACK_ROLES.join(', ')}), comma-separated, '+' joins, '*N' repeats; empty = default mix for --workers` },  PTE_ALLOC_OPTION,
  { name: 'dma-steps', kind: 'int', default: DMA_STEPS, min: 0, max: 1 << 20, help: "schedule points a pinner's DMA into its pinned page lasts (between get_user_pages() and the owner's set_page_dirty() + put_page())" },
  PMD_OPTION,
];

function nextOp(role: string, r: Rng, cfg: RunConfig): Op {
  const c = mtConfig(cfg);
  const parts = roleParts(role);
  const part = parts[below(r, parts.length)];
  const vma = below(r, c.processes * c.vmas);
  const { pgoff } = vmaLayout(c, vma);
  const index = pgoff + below(r, c.vmaPages);
  const end = (n: number) => Math.min(pgoff + c.vmaPages, index + n);
  switch (part) {
    case 'writer': return { kind: 'write', args: [vma, index, end(1 + below(r, 3))] };
    case 'faulter': return { kind: 'fault', args: [vma, index] };
    case 'truncator': {
      const full = c.filePages * PAGE_SIZE;
      return { kind: 'truncate', args: [below(r, c.files), below(r, 2) === 0 ? full : below(r, full)] };
    }
    case 'writeback': {
      const file = below(r, c.files), start = below(r, c.filePages);
      return { kind: 'writeback', args: [file, start, Math.min(c.filePages, start + 1 + below(r, c.ptesPerPtl))] };
    }
    case 'reclaimer': return { kind: 'reclaim', args: [below(r, c.files), below(r, c.filePages), 1 + below(r, 4)] };
    case 'zapper': return { kind: 'zap', args: [vma, index, end(1 + below(r, 2 * c.ptesPerPtl))] };
    case 'reader': return { kind: 'read', args: [vma, index, end(1 + below(r, 2 * c.ptesPerPtl))] };
    case 'fsync': {
      const file = below(r, c.files), start = below(r, c.filePages);
      return { kind: 'fsync', args: [file, start, Math.min(c.filePages, start + 1 + below(r, c.ptesPerPtl))] };
    }
    case 'pinner': return { kind: 'pin', args: [vma, index] };
    // migrate_pages() of one page (never in the default mix): dirty pages, writeback, pins
    case 'migrator': return { kind: 'migrate', args: [below(r, c.files), below(r, c.filePages), below(r, 2)] };
    // mmap(MAP_FIXED) of the VMA over itself (never in the default mix)
    case 'unmapper': return { kind: 'munmap', args: [vma] };
  }
  throw new Error(`writeback: unknown role '${part}'`);
}

/**
 * One access through handle_mm_fault(), then two checks of what it left at that index:
 *  - FAULT-SIGBUS as map-truncate's faulter checks it: with no truncation started or in flight
 *    from before to after the fault, i_size was stable, so the fault returned SIGBUS exactly when
 *    the index is beyond EOF, and a SIGBUS mapped nothing;
 *  - MAP-EOF right away, not only at the next quiescent point: if no truncation started or was
 *    in flight while we read the PTE and i_size, a PTE (file or COW) at an index beyond EOF is a
 *    state truncation promised never to leave. (A quiescent check may come too late: the next
 *    truncation that grows the file back hides it.)
 */
export function* accessOp(t: Task, vma: number, index: number, write: boolean): Step {
  const shm = t.shm, ctl = shm.ctl, file = shm.vmaFile[vma];
  const seq = Atomics.load(ctl, CTL.TRUNC_SEQ), busy = Atomics.load(ctl, CTL.TRUNCATING);
  const size = Atomics.load(shm.iSize, file);
  yield* mmapReadLock(t, vma); // with an unmapper (src/mm/mmap.ts)
  const ret = yield* t.ops.fault.handleMmFault(t, vma, index, write);
  yield* mmapReadUnlock(t); // unless a VM_FAULT_RETRY dropped it
  if (ret === NO_FAULT || (ret & VM_FAULT_OOM)) return;
  checkMapEof(t, vma, index);
  const mappedNow = !pteNone(mappingWordAt(shm, vma, index)); // a PTE or a huge PMD
  if (busy !== 0 || Atomics.load(ctl, CTL.TRUNCATING) !== 0 || Atomics.load(ctl, CTL.TRUNC_SEQ) !== seq) return;
  const beyond = index >= maxIndex(size);
  const sigbus = (ret & VM_FAULT_SIGBUS) !== 0;
  if (beyond !== sigbus || (sigbus && mappedNow)) t.violation('FAULT-SIGBUS', t.page, file, index, size, ret);
}

/** MAP-EOF at one PTE (or the huge PMD over it), valid at any instant: the PTE and i_size are read between two readings of
 * the truncation counters that show no truncation started or in flight (i_size stable, and every
 * truncation that shrank it has finished both of its unmaps). */
export function checkMapEof(t: Task, vma: number, index: number): void {
  const shm = t.shm, ctl = shm.ctl, file = shm.vmaFile[vma];
  const seq = Atomics.load(ctl, CTL.TRUNC_SEQ);
  if (Atomics.load(ctl, CTL.TRUNCATING) !== 0) return;
  const pte = mappingWordAt(shm, vma, index), size = Atomics.load(shm.iSize, file); // a PTE or a huge PMD
  if (Atomics.load(ctl, CTL.TRUNCATING) !== 0 || Atomics.load(ctl, CTL.TRUNC_SEQ) !== seq) return;
  if (!pteNone(pte) && index >= maxIndex(size)) t.violation('MAP-EOF', ptePfn(pte), file, index, size, pte & PTE_ANON ? 1 : 0);
}

/** The user's store after a write access: the MMU sets the dirty bit of a present, writable PTE
 * with one locked RMW (as x86 does; page_mkclean() clears it with one too). A PTE that changed
 * meanwhile is retried by the MMU: the store then faults again, which the op does not redo. Through
 * a huge PMD the same: a writable PMD takes the dirty bit, a read-only one faults. */
export function* userStore(t: Task, vma: number, index: number): Step {
  const shm = t.shm, slot = pteSlot(shm, vma, index);
  t.aux = index;
  yield 'store';
  const pmd = Atomics.load(shm.pmd, ptlSlot(shm, vma, index));
  if (pmdTransHuge(pmd)) {
    if (pmdWrite(pmd) && !pmdDirty(pmd)) Atomics.compareExchange(shm.pmd, ptlSlot(shm, vma, index), pmd, mkHugePmd(hugePmdPfn(pmd), pmdBits(pmd) | PMD_DIRTY));
    return;
  }
  const pte = Atomics.load(shm.ptes, slot);
  if (!ptePresent(pte) || !(pte & PTE_WRITE) || (pte & PTE_DIRTY)) return; // a migration entry: the store faults
  Atomics.compareExchange(shm.ptes, slot, pte, pte | PTE_DIRTY);
}

/**
 * fsync of [start, end) of `file` (file_write_and_wait_range), checking WB-WAIT: every page of the
 * range whose writeback I/O was in flight when the call began (PG_writeback set and the page's I/O
 * count odd, read while the page stayed in its slot: a page leaves the page cache only after its
 * writeback ended) must have had that I/O complete (the count moved on) when the call returns.
 */
export function* fsyncOp(t: Task, file: number, start: number, end: number): Step {
  const shm = t.shm;
  const inflight: number[] = []; // pfn, index, I/O count
  t.page = -1;
  t.aux = start;
  yield 'vfs_fsync_range'; // the snapshot is taken when the call begins, not when the op was handed out
  for (let index = start; index < end; index++) {
    const pfn = xaLoad(shm, file, index);
    if (pfn === NIL || !(Atomics.load(shm.flags, pfn) & PG_writeback)) continue;
    const seq = Atomics.load(shm.wbSeq, pfn);
    if ((seq & 1) !== 0 && xaLoad(shm, file, index) === pfn) inflight.push(pfn, index, seq);
  }
  yield* t.ops.writeback.filemapWriteAndWaitRange(t, file, start, end);
  for (let i = 0; i < inflight.length; i += 3) {
    const pfn = inflight[i], seq = Atomics.load(shm.wbSeq, pfn);
    if (seq === inflight[i + 2]) t.violation('WB-WAIT', pfn, file, inflight[i + 1], inflight[i + 2], seq);
  }
}


/** A pinned writer: get_user_pages(FOLL_WRITE) of one page, the device writes into it (DMA_STEPS
 * steps in which the user mapping may go away, writeback may clean the page and reclaim may look
 * at it), then the owner dirties it with only the reference held and drops the pin. */
export function* pinOp(t: Task, vma: number, index: number): Step {
  yield* mmapReadLock(t, vma); // get_user_pages() under the mmap_lock (with an unmapper); the pin outlives it
  const pfn = yield* t.ops.writeback.getUserPage(t, vma, index, true);
  yield* mmapReadUnlock(t);
  if (pfn === NIL) return;
  const steps = Number(t.options['dma-steps'] ?? DMA_STEPS);
  for (let i = 0; i < steps; i++) {
    t.page = pfn;
    yield 'dma';
  }
  yield* t.ops.writeback.putUserPageDirty(t, pfn);
}

function* runOp(t: Task, _role: string, op: Op): Step {
  const a = op.args;
  switch (op.kind) {
    case 'write':
      for (let index = a[1]; index < a[2]; index++) {
        yield* accessOp(t, a[0], index, true);
        yield* userStore(t, a[0], index);
      }
      return;
    case 'fsync':
      return yield* fsyncOp(t, a[0], a[1], a[2]);
    case 'pin':
      return yield* pinOp(t, a[0], a[1]);
    case 'fault':
      return yield* accessOp(t, a[0], a[1], false);
    case 'truncate':
      return yield* t.ops.truncate.truncateSetsize(t, a[0], a[1]);
    case 'writeback':
      yield* t.ops.writeback.writeCachePages(t, a[0], a[1], a[2]);
      return;
    case 'reclaim':
      for (let i = 0; i < a[2]; i++) yield* t.ops.reclaim.shrinkPage(t, a[0], (a[1] + i) % t.shm.sizes.pagesPerFile);
      return;
    case 'zap':
      yield* mmapReadLock(t, a[0]); // madvise(MADV_DONTNEED), with an unmapper
      yield* t.ops.rmap.zapPteRange(t, a[0], a[1], a[2], ZAP_ALL);
      return yield* mmapReadUnlock(t);
    case 'read':
      yield* mmapReadLock(t, a[0]);
      yield* readThroughPtes(t, a[0], a[1], a[2]);
      return yield* mmapReadUnlock(t);
    case 'migrate':
      yield* t.ops.migrate.migratePages(t, a[0], a[1], a[2] === 1 ? 'sync' : 'async');
      return;
    case 'munmap':
      return yield* t.ops.rmap.mmapRegion(t, a[0]);
  }
  throw new Error(`writeback: unknown op '${op.kind}'`);
}

function summary(shm: Shm): Record<string, unknown> {
  let dirty = 0, writeback = 0, writablePtes = 0, cowPtes = 0, huge = 0, writableHuge = 0;
  for (let slot = 0; slot < shm.pmd.length; slot++) {
    if (pmdTransHuge(shm.pmd[slot])) huge++;
    if (pmdWrite(shm.pmd[slot])) writableHuge++;
  }
  for (let s = 0; s < shm.slots.length; s++) {
    const pfn = shm.slots[s] - 1;
    if (pfn < 0) continue;
    if (shm.flags[pfn] & PG_dirty) dirty++;
    if (shm.flags[pfn] & PG_writeback) writeback++;
  }
  for (let i = 0; i < shm.ptes.length; i++) {
    const pte = shm.ptes[i];
    if (!ptePresent(pte)) continue; // none, or a migration entry (maps nothing)
    if (pte & PTE_ANON) cowPtes++;
    else if (pte & PTE_WRITE) writablePtes++;
  }
  return { dirtyPages: dirty, writebackPages: writeback, writableFilePtes: writablePtes, cowPtes, freePages: shm.ctl[CTL.FREE_COUNT], ...(huge > 0 ? { hugePmds: huge, writableHugePmds: writableHuge } : {}) };
}

export const writebackScenario: Scenario = {
  name: 'writeback',
  description: 'shared and private write faults (do_shared_fault + page_mkwrite, wp_page_shared, do_cow_fault; --fault-path), fsync waiters and pinned writers racing writeback, truncation and reclaim',
  options: WRITEBACK_OPTIONS,
  invariants: [
    'MAP-CACHE', 'MAP-EOF', 'MAP-COUNT', 'REF-COUNT', 'DEL-LOCKED', 'FAULT-SIGBUS', 'FAULT-LOCKED', 'DATA-STAMP', 'FREE-BAD',
    'LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'DEADLOCK', 'HUNG', 'CRASH', 'WB-WAIT', 'RECLAIM-DIRTY',
    'MIGRATE-ENTRY', 'PTE-TABLE', 'LOCK-ORDER', 'WB-MKCLEAN',
  ],
  validate(cfg) {
    const bad = checkMmSizes(cfg, 'writeback') ?? checkFolioFlags(cfg) ?? checkRoles(cfg, WRITEBACK_ROLES, writebackDefaultRoles) ?? checkUnmapper(cfg);
    if (bad === null) applyPmdImplied(cfg);
    return bad;
  },
  roles,
  sizes: mmSizes,
  init: initMapTruncate,
  nextOp: (role, r, cfg) => nextOp(role, r, cfg),
  runOp,
  quiescentCheck: (shm): Finding[] => quiescentCheck(shm),
  liveCheck: (shm): Finding[] => liveCheck(shm),
  summary,
};
