// Claiming a report directory: a run's reports are never written over another run's silently.
//
// claimReportDir(dir, { force }) makes the directory (without hanging on /proc-like paths: see
// makeDirs), proves it writable, takes its lock file and refuses it when
//   - another live process holds the lock (two writers would mix one run's run.json with the
//     other's summary.md), with or without --force;
//   - it holds another run's reports (a run.json, a summary.md, repro files), unless `force`:
//     then those files are removed first, so no stale repro file stays beside the new report.
// The lock is released by release() or, at the latest, when the process exits. A lock left by a
// process that is gone (SIGKILL) is taken over.
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureWritableDir } from './atomic.ts';
import { REPORT_WRITERS } from './write.ts';

export const LOCK_FILE = '.pagelock-stress.lock';

/** Why a directory cannot be claimed: one line, for the user (exit 2). */
export class ReportDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportDirError';
  }
}

export interface ReportDirClaim {
  dir: string;
  /** files of an earlier run removed (force only) */
  removed: string[];
  /** drop the lock (idempotent) */
  release(): void;
}

export interface ClaimOptions {
  /** replace another run's reports there (--force) */
  force?: boolean;
  /** how the directory is named in messages (default: the path) */
  shown?: string;
  /** the flag that names it, for the hint (default --report-dir) */
  flag?: string;
  /** files that may be written over without `force` (merge: an earlier merge's own files) */
  replaceable?: readonly string[];
  /** false: only the lock (writers whose file names never collide, such as explore's finds);
   * another run's reports are neither refused nor removed. Default true. */
  refuse?: boolean;
}

/** Report files a run leaves (run.json, summary.md, junit.xml, index.html), the run's repro files
 * and their diagrams, and checkpoints' leftovers. */
export function reportFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const own = new Set(REPORT_WRITERS.map((w) => w.file));
  return names.filter((n) => own.has(n) || /^repro-.*\.(json|md)$/.test(n)).sort();
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file, or NaN when it is unreadable. */
function lockHolder(path: string): number {
  try {
    return Number(/^pid (\d+)/.exec(readFileSync(path, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

const held = new Set<string>();
let exitHook = false;

function takeLock(dir: string, shown: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `pid ${process.pid}\nstarted ${new Date().toISOString()}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw e;
      const pid = lockHolder(path);
      if (pid === process.pid && !held.has(path)) {
        // our own pid, but not our lock: a leftover of an earlier process that had our pid
      } else if (pid === process.pid) {
        throw new ReportDirError(`${shown} is already being written by this process`);
      } else if (alive(pid)) {
        throw new ReportDirError(`${shown} is in use: another pagelock-stress (pid ${pid}) is writing reports there (its lock: ${LOCK_FILE}); choose another directory`);
      } else if (Number.isNaN(pid) && attempt === 0) {
        // being written right now by a process that has just created it: look again
        continue;
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  held.add(path);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const p of held) rmSync(p, { force: true });
    });
  }
  return () => {
    if (!held.delete(path)) return;
    rmSync(path, { force: true });
  };
}

/**
 * Claim `dir` for one run's reports (see the top of this file). Throws ReportDirError (one line,
 * meant for exit 2) when another process writes there or when it holds another run's reports and
 * `force` is not set; throws the file-system error (code ENOENT, EACCES, ...) when it cannot be
 * made or written.
 */
export function claimReportDir(dir: string, o: ClaimOptions = {}): ReportDirClaim {
  const shown = o.shown ?? dir;
  ensureWritableDir(dir);
  const release = takeLock(dir, shown);
  try {
    if (o.refuse === false) return { dir, removed: [], release };
    const old = reportFilesIn(dir);
    const foreign = old.filter((f) => !o.replaceable?.includes(f));
    if (foreign.length && !o.force) {
      throw new ReportDirError(`${shown} holds the reports of another run (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); `
        + `give --force to replace them, or choose another ${o.flag ?? '--report-dir'}`);
    }
    const removed = o.force ? old : [];
    for (const f of removed) rmSync(join(dir, f), { force: true });
    return { dir, removed, release };
  } catch (e) {
    release();
    throw e;
  }
}
