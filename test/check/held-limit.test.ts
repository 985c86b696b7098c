// The held-lock list past MAX_HELD (Task.heldAdd; LOCK-LEAK, lockdep and the wait-for graph read
// it). A lock beyond MAX_HELD used to be counted but not listed: its unlock (heldDrop) did not
// find it, the count stayed up and the operation ended in a false LOCK-LEAK naming a page the
// list kept from before a shift (collapse --collapse-pages 20, free mode: "LOCK-LEAK ... page 30
// [... owner none]"). Now the scenarios refuse a configuration that would hold more, and a path
// that would take one anyway stops with a model-limit error, never a protocol violation.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { MAX_HELD } from '../../src/shm/layout.ts';
import { PageLocked } from '../../src/shm/page.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { collapseFile } from '../../src/mm/khugepaged.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { collapseScenario } from '../../src/scenarios/collapse.ts';
import { fuseWriteScenario } from '../../src/scenarios/fuse-write.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';

const FILE_PAGES = MAX_HELD + 4;

describe('page locks held past MAX_HELD', () => {
  it('collapse_file() holding exactly MAX_HELD page locks: every unlock found, nothing left held', () => {
    const w = mmWorld(mmConfig({ 'file-pages': FILE_PAGES, files: 1 }, { pages: 64 }));
    const t = w.task(0);
    expect(run(collapseFile(t, 0, 0, MAX_HELD))).toBe('SCAN_SUCCEED');
    expect(w.shm.heldCount[0]).toBe(0);
    expect(quiescentCheck(w.shm)).toEqual([]);
    expect(readViolations(w.shm)).toEqual([]);
  });

  it('one more is a model limit: the lock that would not be listed stops the run with a clear error, no LOCK-LEAK', () => {
    const w = mmWorld(mmConfig({ 'file-pages': FILE_PAGES, files: 1 }, { pages: 64 }));
    const t = w.task(0);
    expect(() => run(collapseFile(t, 0, 0, MAX_HELD + 1))).toThrow(/model limit: task 0 takes page lock \d+ while holding 16 already/);
    // it stopped at the 17th trylock: the 16 listed ones are exactly the ones locked
    const pages = Array.from({ length: MAX_HELD + 1 }, (_, i) => xaLoad(w.shm, 0, i));
    expect(t.heldPages()).toEqual(pages.slice(0, MAX_HELD));
    expect(pages.map((p) => PageLocked(w.shm, p))).toEqual([...pages.slice(0, MAX_HELD).map(() => true), true]);
    expect(readViolations(w.shm)).toEqual([]);
  });

  it('the scenarios refuse the configurations that would hold more: collapse --collapse-pages, fuse-write pre-fix --max-pages', () => {
    const cfg = (scenario: string, extra: RunConfig['extra']): RunConfig => ({ ...DEFAULTS, scenario, workers: 3, pages: 128, extra });
    expect(collapseScenario.validate!(cfg('collapse', { 'collapse-pages': MAX_HELD, 'file-pages': 32 }))).toBeNull();
    expect(collapseScenario.validate!(cfg('collapse', { 'collapse-pages': MAX_HELD + 1, 'file-pages': 32 })))
      .toMatch(/--collapse-pages 17 is more than the model's 16 page locks held at once/);
    // the range is cut to the file: 40 pages of a 16-page file are 16
    expect(collapseScenario.validate!(cfg('collapse', { 'collapse-pages': 40, 'file-pages': MAX_HELD }))).toBeNull();
    const fuse = (extra: RunConfig['extra']) => fuseWriteScenario.validate!(cfg('fuse-write', extra));
    expect(fuse({ fuse: 'pre-fix', 'max-pages': 20, 'write-pages': 20 })).toMatch(/a WRITE of up to 20 pages .* more than the model's 16 page locks/);
    expect(fuse({ fuse: 'pre-fix', 'max-pages': 20, 'write-pages': 3 })).toBeNull(); // a WRITE spans at most 4 pages
    expect(fuse({ fuse: 'fixed', 'max-pages': 20, 'write-pages': 20 })).toBeNull(); // fixed: one page kept locked
  });
});
