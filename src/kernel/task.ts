// A task: the context every protocol generator receives. It carries no behaviour of its own
// beyond bookkeeping the checks and the flight recorder need; drivers create it.
import { CTL, FLIGHT_WORDS, MAX_HELD, STAT, STAT_NAMES, type StatName } from '../shm/layout.ts';
import { LabelTable } from '../shm/labels.ts';
import type { Shm } from '../shm/shm.ts';
import { writeViolation } from '../shm/violations.ts';
import { invariantCode, type InvariantId } from './invariants.ts';
import type { KernelOps } from './ops.ts';

// ---- what kernel code tells lockdep (src/check/lockdep.ts implements it): the lock classes, and
// the hooks a task calls when it takes, releases or is about to wait on a lock. A task without
// --lockdep has none (t.lockdep === null).

export const LD_PAGE = 0;
export const LD_PTL = 1;
export const LD_WB = 2;

export interface LockdepHooks {
  /** About to block on (or wait for) lock `id` of class `cls`. */
  check(t: Task, cls: number, id: number): void;
  /** A page lock was taken (any way: fast path, slow path, hand-off, trylock). */
  pageAcquired(t: Task, pfn: number): void;
  ptlAcquired(t: Task, ptl: number): void;
  ptlReleased(ptl: number): void;
  /** The task is about to start page `pfn`'s writeback I/O, which it will end itself. */
  writebackStarted(t: Task, pfn: number): void;
  writebackEnded(pfn: number): void;
}

export interface TaskOptions {
  id: number;
  shm: Shm;
  /** the configuration's operation tables (src/variants composes them) */
  ops: KernelOps;
  /** protocol options: unfairness, variant choices (read by protocol code, never by drivers) */
  options?: Record<string, unknown>;
  labels?: LabelTable;
}

export class Task {
  readonly id: number;
  readonly shm: Shm;
  readonly ops: KernelOps;
  readonly options: Record<string, unknown>;
  readonly labels: LabelTable;
  /** What the next schedule point is about (flight records, diagrams). Protocol code sets them. */
  page = -1;
  aux = 0;
  op = 0;
  /** lock-order tracking (src/check/lockdep.ts), when the run has --lockdep; null otherwise */
  lockdep: LockdepHooks | null = null;
  private readonly flightBase: number;
  private readonly statBase: number;

  constructor(o: TaskOptions) {
    this.id = o.id;
    this.shm = o.shm;
    this.ops = o.ops;
    this.options = o.options ?? {};
    this.labels = o.labels ?? new LabelTable(o.shm);
    this.flightBase = o.id * o.shm.layout.flightStride;
    this.statBase = o.id * STAT_NAMES.length;
  }

  /** Record a schedule point in this task's flight ring (called by the drivers). */
  record(label: string): void {
    const f = this.shm.flight;
    const w = f[this.flightBase];
    const e = this.flightBase + 1 + (w % this.shm.sizes.flightEntries) * FLIGHT_WORDS;
    f[e] = Atomics.add(this.shm.ctl, CTL.SEQ, 1);
    f[e + 1] = this.labels.id(label);
    f[e + 2] = this.page;
    f[e + 3] = this.aux;
    f[e + 4] = this.op;
    f[this.flightBase] = w + 1;
  }

  /**
   * The task is about to set PG_writeback on `pfn` (test_set_page_writeback, right after its
   * 'set_page_writeback' step) and will end that I/O itself: the page's writeback owner, so the
   * wait-for graph can follow a writeback wait to it (end_page_writeback clears it).
   */
  writebackStarted(pfn: number): void {
    if (pfn < 0 || pfn >= this.shm.sizes.pages) return;
    Atomics.store(this.shm.wbOwner, pfn, this.id + 1);
    if (this.lockdep !== null) this.lockdep.writebackStarted(this, pfn);
  }

  violation(id: InvariantId, page: number, ...values: number[]): void {
    writeViolation(this.shm, invariantCode(id), this.id, this.op, page, values);
  }

  stat(name: StatName, n = 1): void {
    this.shm.stats[this.statBase + STAT[name]] += n; // one writer per task: no atomic needed
  }

  // ---- page locks held (LOCK-LEAK, lockdep, wait-for graph) ----
  heldAdd(pfn: number): void {
    const n = this.shm.heldCount[this.id];
    if (n < MAX_HELD) this.shm.held[this.id * MAX_HELD + n] = pfn;
    Atomics.store(this.shm.heldCount, this.id, n + 1);
  }
  heldRemove(pfn: number): void {
    const base = this.id * MAX_HELD;
    const n = Math.min(this.shm.heldCount[this.id], MAX_HELD);
    for (let i = n - 1; i >= 0; i--) {
      if (this.shm.held[base + i] === pfn) {
        for (let j = i; j < n - 1; j++) this.shm.held[base + j] = this.shm.held[base + j + 1];
        break;
      }
    }
    Atomics.store(this.shm.heldCount, this.id, Math.max(0, this.shm.heldCount[this.id] - 1));
  }
  heldPages(): number[] {
    const n = Math.min(this.shm.heldCount[this.id], MAX_HELD);
    return Array.from(this.shm.held.subarray(this.id * MAX_HELD, this.id * MAX_HELD + n));
  }
}
