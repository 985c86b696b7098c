// Reports are written atomically: the data goes to a temporary file in the same directory, is
// flushed, then renamed over the target. A reader (a CI job, a second terminal, an interrupted
// run) sees the old file or the whole new one, never half a file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

let counter = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * `mkdir -p` without `{ recursive: true }`: Node 20's recursive mkdirSync loops for ever on a path
 * whose parent exists but refuses children with ENOENT (/proc/x, /sys/...). Here every missing
 * component is made once, top down, and the first error is thrown as it is (ENOENT, EACCES,
 * ENOTDIR, EROFS, ...).
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw e;
    }
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Create `dir` (and parents) and prove a report can be written there, before any work starts.
 * Throws the file-system error (EACCES, ENOTDIR, EROFS, ENOENT for /proc/x, ...) when it cannot. */
export function ensureWritableDir(dir: string): void {
  makeDirs(dir);
  const probe = join(dir, '.write-probe');
  writeFileAtomic(probe, 'probe\n');
  rmSync(probe, { force: true });
}
