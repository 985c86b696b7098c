// Scenario `fuse-write`: the fuse buffered write path (src/mm/fuse.ts) with source buffers that are
// shared mmaps of the files being written — Vivek's reproducer generalised (kernel-protocols §2.3):
//   writer     pwrite(fd of file D, buffer = a byte range of this process's shared mmap of file S,
//              at a byte position of D): fuse_perform_write() under D's inode lock. S == D is the
//              self-deadlock of the reproducer (the page to fault in is one this WRITE holds
//              locked); S != D with another writer doing the reverse is the ABBA.
//   zapper     MADV_DONTNEED a range of any mmap: source PTEs vanish, so fault-ins really fault
//   reclaimer  drop clean pages: the next write creates a new, not-uptodate page (the partial
//              page the fix keeps locked)
//   reader     user loads through the mmaps (DATA-STAMP)
// --fuse pre-fix | fixed picks fuse_fill_write_pages() before or after 4f06dd92b5d0.
// Every process maps every file shared (MAP_SHARED, as in the reproducer), one VMA per file.
import type { Finding, Op, Scenario, ScenarioOption } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import { below, type Rng } from '../kernel/rng.ts';
import type { Step } from '../kernel/step.ts';
import type { Task, FuseWritePath } from '../kernel/task.ts';
import { MAX_FILE_PAGES, PAGE_SIZE } from '../shm/files.ts';
import { MAX_HELD } from '../shm/layout.ts';
import { VM_SHARED, type Shm } from '../shm/shm.ts';
import { vmaCount } from '../shm/mm.ts';
import { ZAP_ALL, readThroughPtes } from '../mm/memory.ts';
import { FUSE_WRITE_PATHS } from '../mm/fuse.ts';
import { quiescentCheck } from '../check/quiescent.ts';
import { liveCheck } from '../check/live.ts';
import { FAULT_VARIANT_OPTIONS, KILLABLE_NO_KILLER_HELP, initMapTruncate } from './map-truncate.ts';
import { checkRoles, roleParts, rolesOf } from './roles.ts';
import type { CellSpec } from '../kernel/cells.ts';

export const FUSE_ROLES = ['writer', 'zapper', 'reclaimer', 'reader'] as const;

export function fuseDefaultRoles(workers: number): string[] {
  switch (workers) {
    case 1: return ['writer+zapper+reclaimer+reader'];
    case 2: return ['writer', 'writer+zapper+reclaimer'];
  }
  return Array.from({ length: workers }, (_, i) => (i === workers - 1 ? 'zapper+reclaimer+reader' : 'writer'));
}

export const FUSE_OPTIONS: readonly ScenarioOption[] = [
  ...FAULT_VARIANT_OPTIONS.map((o) => (o.name === 'killable-faults' ? { ...o, help: KILLABLE_NO_KILLER_HELP } : o)),
  { name: 'fuse', kind: 'enum', default: 'fixed', choices: FUSE_WRITE_PATHS, help: 'fuse_fill_write_pages(): pre-fix (every page of a WRITE kept locked while faulting in the next source page) or fixed (4f06dd92b5d0)' },
  { name: 'files', kind: 'int', default: 2, min: 1, max: 64, help: 'files; every process maps each one shared' },
  { name: 'file-pages', kind: 'int', default: 8, min: 3, max: MAX_FILE_PAGES, help: 'pages per file' },
  { name: 'processes', kind: 'int', default: 2, min: 1, max: 64, help: 'processes (mm); writer n writes from process n mod processes' },
  { name: 'max-pages', kind: 'int', default: 4, min: 1, max: 256, help: 'pages per WRITE request (fc->max_pages)' },
  { name: 'write-pages', kind: 'int', default: 3, min: 1, max: 256, help: 'largest write, in pages (sizes are in bytes, often not page aligned)' },
  { name: 'ptes-per-ptl', kind: 'int', default: 8, min: 1, max: 1 << 20, help: 'PTEs per split page-table lock' },
  { name: 'fault-around', kind: 'int', default: 16, min: 1, max: 1 << 20, help: 'fault-around window in pages (1 = off)' },
  { name: 'roles', kind: 'string', default: '', help: `actor roles (${FUSE_ROLES.join(', ')}), comma-separated, '+' joins, '*N' repeats; empty = default mix for --workers` },
];

interface FuseConfig {
  files: number;
  filePages: number;
  processes: number;
  maxPages: number;
  writePages: number;
  ptesPerPtl: number;
}

const num = (cfg: RunConfig, name: string, def: number): number => {
  const v = cfg.extra[name];
  return v === undefined || v === '' ? def : Number(v);
};

function fuseConfig(cfg: RunConfig): FuseConfig {
  return {
    files: num(cfg, 'files', 2), filePages: num(cfg, 'file-pages', 8), processes: num(cfg, 'processes', 2),
    maxPages: num(cfg, 'max-pages', 4), writePages: num(cfg, 'write-pages', 3), ptesPerPtl: num(cfg, 'ptes-per-ptl', 8),
  };
}

/** Process p's VMA of file f. */
const vmaOf = (c: FuseConfig, process: number, file: number): number => process * c.files + file;

const roles = (cfg: RunConfig) => rolesOf(cfg, FUSE_ROLES, fuseDefaultRoles);

function nextOp(role: string, r: Rng, cfg: RunConfig, task: number): Op {
  const c = fuseConfig(cfg);
  const parts = roleParts(role);
  const part = parts[below(r, parts.length)];
  const size = c.filePages * PAGE_SIZE;
  switch (part) {
    case 'writer': {
      // a write of 1 byte .. write-pages pages, from a source range near the destination
      // (a page or so either way, as in the reproducer), often not page aligned
      const len = 1 + below(r, Math.min(c.writePages * PAGE_SIZE, size - 1));
      const dst = below(r, size - len + 1);
      const shift = (below(r, 3) - 1) * PAGE_SIZE + below(r, 2 * 64) - 64;
      const src = Math.max(0, Math.min(size - len, dst + shift));
      const dstFile = below(r, c.files), srcFile = below(r, c.files);
      return { kind: 'pwrite', args: [dstFile, dst, vmaOf(c, task % c.processes, srcFile), src, len] };
    }
    case 'zapper': {
      const vma = below(r, c.processes * c.files), index = below(r, c.filePages);
      return { kind: 'zap', args: [vma, index, Math.min(c.filePages, index + 1 + below(r, c.ptesPerPtl))] };
    }
    case 'reclaimer':
      return { kind: 'reclaim', args: [below(r, c.files), below(r, c.filePages), 1 + below(r, 3)] };
    case 'reader': {
      const vma = below(r, c.processes * c.files), index = below(r, c.filePages);
      return { kind: 'read', args: [vma, index, Math.min(c.filePages, index + 1 + below(r, c.ptesPerPtl))] };
    }
  }
  throw new Error(`fuse-write: unknown role '${part}'`);
}

function* runOp(t: Task, _role: string, op: Op, cfg: RunConfig): Step {
  const a = op.args;
  switch (op.kind) {
    case 'pwrite': {
      const path = String(t.options.fuse ?? 'fixed') as FuseWritePath;
      const [file, pos, vma, off, count] = a;
      yield* t.ops.fuse.fusePerformWrite(t, path, file, pos, { vma, off, count }, fuseConfig(cfg).maxPages);
      return;
    }
    case 'zap':
      yield* t.ops.rmap.zapPteRange(t, a[0], a[1], a[2], ZAP_ALL);
      return;
    case 'reclaim':
      for (let i = 0; i < a[2]; i++) yield* t.ops.reclaim.shrinkPage(t, a[0], (a[1] + i) % t.shm.sizes.pagesPerFile);
      return;
    case 'read':
      yield* readThroughPtes(t, a[0], a[1], a[2]);
      return;
  }
  throw new Error(`fuse-write: unknown op '${op.kind}'`);
}

export const fuseWriteScenario: Scenario = {
  name: 'fuse-write',
  description: 'fuse buffered writes whose source buffer is a shared mmap of the written files (fuse_fill_write_pages before/after 4f06dd92b5d0), with zaps and reclaim',
  options: FUSE_OPTIONS,
  invariants: [
    'DEADLOCK', 'HUNG', 'MAP-CACHE', 'MAP-COUNT', 'REF-COUNT', 'DEL-LOCKED', 'FAULT-LOCKED', 'DATA-STAMP', 'FREE-BAD',
    'LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-WAITERS', 'LOCK-WAKE', 'CRASH',
  ],
  validate(cfg) {
    if (cfg.pages < 4) return `--pages ${cfg.pages} is too small for fuse-write: give at least 4`;
    // pre-fix, fuse_fill_write_pages() keeps every page of a WRITE locked until the reply: up to
    // --max-pages, or the pages the largest write spans (--write-pages + 1 when not page aligned)
    const c = fuseConfig(cfg), held = Math.min(c.maxPages, c.writePages + 1);
    if (held > MAX_HELD && cfg.extra.fuse === 'pre-fix') return `fuse-write --fuse pre-fix: a WRITE of up to ${held} pages (--max-pages ${c.maxPages}, --write-pages ${c.writePages}) keeps them all locked, more than the model's ${MAX_HELD} page locks held at once`;
    return checkRoles(cfg, FUSE_ROLES, fuseDefaultRoles);
  },
  roles,
  sizes(cfg) {
    const c = fuseConfig(cfg);
    return {
      pages: cfg.pages, buckets: cfg.buckets, files: c.files, pagesPerFile: c.filePages,
      processes: c.processes, vmasPerProcess: c.files, ptesPerVma: c.filePages, ptesPerPtl: c.ptesPerPtl,
    };
  },
  init(shm: Shm, cfg: RunConfig) {
    // map-truncate's files and page cache (full size, uptodate); then every VMA k maps file
    // k mod files from offset 0, shared
    const c = fuseConfig(cfg);
    initMapTruncate(shm, { ...cfg, extra: { ...cfg.extra, files: c.files, 'file-pages': c.filePages, processes: c.processes, vmas: c.files, 'vma-pages': c.filePages } });
    for (let k = 0; k < vmaCount(shm); k++) {
      shm.vmaFile[k] = k % c.files;
      shm.vmaPgoff[k] = 0;
      shm.vmaLen[k] = c.filePages;
      shm.vmaFlags[k] = VM_SHARED;
    }
  },
  nextOp: (role, r, cfg, task) => nextOp(role, r, cfg, task),
  runOp,
  quiescentCheck: (shm): Finding[] => quiescentCheck(shm),
  liveCheck: (shm): Finding[] => liveCheck(shm),
};

// ---- matrix cells -------------------------------------------------------------------------------

export const FUSE_WRITE_CELLS: readonly CellSpec[] = [
  {
    name: 'fuse-write/pre-fix', scenario: 'fuse-write', cfg: { extra: { fuse: 'pre-fix' }, workers: 3 }, controlled: { workers: 3, opsPerActor: 3 },
    expected: { breaks: ['DEADLOCK', 'HUNG'] },
    reasoning: 'fuse_fill_write_pages() keeps every page of a WRITE locked while faulting in the next source page: a source '
      + 'page this WRITE holds (self-deadlock, Vivek\'s reproducer) or one another writer holds while faulting on ours (ABBA)',
    source: 'Linus, Msg-ID CAHk-=wh9Eu-gNHzqgfvUAAiO=vJ+pWnzxkv+tX55xhGPFy+cOw@mail.gmail.com; Vivek, Msg-ID 20201015151606.GA226448@redhat.com; kernel-protocols §2.3',
  },
  {
    name: 'fuse-write/fixed', scenario: 'fuse-write', cfg: { extra: { fuse: 'fixed' }, workers: 3 }, controlled: { workers: 3, opsPerActor: 3 },
    expected: 'clean',
    reasoning: 'after 4f06dd92b5d0 at most one page is locked per WRITE — a partial write to a not-uptodate page, which ends the '
      + 'request — and the source is never faulted in with it held',
    source: '4f06dd92b5d0 "fuse: fix write deadlock" (Miklos, Msg-ID 20210209100115.GB1208880@miu.piliscsaba.redhat.com)',
  },
];
