// The violation ring's slots (the layout's `violations` region): any task (or the checker) writes
// here; the main thread reads it (src/check/violations.ts decodes the records). Each slot keeps
// the involved page's state at the moment of the report and a snapshot of every task's flight
// recorder, so the report can show who did which kernel step on that page, in order.
import { CTL, VIOLATION_HEADER_WORDS } from './layout.ts';
import type { Shm } from './shm.ts';

/** Word offsets in a slot's header. */
export const H = {
  CODE: 0, TASK: 1, OP: 2, PAGE: 3, SEQ: 4,
  FLAGS: 5, REF: 6, MAPCOUNT: 7, MAPPING: 8, INDEX: 9, OWNER: 10,
  NVALS: 11, VALS: 12, // up to 4 values
} as const;
export const MAX_VALS = VIOLATION_HEADER_WORDS - H.VALS;

/** Write a violation record (invariant `code`, see src/kernel/invariants.ts). Returns false if the ring is full (the count still goes up). */
export function writeViolation(
  shm: Shm, code: number, task: number, op: number, page: number, values: number[] = [],
): boolean {
  const slot = Atomics.add(shm.ctl, CTL.VIOLATIONS, 1);
  if (slot >= shm.sizes.violationSlots) return false;
  const base = slot * shm.layout.violationStride;
  const v = shm.violations;
  v[base + H.TASK] = task;
  v[base + H.OP] = op;
  v[base + H.PAGE] = page;
  v[base + H.SEQ] = Atomics.load(shm.ctl, CTL.SEQ);
  if (page >= 0 && page < shm.sizes.pages) {
    v[base + H.FLAGS] = Atomics.load(shm.flags, page);
    v[base + H.REF] = Atomics.load(shm.refcount, page);
    v[base + H.MAPCOUNT] = Atomics.load(shm.mapcount, page);
    v[base + H.MAPPING] = Atomics.load(shm.mapping, page);
    v[base + H.INDEX] = Atomics.load(shm.index, page);
    v[base + H.OWNER] = Atomics.load(shm.owner, page);
  }
  const n = Math.min(values.length, MAX_VALS);
  v[base + H.NVALS] = n;
  for (let i = 0; i < n; i++) v[base + H.VALS + i] = values[i];
  // a racy copy is fine: each ring has one writer, and records carry their own sequence numbers
  v.set(shm.flight, base + VIOLATION_HEADER_WORDS);
  Atomics.store(v, base + H.CODE, code); // published last
  return true;
}

