// claimReportDir (src/report/dirs.ts): a report directory holding another run's reports is refused
// unless forced (then those files go, so no stale repro stays beside the new report); a directory
// another live process is writing is refused even with force; a lock left by a dead process is
// taken over; /proc-like paths fail at once instead of hanging.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimReportDir, LOCK_FILE, ReportDirError, reportFilesIn } from '../../src/report/dirs.ts';
import { ensureWritableDir, makeDirs } from '../../src/report/atomic.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pls-dirs-'));

describe('claimReportDir', () => {
  it('a fresh directory: made, locked while claimed, unlocked on release', () => {
    const d = join(tmp, 'fresh', 'deep');
    const c = claimReportDir(d);
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
    expect(() => claimReportDir(d)).toThrow(/already being written by this process/);
    c.release();
    c.release();
    expect(readdirSync(d)).toEqual([]);
  });

  it("another run's reports: refused without force, removed with it (repro files too); other files stay", () => {
    const d = join(tmp, 'used');
    mkdirSync(d);
    for (const f of ['run.json', 'summary.md', 'junit.xml', 'index.html', 'repro-locks-DEADLOCK-s1-i0.json', 'repro-locks-DEADLOCK-s1-i0.min.md', 'notes.txt'])
      writeFileSync(join(d, f), 'x');
    expect(reportFilesIn(d)).toEqual(['index.html', 'junit.xml', 'repro-locks-DEADLOCK-s1-i0.json', 'repro-locks-DEADLOCK-s1-i0.min.md', 'run.json', 'summary.md']);
    let err: unknown;
    try {
      claimReportDir(d, { shown: 'used' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReportDirError);
    expect((err as Error).message).toMatch(/^used holds the reports of another run \(index\.html, junit\.xml, repro-locks-DEADLOCK-s1-i0\.json, \.\.\.\); give --force to replace them, or choose another --report-dir$/);
    expect(existsSync(join(d, LOCK_FILE))).toBe(false); // a refusal leaves no lock behind
    const c = claimReportDir(d, { force: true });
    expect(c.removed).toHaveLength(6);
    expect(readdirSync(d).sort()).toEqual([LOCK_FILE, 'notes.txt'].sort());
    c.release();
  });

  it('files a writer may replace (an earlier merge) are no other run', () => {
    const d = join(tmp, 'merged');
    mkdirSync(d);
    writeFileSync(join(d, 'summary.md'), 'x');
    const c = claimReportDir(d, { replaceable: ['summary.md', 'junit.xml', 'index.html'] });
    expect(c.removed).toEqual([]);
    expect(existsSync(join(d, 'summary.md'))).toBe(true);
    c.release();
  });

  it('a directory another live process writes: refused, even with force; a dead one\'s lock is taken over', async () => {
    const d = join(tmp, 'busy');
    mkdirSync(d);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(d, LOCK_FILE), `pid ${child.pid}\nstarted now\n`);
      expect(() => claimReportDir(d, { force: true, shown: 'busy' })).toThrow(new RegExp(`^busy is in use: another pagelock-stress \\(pid ${child.pid}\\) is writing reports there`));
    } finally {
      child.kill();
    }
    // a process that is gone
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(d, LOCK_FILE), `pid ${gone.stdout}\nstarted then\n`);
    const c = claimReportDir(d);
    c.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
  });

  it('paths that cannot be made fail at once with their code (no Node 20 recursive-mkdir hang)', () => {
    const code = (f: () => void) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as NodeJS.ErrnoException).code;
      }
    };
    expect(code(() => makeDirs('/proc/pls-nope/deeper'))).toBe('ENOENT');
    expect(code(() => claimReportDir('/proc/pls-nope'))).toBe('ENOENT');
    writeFileSync(join(tmp, 'plain'), 'x');
    expect(code(() => ensureWritableDir(join(tmp, 'plain', 'sub')))).toBe('ENOTDIR');
    expect(code(() => makeDirs(join(tmp, 'a', 'b', 'c')))).toBe('ok');
  });
});

describe('claimReportDir, lock only', () => {
  it('refuse: false takes the lock and leaves what is there', () => {
    const d = join(tmp, 'lock-only');
    mkdirSync(d);
    writeFileSync(join(d, 'repro-x.json'), '{}');
    const c = claimReportDir(d, { refuse: false });
    expect(c.removed).toEqual([]);
    expect(readdirSync(d).sort()).toEqual([LOCK_FILE, 'repro-x.json'].sort());
    c.release();
  });
});
