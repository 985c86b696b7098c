// The violation ring: any task (or the checker) reports here; the main thread reads it. Each slot
// keeps the involved page's state at the moment of the report and a snapshot of every task's
// flight recorder, so the report can show who did which kernel step on that page, in order.
import { CTL, FLIGHT_WORDS, VIOLATION_HEADER_WORDS } from '../shm/layout.ts';
import { labelText } from '../shm/labels.ts';
import type { Shm } from '../shm/shm.ts';
import { invariantCode, invariantFromCode, type InvariantId } from './invariants.ts';

const H = {
  CODE: 0, TASK: 1, OP: 2, PAGE: 3, SEQ: 4,
  FLAGS: 5, REF: 6, MAPCOUNT: 7, MAPPING: 8, INDEX: 9, OWNER: 10,
  NVALS: 11, VALS: 12, // up to 4 values
} as const;
const MAX_VALS = VIOLATION_HEADER_WORDS - H.VALS;

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

export interface ViolationRecord {
  id: InvariantId;
  task: number; // -1 = the checker / main thread
  op: number;
  page: number;
  seq: number;
  page_state: PageState | null;
  values: number[];
  message: string;
  /** All tasks' recent steps, merged in global order (oldest first). */
  flight: FlightRecord[];
}

/** Report a violation. Returns false if the ring is full (the count still goes up). */
export function reportViolation(
  shm: Shm, id: InvariantId, task: number, op: number, page: number, values: number[] = [],
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
  Atomics.store(v, base + H.CODE, invariantCode(id)); // published last
  return true;
}

export function violationCount(shm: Shm): number {
  return Atomics.load(shm.ctl, CTL.VIOLATIONS);
}

/** Decode one task's flight ring from a flight region (live or a snapshot). */
export function decodeFlight(shm: Shm, region: Int32Array, base: number, task: number): FlightRecord[] {
  const R = shm.sizes.flightEntries;
  const at = base + task * shm.layout.flightStride;
  const written = region[at];
  const out: FlightRecord[] = [];
  for (let i = Math.max(0, written - R); i < written; i++) {
    const e = at + 1 + (i % R) * FLIGHT_WORDS;
    out.push({
      task, seq: region[e], label: labelText(shm, region[e + 1]), page: region[e + 2], aux: region[e + 3], op: region[e + 4],
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
    const flight: FlightRecord[] = [];
    for (let t = 0; t < shm.sizes.tasks; t++)
      flight.push(...decodeFlight(shm, v, base + VIOLATION_HEADER_WORDS, t));
    flight.sort((a, b) => a.seq - b.seq);
    const rec: ViolationRecord = {
      id: invariantFromCode(code),
      task: v[base + H.TASK],
      op: v[base + H.OP],
      page,
      seq: v[base + H.SEQ],
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
