// Lockdep for page locks (src/check/lockdep.ts): the rules on hand-driven tasks, then the latent
// ABBA of the lock-order scenario (kernel-protocols §5.7) reported as LOCK-ORDER before it ever
// deadlocks — in a controlled schedule that never deadlocks and in free mode — and, when it does
// deadlock, as DEADLOCK with the whole chain (the writeback wait followed to its submitter).
import { kernelOps } from '../../src/variants/index.ts';
import { describe, expect, it } from 'vitest';
import { Shm, PG_writeback } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import type { ShmSizes } from '../../src/shm/layout.ts';
import { Task } from '../../src/kernel/task.ts';
import { runRecorded as run } from '../helpers/stepper.ts';
import { makeLock } from '../../src/locks/index.ts';
import { pteUnlock } from '../../src/mm/pgtable.ts';
import { pteLock } from '../../src/mm/pgtable.ts';
import { attachLockdep, comparePages, lockdepSummary, lockOrderMessage } from '../../src/check/lockdep.ts';
import { readViolations, violationCount } from '../../src/check/violations.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import type { SchedView, Strategy } from '../../src/sched/strategies/strategy.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { lockOrderScenario, pairPages } from '../../src/scenarios/lock-order.ts';

// ---- hand-driven tasks ----------------------------------------------------------------------

const SIZES: ShmSizes = {
  pages: 8, buckets: 4, tasks: 3, files: 2, pagesPerFile: 8, processes: 1, vmasPerProcess: 1, ptesPerVma: 4, ptesPerPtl: 4,
  flightEntries: 16, violationSlots: 8,
};

/** Pages 0..5 in use and unlocked: 0-3 are file 0 index 0-3, 4-5 file 1 index 0-1, 6-7 no file. */
function model(): Shm {
  const shm = new Shm(SIZES);
  initShm(shm);
  shm.flags.fill(0);
  shm.refcount.fill(1);
  for (let p = 0; p < 6; p++) {
    shm.mapping[p] = p < 4 ? 1 : 2;
    shm.index[p] = p < 4 ? p : p - 4;
  }
  shm.vmaLen[0] = 4;
  return shm;
}

function tasks(shm: Shm, lockdep = true): Task[] {
  const lock = makeLock('v5.9');
  return [0, 1].map((id) => {
    const t = new Task({ id, shm, ops: kernelOps({ lock }) });
    if (lockdep) attachLockdep(t);
    return t;
  });
}


const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);
const message = (shm: Shm, i = 0) => lockOrderMessage(shm, readViolations(shm)[i].values, (t) => `role${t}`);

describe('lockdep rules', () => {
  it('page order: file, then index; pfn for pages with no file; none between a file page and a fileless one', () => {
    const shm = model();
    expect(comparePages(shm, 1, 2)).toBeLessThan(0);
    expect(comparePages(shm, 2, 1)).toBeGreaterThan(0);
    expect(comparePages(shm, 3, 4)).toBeLessThan(0); // file 0 before file 1
    expect(comparePages(shm, 6, 7)).toBeLessThan(0);
    expect(comparePages(shm, 1, 6)).toBe(0);
  });

  it('a page lock taken against the index order is LOCK-ORDER at once, shown with the ascending order seen before', () => {
    const shm = model();
    const [a, b] = tasks(shm);
    const L = a.ops.lock;
    run(a, L.lockPage(a, 1));
    run(a, L.lockPage(a, 2)); // ascending: recorded, fine
    run(a, L.unlockPage(a, 2));
    run(a, L.unlockPage(a, 1));
    expect(violationCount(shm)).toBe(0);
    b.op = 7;
    run(b, L.lockPage(b, 2));
    run(b, L.lockPage(b, 1)); // descending: the rule says no, even though nothing deadlocks yet
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
    const m = message(shm);
    expect(m).toMatch(/against the page order/);
    expect(m).toMatch(/task 1 \(role1\) op 7, holding the page lock of page 2 \(file 0 index 2\).*blocked on the page lock of page 1 \(file 0 index 1\)/);
    expect(m).toMatch(/The ascending order, first seen: task 0 \(role0\) op 0, holding the page lock of page 1 .*blocked on the page lock of page 2/);
    // reported once: the same order again is not news
    run(b, L.unlockPage(b, 1));
    run(b, L.unlockPage(b, 2));
    run(b, L.lockPage(b, 3));
    run(b, L.lockPage(b, 0));
    expect(violationCount(shm)).toBe(1);
  });

  it('trylocks create no dependency; without lockdep nothing is recorded at all', () => {
    const shm = model();
    const [a] = tasks(shm);
    run(a, a.ops.lock.lockPage(a, 2));
    expect(run(a, a.ops.lock.trylockPage(a, 1))).toBe(true); // trylock against the order: fine
    run(a, a.ops.lock.unlockPage(a, 1));
    run(a, a.ops.lock.unlockPage(a, 2));
    expect(violationCount(shm)).toBe(0);
    expect(lockdepSummary(shm).orders).toEqual([]);

    const shm2 = model();
    const [c] = tasks(shm2, false);
    run(c, c.ops.lock.lockPage(c, 2));
    run(c, c.ops.lock.lockPage(c, 1));
    expect(violationCount(shm2)).toBe(0);
    expect(lockdepSummary(shm2).orders).toEqual([]);
  });

  it('blocking on a page lock the task holds is recursive locking, reported before the wait', () => {
    const shm = model();
    const [a] = tasks(shm);
    run(a, a.ops.lock.lockPage(a, 3));
    a.ops.lock.lockPage(a, 3).next(); // the check runs before the first step: the wait never has to happen
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
    expect(message(shm)).toMatch(/recursive locking — a task blocks on a page lock it already holds.*page 3 \(file 0 index 3\)/);
  });

  it('page lock -> PTL, then a blocking lock_page under the PTL: an inversion, with both chains', () => {
    const shm = model();
    const [a, b] = tasks(shm);
    run(a, a.ops.lock.lockPage(a, 1));
    const ptl = run(a, pteLock(a, 0, 0)); // the PTL nests inside the page lock (§7)
    pteUnlock(a, ptl);
    run(a, a.ops.lock.unlockPage(a, 1));
    run(b, pteLock(b, 0, 1));
    expect(run(b, b.ops.lock.trylockPage(b, 2))).toBe(true); // map_pages: trylock under the PTL is fine
    run(b, b.ops.lock.unlockPage(b, 2));
    expect(violationCount(shm)).toBe(0);
    run(b, b.ops.lock.lockPage(b, 2)); // ... a sleeping lock_page under the PTL is not
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
    const m = message(shm);
    expect(m).toMatch(/lock order inversion \(possible deadlock, PTL -> page lock -> PTL\)/);
    expect(m).toMatch(/task 1 \(role1\) op 0, holding the PTL 0 .*blocked on the page lock of page 2/);
    expect(m).toMatch(/earlier, task 0 \(role0\) op 0, holding the page lock of page 1 .*took the PTL 0/);
  });

  it('writeback: started by the task at set_page_writeback, held until end_page_writeback', () => {
    const shm = model();
    const [a, b] = tasks(shm);
    // b: lock page 6, wait on page 7's writeback (not under writeback: still a dependency)
    run(b, b.ops.lock.lockPage(b, 6));
    run(b, b.ops.lock.waitOnPageWriteback(b, 7));
    run(b, b.ops.lock.unlockPage(b, 6));
    // a: start page 7's I/O, then block on page 6 with it in flight
    a.page = 7;
    a.record('set_page_writeback');
    a.writebackStarted(7); // as writebackPage() does right after its 'set_page_writeback' step
    Atomics.or(shm.flags, 7, PG_writeback);
    expect(shm.wbOwner[7]).toBe(1);
    run(a, a.ops.lock.lockPage(a, 6));
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
    expect(message(shm)).toMatch(/writeback -> page lock -> writeback.*task 0 \(role0\) op 0, with the writeback of page 7 \(no file\) in flight .*blocked on the page lock of page 6.*earlier, task 1 \(role1\) op 0, holding the page lock of page 6 .*waited on the writeback of page 7/);
    run(a, a.ops.lock.endPageWriteback(a, 7));
    expect(shm.wbOwner[7]).toBe(0);
  });

  it('writeback in flight, then the next page of the batch in index order (write_cache_pages): no order; out of order: LOCK-ORDER', () => {
    const shm = model();
    const [a, b] = tasks(shm);
    // b: the common order, page lock -> its writeback (truncate, reclaim, WB_SYNC_ALL writeback)
    run(b, b.ops.lock.lockPage(b, 2));
    run(b, b.ops.lock.waitOnPageWriteback(b, 2));
    run(b, b.ops.lock.unlockPage(b, 2));
    // a: page 1's I/O in flight (file 0 index 1), then lock page 2 (file 0 index 2)
    a.page = 1;
    a.record('set_page_writeback');
    a.writebackStarted(1);
    Atomics.or(shm.flags, 1, PG_writeback);
    run(a, a.ops.lock.lockPage(a, 2));
    run(a, a.ops.lock.unlockPage(a, 2));
    expect(violationCount(shm)).toBe(0);
    // ... but page 0 (index 0) comes before the page whose I/O it has in flight
    run(a, a.ops.lock.lockPage(a, 0));
    expect(ids(shm)).toEqual(['LOCK-ORDER']);
    expect(message(shm)).toMatch(/writeback -> page lock -> writeback/);
  });
});

// ---- the lock-order scenario ----------------------------------------------------------------

const A = 0, B = 1;
const { x: X, y: Y } = pairPages(A);
const cfgFor = (lock: string, over: Partial<RunConfig> = {}): RunConfig =>
  ({ ...DEFAULTS, scenario: 'lock-order', lock, workers: 2, buckets: 4, extra: {}, ...over });

/** The MPTCP interleaving (as in test/scenario-lock-order.test.ts): A until it owns X with Y under
 * writeback; then B until it is queued on X; then A whenever it can run. */
class MptcpPolicy implements Strategy {
  readonly name = 'mptcp-policy';
  private phase = 0;
  constructor(private readonly shm: Shm) {}
  begin(_view: SchedView): void {
    this.phase = 0;
  }
  choose(runnable: Int32Array, n: number): number {
    const has = (a: number) => Array.from(runnable.subarray(0, n)).includes(a);
    if (this.phase === 0 && this.shm.owner[X] === A + 1 && (this.shm.flags[Y] & PG_writeback)) this.phase = 1;
    if (this.phase === 1 && this.shm.wqLinked[B]) this.phase = 2;
    const want = this.phase === 1 ? B : A;
    return has(want) ? want : runnable[0];
  }
  end(): void {}
  describe(): string {
    return this.name;
  }
}

function controlled(lock: string, lockdep: boolean) {
  const driver = new ControlledDriver({ scenario: lockOrderScenario, cfg: cfgFor(lock), lock: makeLock(lock) });
  if (lockdep) for (const t of driver.tasks) attachLockdep(t);
  const ops = [[{ kind: 'submit', args: [X, Y, 2] }, { kind: 'submit', args: [X, Y, 1] }], [{ kind: 'wait', args: [X, Y] }, { kind: 'wait', args: [X, Y] }]];
  const r = driver.runIteration({ ops, strategy: new MptcpPolicy(driver.shm), rng: (() => 0) as never });
  return { r, shm: driver.shm };
}

describe('lock-order scenario: the latent ABBA (page lock X vs the writeback of page Y)', () => {
  it('controlled, v4.14: a schedule that never deadlocks is clean without lockdep and LOCK-ORDER with it', () => {
    const without = controlled('v4.14', false);
    expect(without.r.violation).toBeNull();
    const { r, shm } = controlled('v4.14', true);
    expect(r.violation?.id).toBe('LOCK-ORDER');
    const m = lockOrderMessage(shm, r.violation!.values, (t) => lockOrderScenario.roles(cfgFor('v4.14'))[t]);
    // both chains: who held X and waited on Y's writeback, who had Y's writeback in flight and blocked on X
    expect(m).toMatch(/task 1 \(waiter\) op 0, holding the page lock of page 0 .*waited on the writeback of page 1/);
    expect(m).toMatch(/task 0 \(submitter\) op 0, with the writeback of page 1 \(no file\) in flight \(started in op 0 .*blocked on the page lock of page 0/);
  });

  it('free mode, v4.14 with --lockdep: LOCK-ORDER is the first thing reported, before any deadlock or hang', async () => {
    const r = await runStress(cfgFor('v4.14', { lockdep: true, ops: 2_000, durationMs: 20_000, hungMs: 2_000, stutter: false }));
    expect(r.violations.length).toBeGreaterThan(0);
    const first = r.violations[0];
    expect(first.id).toBe('LOCK-ORDER');
    expect(first.message).toMatch(/lock order inversion \(possible deadlock, (writeback -> page lock -> writeback|page lock -> writeback -> page lock)\)/);
    expect(first.message).toMatch(/task 1 \(waiter\) op \d+, holding the page lock of page 0 .*waited on the writeback of page 1/);
    expect(first.message).toMatch(/task 0 \(submitter\) op \d+, with the writeback of page 1 .* in flight .*blocked on the page lock of page 0/);
    for (const v of r.violations.filter((x) => x.id === 'DEADLOCK' || x.id === 'HUNG')) expect(v.seq).toBeGreaterThanOrEqual(first.seq);
    expect((r.extra.lockdep as { orders: unknown[] }).orders.length).toBeGreaterThanOrEqual(2);
  }, 40_000);

  it('free mode, v5.9 (fair hand-off) without lockdep: DEADLOCK with the whole chain, writeback wait included', async () => {
    const r = await runStress(cfgFor('v5.9', { durationMs: 20_000, hungMs: 10_000, stutter: false }));
    const d = r.violations.find((v) => v.id === 'DEADLOCK');
    expect(d, r.violations.map((v) => v.message).join('\n')).toBeDefined();
    expect(d!.message).toMatch(/wait-for cycle of tasks 0 -> 1: task 0 waits on the lock of page 0 \([^)]*\) held by task 1; task 1 waits on the writeback of page 1 \([^)]*\) started by task 0/);
    expect(r.elapsedMs).toBeLessThan(15_000); // found by the wait-for graph, not by the hung-task bound
  }, 40_000);
});

describe('lockdep on the fuse write path (kernel-protocols §2.3)', () => {
  it('pre-fix (every page of a WRITE kept locked while faulting in the next source page) is caught by the rules alone', async () => {
    const r = await runStress({ ...DEFAULTS, scenario: 'fuse-write', workers: 3, durationMs: 20_000, hungMs: 1_500, lockdep: true, extra: { fuse: 'pre-fix' } });
    expect(r.violations[0]?.id, r.violations.map((v) => v.message).join('\n')).toBe('LOCK-ORDER');
    expect(r.violations[0].message).toMatch(/recursive locking|against the page order|inversion/);
  }, 40_000);

  it('fixed (4f06dd92b5d0): no LOCK-ORDER in a run of 1500 operations per writer', async () => {
    const r = await runStress({ ...DEFAULTS, scenario: 'fuse-write', workers: 3, ops: 1_500, durationMs: 30_000, lockdep: true, extra: { fuse: 'fixed' } });
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.outcome).toBe('SUCCESS');
    // the orders every mm path shows were seen: page lock -> PTL
    expect((r.extra.lockdep as { orders: { from: string; to: string }[] }).orders).toContainEqual(expect.objectContaining({ from: 'page lock', to: 'PTL' }));
  }, 40_000);
});
