// Which code ran: the git commit of the tool's own checkout and whether it had uncommitted
// changes (a run from a dirty tree cannot be reproduced from the commit alone). Outside a git
// checkout (a tarball, an npm install) this reports 'unknown' and never throws.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GitInfo {
  /** full commit id, or 'unknown' */
  commit: string;
  /** first 7 characters, or 'unknown' */
  short: string;
  /** tracked files differ from the commit */
  dirty: boolean;
  /** `abc1234`, `abc1234-dirty` or `unknown` (what the start line prints) */
  label: string;
}

/** The directory holding the tool's package.json (works from src/ and from dist/src/). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if (JSON.parse(readFileSync(p, 'utf8')).name === 'pagelock-stress') return dir;
      } catch { /* not ours: keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}

export function toolVersion(root = packageRoot()): string {
  try {
    return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const UNKNOWN: GitInfo = { commit: 'unknown', short: 'unknown', dirty: false, label: 'unknown' };

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

const cache = new Map<string, GitInfo>();

export function gitInfo(dir = packageRoot()): GitInfo {
  const hit = cache.get(dir);
  if (hit) return hit;
  let info = UNKNOWN;
  try {
    const commit = git(dir, ['rev-parse', 'HEAD']);
    if (/^[0-9a-f]{40,64}$/.test(commit)) {
      let dirty = false;
      try {
        // untracked files (reports, scratch) do not change what ran
        dirty = git(dir, ['status', '--porcelain', '--untracked-files=no']) !== '';
      } catch { /* status failed: say clean rather than fail the run */ }
      const short = commit.slice(0, 7);
      info = { commit, short, dirty, label: dirty ? `${short}-dirty` : short };
    }
  } catch {
    // no git, not a checkout, or a repository without commits
  }
  cache.set(dir, info);
  return info;
}
