// The fuse write path (src/mm/fuse.ts) before and after 4f06dd92b5d0, with the source buffer a
// shared mmap of the written files: Vivek's reproducer (self-deadlock) and two writers crossing
// (ABBA) by hand, then controlled exploration of the fuse-write scenario.
import { kernelOps } from '../../src/variants/index.ts';
import { describe, expect, it } from 'vitest';
import { Interleaver } from '../helpers/interleave.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { Shm, PG_locked, PG_uptodate } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { LabelTable } from '../../src/shm/labels.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { Task } from '../../src/kernel/task.ts';
import { makeLock } from '../../src/locks/index.ts';
import { fusePerformWrite, type FuseWritePath } from '../../src/mm/fuse.ts';
import { shrinkPage } from '../../src/mm/vmscan.ts';
import { findDeadlocks } from '../../src/check/waitfor.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio } from '../../src/sched/strategies/index.ts';
import { fuseWriteScenario } from '../../src/scenarios/fuse-write.ts';
import { run } from '../helpers/mm-fixture.ts';

function fuseWorld(extra: Record<string, string | number> = {}) {
  const cfg: RunConfig = { ...DEFAULTS, scenario: 'fuse-write', workers: 3, pages: 32, buckets: 4, extra: { 'fault-around': 1, ...extra } };
  const shm = new Shm({ ...fuseWriteScenario.sizes(cfg), tasks: 3, flightEntries: 32, violationSlots: 16 });
  initShm(shm);
  fuseWriteScenario.init(shm, cfg);
  const labels = new LabelTable(shm), lock = makeLock('v5.9-rc6');
  const task = (id: number) => new Task({ id, shm, ops: kernelOps({ lock }), labels, options: cfg.extra });
  return { shm, task };
}

// Vivek's reproducer (Msg-ID 20201015151606.GA226448@redhat.com) as one buffer segment: 24 bytes
// of the mmap straddling file pages 0 and 1, written at 8192 - 12 (the tail of page 1, the head of
// page 2). Page 2's source is page 1, which the WRITE already holds locked (pre-fix).
const vivek = (t: Task, path: FuseWritePath) => fusePerformWrite(t, path, 0, 2 * PAGE_SIZE - 12, { vma: 0, off: PAGE_SIZE - 12, count: 24 }, 4);

describe("fuse_fill_write_pages(): Vivek's reproducer (fault-around off)", () => {
  it('pre-fix: the writer sleeps in lock_page() on page 1, which it holds itself (DEADLOCK, self)', () => {
    const { shm, task } = fuseWorld({ files: 1 });
    const w = task(0);
    const il = new Interleaver().add('writer', vivek(w, 'pre-fix'), w);
    expect(il.runUntilBlocked('writer')).toBe(true);
    const page1 = xaLoad(shm, 0, 1);
    const [d] = findDeadlocks(shm, 3);
    expect(d).toMatchObject({ tasks: [0], self: true });
    expect(d.edges[0].page).toBe(page1);
    expect(il.labels('writer')).toContain('fault_in_pages_readable');
  });

  it('fixed: page 1 is uptodate, so it is unlocked as soon as it is filled; the write completes', () => {
    const { shm, task } = fuseWorld({ files: 1 });
    expect(run(vivek(task(0), 'fixed'))).toBe(24);
    expect(readViolations(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('fixed: a partial write to a page that is not uptodate keeps only that page locked, and it ends the request', () => {
    const { shm, task } = fuseWorld({ files: 1 });
    const w = task(0);
    expect(run(shrinkPage(w, 0, 2))).toBe(true); // page 2 gone: the write creates it, not uptodate
    const il = new Interleaver().add('writer', vivek(w, 'fixed'), w);
    il.runUntil('writer', 'fuse_simple_request'); // the first WRITE: page 1 (uptodate, unlocked) and page 2
    const [p1, p2] = [xaLoad(shm, 0, 1), xaLoad(shm, 0, 2)];
    expect(shm.flags[p1] & PG_locked).toBe(0);
    expect(shm.flags[p2] & (PG_locked | PG_uptodate)).toBe(PG_locked); // the partial tail, kept locked
    expect(w.heldPages()).toEqual([p2]);
    expect(il.runToEnd('writer')).toBe(24);
    expect(quiescentCheck(shm)).toEqual([]);
  });
});

describe('two writers crossing (ABBA)', () => {
  // W0 writes file 0 from its mmap of file 1, W1 writes file 1 from its mmap of file 0, same offsets
  const cross = (t: Task, path: FuseWritePath, dst: number, srcVma: number) =>
    fusePerformWrite(t, path, dst, 2 * PAGE_SIZE - 12, { vma: srcVma, off: PAGE_SIZE - 12, count: 24 }, 4);

  for (const path of ['pre-fix', 'fixed'] as const) {
    it(`${path}: each holds page 1 of the file it writes and faults in page 1 of the other's`, () => {
      const { shm, task } = fuseWorld({ files: 2, processes: 2 });
      const [w0, w1] = [task(0), task(1)];
      const il = new Interleaver()
        .add('w0', cross(w0, path, 0, 1), w0) // process 0's VMA of file 1
        .add('w1', cross(w1, path, 1, 2), w1); // process 1's VMA of file 0
      il.runUntil('w0', 'copy_page_from_iter').runUntil('w1', 'copy_page_from_iter'); // both filled their page 1
      if (path === 'pre-fix') {
        expect(il.runUntilBlocked('w0')).toBe(true);
        expect(il.runUntilBlocked('w1')).toBe(true);
        const [d] = findDeadlocks(shm, 3);
        expect(d).toMatchObject({ tasks: [0, 1], self: false });
      } else {
        il.runAll();
        expect([il.value('w0'), il.value('w1')]).toEqual([24, 24]);
        expect(quiescentCheck(shm)).toEqual([]);
      }
    });
  }
});

describe('fuse-write in controlled mode (two writers, a zapper/reclaimer/reader)', () => {
  const exploreFuse = (path: FuseWritePath, seed: string, iterations: number) => {
    const cfg: RunConfig = { ...DEFAULTS, scenario: 'fuse-write', workers: 3, pages: 32, buckets: 16, extra: { fuse: path } };
    return explore({ scenario: fuseWriteScenario, cfg, lock: makeLock('v5.9-rc6'), strategies: portfolio(3), iterations, opsPerActor: 3, seed });
  };

  it('pre-fix: DEADLOCK for seeds 1-5 within 200 iterations', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const r = exploreFuse('pre-fix', seed, 200);
      expect(r.finds[0]?.violation.id, `seed ${seed}`).toBe('DEADLOCK');
    }
  }, 30_000);

  it('fixed: nothing in the same 600 iterations of seeds 1 and 2', () => {
    for (const seed of ['1', '2']) expect(exploreFuse('fixed', seed, 600).finds, `seed ${seed}`).toEqual([]);
  }, 30_000);
});
