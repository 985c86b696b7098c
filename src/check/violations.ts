// The violation ring, typed: reports by invariant id, and the records decoded with every task's
// recent steps (the ring itself: src/shm/violations.ts).
import { CTL, FLIGHT_WORDS, VIOLATION_HEADER_WORDS, seqUnwrap } from '../shm/layout.ts';
import { labelText } from '../shm/labels.ts';
import type { Shm } from '../shm/shm.ts';
import { H, writeViolation } from '../shm/violations.ts';
import { invariantCode, invariantFromCode, type InvariantId } from '../kernel/invariants.ts';
import type { Violation } from '../kernel/observer.ts';

export interface FlightRecord {
  task: number;
  seq: number;
  label: string;
  page: number;
  aux: number;
  op: number;
}

export interface PageState {
  flags: number;
  refcount: number;
  mapcount: number;
  mapping: number;
  index: number;
  owner: number;
}

/** A violation as the ring holds it: the Violation both modes report (task -1 = the checker /
 * main thread), with when it was reported, the page as it was, and the tasks' recent steps. */
export interface ViolationRecord extends Violation {
  seq: number;
  page_state: PageState | null;
  /** All tasks' recent steps, merged in global order (oldest first). */
  flight: FlightRecord[];
}

/** Report a violation. Returns false if the ring is full (the count still goes up). */
export function reportViolation(
  shm: Shm, id: InvariantId, task: number, op: number, page: number, values: number[] = [],
): boolean {
  return writeViolation(shm, invariantCode(id), task, op, page, values);
}

export function violationCount(shm: Shm): number {
  return Atomics.load(shm.ctl, CTL.VIOLATIONS);
}

/** Has a violation of `id` been reported? Reads only the ring's invariant codes (readViolations()
 * decodes every task's flight ring for each record: tens of milliseconds on a large ring). */
export function violationReported(shm: Shm, id: InvariantId): boolean {
  const n = Math.min(violationCount(shm), shm.sizes.violationSlots), code = invariantCode(id);
  for (let slot = 0; slot < n; slot++) if (Atomics.load(shm.violations, slot * shm.layout.violationStride + H.CODE) === code) return true;
  return false;
}

/** Decode one task's flight ring from a flight region (live or a snapshot). `ref`: a step number
 * of the same run to unwrap the records' numbers against (seqUnwrap()), so that records decoded
 * with one reference compare and sort as plain numbers; without it the ring's Int32 words, which
 * only seqDiff() orders. */
export function decodeFlight(shm: Shm, region: Int32Array, base: number, task: number, ref?: number): FlightRecord[] {
  const R = shm.sizes.flightEntries;
  const at = base + task * shm.layout.flightStride;
  const written = region[at];
  const out: FlightRecord[] = [];
  for (let i = Math.max(0, written - R); i < written; i++) {
    const e = at + 1 + (i % R) * FLIGHT_WORDS;
    out.push({
      task, seq: ref === undefined ? region[e] : seqUnwrap(region[e], ref), label: labelText(shm, region[e + 1]), page: region[e + 2], aux: region[e + 3], op: region[e + 4],
    });
  }
  return out;
}

export function readViolations(shm: Shm, describe: (r: ViolationRecord) => string = () => ''): ViolationRecord[] {
  const n = Math.min(violationCount(shm), shm.sizes.violationSlots);
  const out: ViolationRecord[] = [];
  for (let slot = 0; slot < n; slot++) {
    const base = slot * shm.layout.violationStride;
    const v = shm.violations;
    const code = Atomics.load(v, base + H.CODE);
    if (code === 0) continue; // still being written
    const page = v[base + H.PAGE];
    // the step numbers unwrapped (CTL.SEQ wraps past 2^31): the report's own as an unsigned word
    // (it counts on from 2^31), every record's relative to it, so the merge below and every
    // comparison of a report's numbers are plain ones
    const seq = v[base + H.SEQ] >>> 0;
    const flight: FlightRecord[] = [];
    for (let t = 0; t < shm.sizes.tasks; t++)
      flight.push(...decodeFlight(shm, v, base + VIOLATION_HEADER_WORDS, t, seq));
    flight.sort((a, b) => a.seq - b.seq);
    const rec: ViolationRecord = {
      id: invariantFromCode(code),
      task: v[base + H.TASK],
      op: v[base + H.OP],
      page,
      seq,
      page_state: page >= 0 && page < shm.sizes.pages
        ? {
          flags: v[base + H.FLAGS], refcount: v[base + H.REF], mapcount: v[base + H.MAPCOUNT],
          mapping: v[base + H.MAPPING], index: v[base + H.INDEX], owner: v[base + H.OWNER],
        }
        : null,
      values: Array.from(v.subarray(base + H.VALS, base + H.VALS + v[base + H.NVALS])),
      message: '',
      flight,
    };
    rec.message = describe(rec);
    out.push(rec);
  }
  return out;
}
