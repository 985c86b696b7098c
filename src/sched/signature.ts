// The signature of a find: which bug it is, as far as a schedule can tell. Two schedules that
// break the same invariant can still show two different bugs (with two bugs present at once, a
// DEADLOCK of one can be shrunk into the DEADLOCK of the other: "slippage", which property-based
// testing tools guard against by comparing more than the failure's kind). The signature is
//
//   id      the invariant
//   role    the reporting task's role ('-': the checker, not a task)
//   op      the kind of operation it was in ('lock', 'killable', 'truncate', ...)
//   label   the schedule point it had reached when the violation was reported: the last label in
//           its flight ring, as the violation ring snapshot it (DEADLOCK and HUNG: the stuck
//           task's point, e.g. 'io_schedule')
//   page    the kind of state the page was in: its lock-protocol flags (PG_locked, PG_waiters,
//           PG_writeback, free), not its counts or owner (those vary with the schedule)
//
// Shrinking, `run --reproduce` and `replay` accept a run as the same find only when all five
// agree. Operation numbers, page numbers and task ids are left out: shrinking renumbers them.
import type { Op } from '../kernel/scenario.ts';
import type { Violation } from '../kernel/observer.ts';
import type { InvariantId } from '../kernel/invariants.ts';
import type { Shm } from '../shm/shm.ts';
import { PG_free, PG_locked, PG_waiters, PG_writeback } from '../shm/shm.ts';
import { flagsText, lastStep } from '../check/describe.ts';
import { readViolations, type ViolationRecord } from '../check/violations.ts';

export interface FindSignature {
  id: InvariantId;
  role: string;
  op: string;
  label: string;
  page: string;
}

/** The page flags that say what kind of state a page is in for the lock protocols. */
const KIND_FLAGS = PG_locked | PG_waiters | PG_writeback | PG_free;

/** 'PG_locked|PG_waiters', '0' (none of them), '-' (no page). */
export const pageKind = (flags: number | null): string => (flags === null ? '-' : flagsText(flags & KIND_FLAGS));

export function signatureText(s: FindSignature): string {
  return `${s.id} by ${s.role} in ${s.op} at '${s.label}', page ${s.page}`;
}

export const sameSignature = (a: FindSignature, b: FindSignature): boolean =>
  a.id === b.id && a.role === b.role && a.op === b.op && a.label === b.label && a.page === b.page;

/** The fields that differ, for a message: "op killable, not lock; label 'io_schedule', not 'hold'" */
export function signatureDiff(got: FindSignature, want: FindSignature): string {
  const keys = ['id', 'role', 'op', 'label', 'page'] as const;
  return keys.filter((k) => got[k] !== want[k]).map((k) => `${k} ${got[k]}, not ${want[k]}`).join('; ');
}

/** A violation record (free mode, or the controlled driver's ring) as a signature. `opKind(task,
 * op)` names the operation (the op list in controlled mode, the op stream in free mode). */
export function recordSignature(r: Pick<ViolationRecord, 'id' | 'task' | 'op' | 'page_state' | 'flight' | 'values'>, roleOf: (task: number) => string, opKind: (task: number, op: number) => string): FindSignature {
  // a lost wake-up is the sleeper's: the exact accounting reports it from whichever task settles
  // the page's last owed wake-up (the unlocker, a waker, or the sleeper itself as it sleeps), so
  // the reporter depends on the schedule and the sleeper (values[0]) on the bug
  const sleeper = r.id === 'LOCK-WAKE' && r.values.length === 3 ? r.values[0] : -1;
  const own = sleeper >= 0 ? r.flight.filter((f) => f.task === sleeper) : r.task >= 0 ? r.flight.filter((f) => f.task === r.task) : [];
  if (sleeper >= 0 && own.length) {
    const last = own[own.length - 1];
    return { id: r.id, role: roleOf(sleeper), op: opKind(sleeper, last.op), label: last.label, page: pageKind(r.page_state ? r.page_state.flags : null) };
  }
  return {
    id: r.id,
    role: r.task >= 0 ? roleOf(r.task) : '-',
    op: r.task >= 0 && r.op >= 0 ? opKind(r.task, r.op) : '-',
    label: own.length ? own[own.length - 1].label : '-',
    page: pageKind(r.page_state ? r.page_state.flags : null),
  };
}

/** The signature of the violation a controlled iteration just ended with, read from the model
 * before the next iteration resets it. Ring violations use the ring's snapshot; the driver's own
 * (DEADLOCK, HUNG, a crash, the quiescent checks) the model as it is now. */
export function iterationSignature(shm: Shm, roles: readonly string[], ops: readonly Op[][], v: Violation): FindSignature {
  const roleOf = (t: number) => roles[t] ?? '?';
  const opKind = (t: number, op: number) => ops[t]?.[op]?.kind ?? '-';
  const rec = readViolations(shm).find((r) => r.id === v.id && r.task === v.task && r.op === v.op && r.page === v.page);
  if (rec) return recordSignature(rec, roleOf, opKind);
  const step = v.task >= 0 ? lastStep(shm, v.task) : null;
  return {
    id: v.id,
    role: v.task >= 0 ? roleOf(v.task) : '-',
    op: v.task >= 0 && v.op >= 0 ? opKind(v.task, v.op) : '-',
    label: step ? step.label : '-',
    page: pageKind(v.page >= 0 && v.page < shm.sizes.pages ? Atomics.load(shm.flags, v.page) : null),
  };
}
