// Schedule-point labels are strings in protocol code and small integers in shared memory (the
// flight recorders). The table lives in the buffer so any thread can decode any task's records,
// even those of a worker that is stuck or gone.
import { LABEL_SLOTS, LABEL_WORDS, CTL } from './layout.ts';
import type { Shm } from './shm.ts';

const MAX_CHARS = (LABEL_WORDS - 1) * 4;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 1; // never 0: 0 marks an empty slot
}

function slotMatches(shm: Shm, slot: number, s: string): boolean {
  const base = slot * LABEL_WORDS + 1;
  const n = Math.min(s.length, MAX_CHARS);
  for (let i = 0; i < MAX_CHARS; i++) {
    const word = shm.labels[base + (i >> 2)];
    const byte = (word >>> ((i & 3) * 8)) & 0xff;
    const want = i < n ? s.charCodeAt(i) & 0xff : 0;
    if (byte !== want) return false;
    if (want === 0) return true;
  }
  return true;
}

export class LabelTable {
  private readonly cache = new Map<string, number>();
  constructor(private readonly shm: Shm) {}

  /** The label's id (its slot), interning it on first use. */
  id(s: string): number {
    const hit = this.cache.get(s);
    if (hit !== undefined) return hit;
    const id = this.intern(s);
    this.cache.set(s, id);
    return id;
  }

  private intern(s: string): number {
    const shm = this.shm;
    const h = fnv1a(s);
    while (Atomics.compareExchange(shm.ctl, CTL.LABEL_LOCK, 0, 1) !== 0);
    try {
      for (let probe = 0; probe < LABEL_SLOTS; probe++) {
        const slot = (h >>> 0) % LABEL_SLOTS + probe;
        const at = (slot % LABEL_SLOTS) * LABEL_WORDS;
        const cur = shm.labels[at];
        if (cur === h && slotMatches(shm, slot % LABEL_SLOTS, s)) return slot % LABEL_SLOTS;
        if (cur === 0) {
          for (let i = 0; i < Math.min(s.length, MAX_CHARS); i++)
            shm.labels[at + 1 + (i >> 2)] |= (s.charCodeAt(i) & 0xff) << ((i & 3) * 8);
          Atomics.store(shm.labels, at, h);
          return slot % LABEL_SLOTS;
        }
      }
      return 0; // table full: records still work, with a shared label
    } finally {
      Atomics.store(shm.ctl, CTL.LABEL_LOCK, 0);
    }
  }
}

/** Decode a label id back to its text. */
export function labelText(shm: Shm, id: number): string {
  const at = id * LABEL_WORDS;
  if (id < 0 || id >= LABEL_SLOTS || Atomics.load(shm.labels, at) === 0) return '?';
  let out = '';
  for (let i = 0; i < MAX_CHARS; i++) {
    const b = (shm.labels[at + 1 + (i >> 2)] >>> ((i & 3) * 8)) & 0xff;
    if (b === 0) break;
    out += String.fromCharCode(b);
  }
  return out;
}
