// Reports are written atomically: the data goes to a temporary file in the same directory, is
// flushed, then renamed over the target. A reader (a CI job, a second terminal, an interrupted
// run) sees the old file or the whole new one, never half a file.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

/** Create `dir` (and parents) and prove a report can be written there, before any work starts.
 * Throws the file-system error (EACCES, ENOTDIR, EROFS, ...) when it cannot. */
export function ensureWritableDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const probe = join(dir, '.write-probe');
  writeFileAtomic(probe, 'probe\n');
  rmSync(probe, { force: true });
}
