// A million-page model must start: layout, initShm and the scenario's init (half the pages put in
// the page cache) in one go, and a whole-state check over it. Times are logged, not asserted.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld } from '../helpers/mm-fixture.ts';
import { CTL } from '../../src/shm/layout.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';

describe('mm model: a million pages', () => {
  it('initialises 1,000,000 pages and checks them', () => {
    const cfg = mmConfig(
      { files: 64, 'file-pages': 16384, processes: 4, vmas: 4, 'vma-pages': 16384, 'ptes-per-ptl': 512 },
      { pages: 1_000_000, workers: 4 },
    );
    const t0 = performance.now();
    const { shm } = mmWorld(cfg);
    const t1 = performance.now();
    expect(shm.ctl[CTL.FREE_COUNT]).toBe(500_000);
    expect(shm.nrpages.reduce((a, b) => a + b, 0)).toBe(500_000);
    expect(quiescentCheck(shm)).toEqual([]);
    const t2 = performance.now();
    expect(liveCheck(shm)).toEqual([]);
    const t3 = performance.now();
    console.log(`1M pages: ${(shm.layout.bytes / 2 ** 20).toFixed(1)} MiB shared, layout+init ${(t1 - t0).toFixed(0)} ms, ` +
      `quiescent check ${(t2 - t1).toFixed(0)} ms, live check ${(t3 - t2).toFixed(0)} ms`);
  });
});
