// collapse_file() (src/mm/khugepaged.ts) and Hugh's hit: under patch 4 a private-mapping
// fault-around installs a PTE between collapse's unmap and its VM_BUG_ON_PAGE(page_mapped(page))
// (COLLAPSE-MAPPED); with mainline's trylock it cannot.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { pteNone, pteRead, ptePfn } from '../../src/shm/mm.ts';
import { PageLocked } from '../../src/shm/page.ts';
import { handleMmFault } from '../../src/mm/memory.ts';
import { collapseFile } from '../../src/mm/khugepaged.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { collapseScenario } from '../../src/scenarios/collapse.ts';
import type { Task } from '../../src/kernel/task.ts';

const SHARED0 = 0, PRIVATE0 = 2;
const START = 4, NR = 4, INDEX = 4; // collapse [4, 8) of file 0; the race is on its first page

function world(mapPages: string) {
  const w = mmWorld(mmConfig({ 'map-pages': mapPages, 'fault-around': 1 }));
  return { ...w, collapser: w.task(0), mapper: w.task(1), other: w.task(2) };
}
const mapOne = (t: Task, vma: number) => t.ops.vmOps.mapPages(t, { vma, file: 0, index: INDEX }, INDEX, INDEX + 1);

describe('collapse_file()', () => {
  it('alone: locks, unmaps, freezes each page, then rolls back: everything as it was, nothing mapped in the range', () => {
    const { shm, collapser, other } = world('mainline');
    run(handleMmFault(other, SHARED0, INDEX, false));
    run(handleMmFault(other, PRIVATE0, INDEX + 1, false));
    const pages = [4, 5, 6, 7].map((i) => xaLoad(shm, 0, i));
    expect(run(collapseFile(collapser, 0, START, NR))).toBe('SCAN_SUCCEED');
    expect([4, 5, 6, 7].map((i) => xaLoad(shm, 0, i))).toEqual(pages);
    expect(pteNone(pteRead(shm, SHARED0, INDEX)) && pteNone(pteRead(shm, PRIVATE0, INDEX + 1))).toBe(true); // unmapped
    expect(pages.map((p) => [shm.refcount[p], PageLocked(shm, p)])).toEqual(pages.map(() => [1, false]));
    expect(quiescentCheck(shm)).toEqual([]);
    expect(readViolations(shm)).toEqual([]);
  });

  it('backs off a page with an extra reference (SCAN_PAGE_COUNT) and a page locked by someone else (SCAN_PAGE_LOCK)', () => {
    const { shm, collapser, other } = world('mainline');
    const page = xaLoad(shm, 0, INDEX);
    shm.refcount[page]++; // a pin (a speculative lookup, GUP)
    expect(run(collapseFile(collapser, 0, START, NR))).toBe('SCAN_PAGE_COUNT');
    shm.refcount[page]--;
    run(other.ops.lock.lockPage(other, page));
    expect(run(collapseFile(collapser, 0, START, NR))).toBe('SCAN_PAGE_LOCK');
    run(other.ops.lock.unlockPage(other, page));
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it("patch4: the mapper passed its checks before collapse locked the page, maps it after the unmap: COLLAPSE-MAPPED (Hugh)", () => {
    const { shm, collapser, mapper } = world('patch4');
    const page = xaLoad(shm, 0, INDEX);
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0), mapper);
    il.runUntil('mapper', 'pte_offset_map_lock'); // PageLocked re-checked, no trylock: nothing holds it
    il.add('collapser', collapseFile(collapser, 0, START, NR), collapser);
    il.runUntil('collapser', 'VM_BUG_ON_PAGE(page_mapped)'); // page 5 locked, page_mapped() was false
    expect(PageLocked(shm, page)).toBe(true);
    il.runToEnd('mapper');
    expect(ptePfn(pteRead(shm, PRIVATE0, INDEX))).toBe(page);
    il.runToEnd('collapser');
    const [v] = readViolations(shm);
    expect([v?.id, v?.task, v?.page]).toEqual(['COLLAPSE-MAPPED', 0, page]);
    // data stays safe: the mapper's reference made the freeze fail, the page is back and mapped
    expect(il.value('collapser')).toBe('SCAN_PAGE_COUNT');
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('mainline: the same interleaving cannot happen — the mapper trylocks, so one of them backs off', () => {
    const { shm, collapser, mapper } = world('mainline');
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0), mapper);
    il.runUntil('mapper', 'page->mapping'); // holds the page lock (trylock succeeded)
    il.add('collapser', collapseFile(collapser, 0, START, NR), collapser);
    expect(il.runToEnd('collapser')).toBe('SCAN_PAGE_LOCK');
    il.runToEnd('mapper');
    expect(readViolations(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });
});

describe('collapse in controlled mode (collapser, mapper, zapper on one file)', () => {
  const extra = { roles: 'collapser,mapper,zapper', files: 1, 'file-pages': 8, processes: 1, vmas: 2 };
  const exploreCollapse = (mapPages: string, seed: string, iterations: number) => {
    const cfg: RunConfig = { ...DEFAULTS, scenario: 'collapse', workers: 3, pages: 32, buckets: 16, extra: { ...extra, 'map-pages': mapPages } };
    return explore({ scenario: collapseScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: portfolio(3), iterations, opsPerActor: 4, seed });
  };

  it('patch4: COLLAPSE-MAPPED for seeds 1-5 within 600 iterations', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const r = exploreCollapse('patch4', seed, 600);
      expect(r.finds[0]?.violation.id, `seed ${seed}`).toBe('COLLAPSE-MAPPED');
    }
  }, 30_000);

  it('mainline: nothing in 800 iterations of seeds 1 and 2', () => {
    for (const seed of ['1', '2']) {
      const r = exploreCollapse('mainline', seed, 800);
      expect(r.finds, `seed ${seed}`).toEqual([]);
    }
  }, 30_000);
});
