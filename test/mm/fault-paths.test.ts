// The 6.6 paths on their own, in one thread: COW of a present read-only PTE (do_wp_page ->
// wp_page_copy), fault retry (lock_folio_maybe_drop_mmap, out_retry, the arch handler's retry),
// the partial last page on truncate (truncate_inode_partial_folio); and the checks that judge
// them (FAULT-RETRY, EOF-ZERO), each shown to fire on a corrupted state.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { NIL, PG_free, PTE_ANON, PTE_WRITE } from '../../src/shm/shm.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { MAPPING_ANON } from '../../src/shm/page.ts';
import { pteRead, ptePfn } from '../../src/shm/mm.ts';
import { doUserAddrFault, handleMmFault, readThroughPtes, zapPteRange } from '../../src/mm/memory.ts';
import {
  FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_KILLABLE, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_TRIED, FAULT_FLAG_USER, VM_FAULT_LOCKED, VM_FAULT_RETRY,
} from '../../src/kernel/fault.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import { Task } from '../../src/kernel/task.ts';
import { configVariants, kernelOps } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import type { Shm } from '../../src/shm/shm.ts';

// default world: files 0 and 1 of 16 pages, all cached; VMAs 0,1 shared, 2,3 private (files 0, 1)
const SHARED0 = 0, PRIVATE0 = 2;
const USER_RETRY = FAULT_FLAG_USER | FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;

/** A task of `w` whose tables are mainline with the --variant `variant` (a self-test mutant). */
function mutantTask(w: ReturnType<typeof mmWorld>, id: number, variant: string): Task {
  const base = w.task(id);
  const ops = kernelOps({ lock: makeLock('v5.9-rc6', { unfairness: 5 }), variants: configVariants({ extra: w.cfg.extra, variants: [variant] }) });
  return new Task({ id, shm: w.shm, ops, options: base.options, labels: base.labels });
}

const violations = (shm: Shm) => readViolations(shm).map((v) => `${v.id} page ${v.page} [${v.values.join(',')}]`);

function expectClean(shm: Shm): void {
  expect(violations(shm)).toEqual([]);
  expect(quiescentCheck(shm).map((f) => f.message)).toEqual([]);
  expect(liveCheck(shm).map((f) => f.message)).toEqual([]);
}

describe('COW of a present read-only PTE: do_wp_page -> wp_page_copy', () => {
  it('a write to a private read-only file PTE installs an anonymous copy and unmaps the file page', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    const file = xaLoad(shm, 0, 4);
    expect(run(handleMmFault(t, PRIVATE0, 4, false))).toBe(VM_FAULT_LOCKED);
    expect(ptePfn(pteRead(shm, PRIVATE0, 4))).toBe(file);
    const s = new Stepper(handleMmFault(t, PRIVATE0, 4, true));
    expect(s.runToEnd()).toBe(0);
    // copied without the page lock, the PTE re-checked under the PTL before the switch
    expect(s.labels.filter((l) => ['__wp_page_copy_user', 'pte_same', 'set_pte_at_notify', 'trylock_page'].includes(l)))
      .toEqual(['pte_same', '__wp_page_copy_user', 'pte_same', 'set_pte_at_notify']);
    const pte = pteRead(shm, PRIVATE0, 4);
    expect(pte & (PTE_ANON | PTE_WRITE)).toBe(PTE_ANON | PTE_WRITE);
    const cow = ptePfn(pte);
    expect([shm.mapping[cow], shm.stampFile[cow], shm.stampIndex[cow], shm.refcount[cow], shm.mapcount[cow]]).toEqual([MAPPING_ANON, 0, 4, 1, 0]);
    expect([shm.refcount[file], shm.mapcount[file]]).toEqual([1, -1]); // only the page cache's reference is left
    expect(run(readThroughPtes(t, PRIVATE0, 4, 5))).toBe(1);
    expectClean(shm);
  });

  it('a PTE zapped while the copy was made is not replaced: the copy is freed', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0), zapper = task(1);
    run(handleMmFault(t, PRIVATE0, 4, false));
    const s = new Stepper(handleMmFault(t, PRIVATE0, 4, true)).runUntil('__wp_page_copy_user');
    expect(run(zapPteRange(zapper, PRIVATE0, 4, 5))).toBe(1);
    expect(s.runToEnd()).toBe(0);
    expect(pteRead(shm, PRIVATE0, 4)).toBe(0);
    expectClean(shm);
  });

  it('wp-copy-nopte-same: the same interleaving drops the old mapcount twice (MAP-COUNT)', () => {
    const w = mmWorld(mmConfig({ 'fault-around': 1 }));
    const { shm, task } = w;
    const t = mutantTask(w, 0, 'wp-copy-nopte-same'), zapper = task(1);
    run(handleMmFault(t, PRIVATE0, 4, false));
    const s = new Stepper(handleMmFault(t, PRIVATE0, 4, true)).runUntil('__wp_page_copy_user');
    run(zapPteRange(zapper, PRIVATE0, 4, 5));
    s.runToEnd();
    expect(readViolations(shm).map((v) => v.id)).toContain('MAP-COUNT');
  });
});

describe('fault retry: lock_folio_maybe_drop_mmap, out_retry, do_user_addr_fault', () => {
  /** file 0 with pages [from, 16) gone from the page cache */
  function dropPages(from: number) {
    const w = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = w.task(0);
    run(truncateSetsize(t, 0, from * PAGE_SIZE));
    run(truncateSetsize(t, 0, 16 * PAGE_SIZE));
    return { ...w, t };
  }

  it('a page read with the mmap lock dropped ends in VM_FAULT_RETRY, unlocked and cached; the retry maps it', () => {
    const { shm, t } = dropPages(8);
    expect(xaLoad(shm, 0, 9)).toBe(NIL);
    const s = new Stepper(handleMmFault(t, SHARED0, 9, false, USER_RETRY));
    expect(s.runToEnd()).toBe(VM_FAULT_RETRY);
    expect(s.labels).toContain('maybe_unlock_mmap_for_io');
    const pfn = xaLoad(shm, 0, 9);
    expect(pfn).not.toBe(NIL);
    expect([pteRead(shm, SHARED0, 9), shm.refcount[pfn], t.heldPages()]).toEqual([0, 1, []]);
    // FAULT_FLAG_TRIED: the mmap lock is not dropped again; the page is found and mapped
    expect(run(handleMmFault(t, SHARED0, 9, false, USER_RETRY | FAULT_FLAG_TRIED))).toBe(VM_FAULT_LOCKED);
    expect(ptePfn(pteRead(shm, SHARED0, 9))).toBe(pfn);
    expectClean(shm);
  });

  it('the arch handler retries a user fault once and maps the page (--fault-retry)', () => {
    const { shm, task } = dropPages(8);
    const t = task(0, { 'fault-retry': true, 'killable-faults': true });
    const s = new Stepper(doUserAddrFault(t, SHARED0, 10, false));
    expect(s.runToEnd()).toBe(VM_FAULT_LOCKED);
    expect(s.labels.filter((l) => l === 'handle_pte_fault')).toHaveLength(2);
    expect(pteRead(shm, SHARED0, 10)).not.toBe(0);
    expectClean(shm);
  });

  it('without --fault-retry the fault is one pass: read, lock, map', () => {
    const { shm, t } = dropPages(8);
    const s = new Stepper(doUserAddrFault(t, SHARED0, 10, false));
    expect(s.runToEnd()).toBe(VM_FAULT_LOCKED);
    expect(s.labels.filter((l) => l === 'handle_pte_fault')).toHaveLength(1);
    expect(s.labels).not.toContain('maybe_unlock_mmap_for_io');
    expectClean(shm);
  });

  it('RETRY_NOWAIT: a contended page lock is VM_FAULT_RETRY at once, without waiting', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const holder = task(1), t = task(0);
    const pfn = xaLoad(shm, 0, 3);
    expect(run(holder.ops.lock.trylockPage(holder, pfn))).toBe(true);
    // the Stepper throws if the fault would sleep
    expect(run(handleMmFault(t, SHARED0, 3, false, USER_RETRY | FAULT_FLAG_RETRY_NOWAIT))).toBe(VM_FAULT_RETRY);
    expect([t.heldPages(), shm.refcount[pfn], pteRead(shm, SHARED0, 3)]).toEqual([[], 1, 0]);
    run(holder.ops.lock.unlockPage(holder, pfn));
    expectClean(shm);
  });

  it('FAULT-RETRY: a handle_mm_fault() that returns VM_FAULT_RETRY holding a page lock is reported', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t0 = task(0, { 'fault-retry': true });
    const pfn = xaLoad(shm, 0, 5);
    let calls = 0;
    const ops = {
      ...t0.ops,
      fault: {
        ...t0.ops.fault,
        *handleMmFault(t: Task) {
          if (calls++ > 0) return 0;
          yield* t.ops.lock.lockPage(t, pfn); // corrupt: out_retry without folio_unlock()
          return VM_FAULT_RETRY;
        },
      },
    };
    const t = new Task({ id: 0, shm, ops, options: t0.options, labels: t0.labels });
    expect(run(doUserAddrFault(t, SHARED0, 5, false))).toBe(0);
    expect(readViolations(shm).map((v) => [v.id, v.page, ...v.values])).toEqual([['FAULT-RETRY', pfn, 0, 5]]);
  });
});

describe('partial last page: truncate_inode_partial_folio and EOF-ZERO', () => {
  it('a truncation inside a cached, mapped page zeroes its tail; the page stays mapped; reads are clean', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    run(handleMmFault(t, SHARED0, 3, false));
    const pfn = xaLoad(shm, 0, 3);
    expect(shm.stampEnd[pfn]).toBe(PAGE_SIZE);
    run(truncateSetsize(t, 0, 3 * PAGE_SIZE + 100));
    expect([shm.stampEnd[pfn], ptePfn(pteRead(shm, SHARED0, 3))]).toEqual([100, pfn]);
    expect(run(readThroughPtes(t, SHARED0, 0, 16))).toBe(1);
    expectClean(shm);
    // growing the file back keeps the zeros: they are file data now
    run(truncateSetsize(t, 0, 16 * PAGE_SIZE));
    expect(shm.stampEnd[pfn]).toBe(100);
    expectClean(shm);
  });

  it('a page read from disk beyond a partial EOF has zeros there', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    run(truncateSetsize(t, 0, 2 * PAGE_SIZE));
    run(truncateSetsize(t, 0, 2 * PAGE_SIZE + 50));
    expect(run(handleMmFault(t, SHARED0, 2, false))).toBe(VM_FAULT_LOCKED);
    expect(shm.stampEnd[xaLoad(shm, 0, 2)]).toBe(50);
    run(readThroughPtes(t, SHARED0, 0, 16));
    expectClean(shm);
  });

  it('EOF-ZERO: a reader notices data beyond EOF in the last page (a file PTE only)', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    run(handleMmFault(t, SHARED0, 3, false));
    run(truncateSetsize(t, 0, 3 * PAGE_SIZE + 100));
    const pfn = xaLoad(shm, 0, 3);
    shm.stampEnd[pfn] = 101; // corrupt: one byte beyond EOF not zeroed
    run(readThroughPtes(t, SHARED0, 3, 4));
    expect(readViolations(shm).map((v) => [v.id, v.page, ...v.values])).toEqual([['EOF-ZERO', pfn, 0, 3, 3 * PAGE_SIZE + 100, 101]]);
  });

  it('truncate-nozero: the old tail stays and the reader reports EOF-ZERO', () => {
    const w = mmWorld(mmConfig({ 'fault-around': 1 }));
    const { shm } = w;
    const t = mutantTask(w, 0, 'truncate-nozero');
    run(handleMmFault(t, SHARED0, 3, false));
    run(truncateSetsize(t, 0, 3 * PAGE_SIZE + 100));
    run(readThroughPtes(t, SHARED0, 3, 4));
    expect(readViolations(shm).map((v) => v.id)).toEqual(['EOF-ZERO']);
  });

  it('a private COW copy of the last page is anonymous memory: truncation neither zeroes nor judges it', () => {
    const { shm, task } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const t = task(0);
    run(handleMmFault(t, PRIVATE0, 3, true));
    run(truncateSetsize(t, 0, 3 * PAGE_SIZE + 100));
    const cow = ptePfn(pteRead(shm, PRIVATE0, 3));
    expect(shm.stampEnd[cow]).toBe(PAGE_SIZE);
    run(readThroughPtes(t, PRIVATE0, 3, 4));
    expect(shm.flags[cow] & PG_free).toBe(0);
    expectClean(shm);
  });
});
