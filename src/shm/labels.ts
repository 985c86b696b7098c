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
  /** the slots the cache names, each once, in the order first seen, and their words as interned:
   * what restore() writes back after a model reset zeroed the buffer */
  private readonly slots: number[] = [];
  private readonly kept = new Uint8Array(LABEL_SLOTS);
  private saved = new Int32Array(16 * LABEL_WORDS);
  constructor(private readonly shm: Shm) {}

  /** The label's id (its slot), interning it on first use. */
  id(s: string): number {
    const hit = this.cache.get(s);
    if (hit !== undefined) return hit;
    const id = this.intern(s);
    this.cache.set(s, id);
    this.keep(id);
    return id;
  }

  /** Write this table's slots back into the buffer after the buffer was zeroed (controlled mode's
   * next iteration: initShm() wipes the whole model, the cached ids must stay valid). Only the
   * slots in use are written: a few dozen of LABEL_SLOTS, instead of copying the whole table. */
  restore(): void {
    const labels = this.shm.labels, saved = this.saved;
    for (let k = 0; k < this.slots.length; k++) {
      const at = this.slots[k] * LABEL_WORDS;
      for (let w = 0; w < LABEL_WORDS; w++) labels[at + w] = saved[k * LABEL_WORDS + w];
    }
  }

  private keep(slot: number): void {
    if (this.kept[slot]) return; // a full table hands out slot 0 to every further label
    this.kept[slot] = 1;
    const k = this.slots.length;
    if ((k + 1) * LABEL_WORDS > this.saved.length) {
      const grown = new Int32Array(this.saved.length * 2);
      grown.set(this.saved);
      this.saved = grown;
    }
    this.slots.push(slot);
    const at = slot * LABEL_WORDS;
    for (let w = 1; w < LABEL_WORDS; w++) this.saved[k * LABEL_WORDS + w] = this.shm.labels[at + w];
    // the hash word last, as intern() publishes it
    this.saved[k * LABEL_WORDS] = Atomics.load(this.shm.labels, at);
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
