// The commit the start line and run.json carry: real in a checkout, 'unknown' (never a throw)
// outside one.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitInfo, packageRoot, toolVersion } from '../../src/run/gitinfo.ts';

describe('gitInfo', () => {
  it('outside a git checkout: unknown, no throw', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pls-nogit-'));
    expect(gitInfo(dir)).toEqual({ commit: 'unknown', short: 'unknown', dirty: false, label: 'unknown' });
  });

  it('in a checkout: the commit, and -dirty when tracked files changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pls-git-'));
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...a], { cwd: dir, encoding: 'utf8' }).trim();
    try {
      git('init', '-q');
    } catch {
      return; // no git on this machine: the 'unknown' case above covers it
    }
    expect(gitInfo(dir).commit).toBe('unknown'); // no commit yet
    execFileSync('sh', ['-c', 'echo a > f && git add f'], { cwd: dir });
    git('commit', '-q', '-m', 'x');
    const head = git('rev-parse', 'HEAD');
    // gitInfo caches per directory string: each state is asked under a different spelling of dir
    expect(gitInfo(`${dir}/`)).toMatchObject({ commit: head, short: head.slice(0, 7), dirty: false, label: head.slice(0, 7) });
    execFileSync('sh', ['-c', 'echo b > f && echo new > untracked'], { cwd: dir });
    expect(gitInfo(`${dir}/./`)).toMatchObject({ commit: head, dirty: true, label: `${head.slice(0, 7)}-dirty` });
  });

  it('finds the package root and version', () => {
    expect(toolVersion(packageRoot())).toMatch(/^\d+\.\d+\.\d+/);
  });
});
