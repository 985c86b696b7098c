// Lockdep for page locks (--lockdep; off by default).
//
// "the page lock ... has never worked with lockdep" (Linus, Msg-ID
// CAHk-=wgZEUoiGoKh92stUh3sBA-7D24i6XqQN2UMm3u4=XkQkg@mail.gmail.com, kernel-protocols §5.7): every
// page lock is one lock class, so the kernel's lockdep cannot tell a correct nesting of two page
// locks from an ABBA. Here each task records, as it goes, which locks it holds when it blocks on
// another one, and a LOCK-ORDER violation is reported the first time an order is seen that,
// together with an order seen before (by any task), could deadlock — usually long before it does.
//
// Lock classes:
//   page lock   lock_page / lock_page_killable / wait_on_page_locked (a blocking wait for the bit)
//   PTL         pte_offset_map_lock (a spinning acquisition)
//   writeback   held: the writeback I/O of a page this task started (it yields the kernel step
//               'set_page_writeback' right before test_set_page_writeback) and has not ended
//               (end_page_writeback); acquired: wait_on_page_writeback
//   mmap_lock   an mm's mmap_lock (down_read / down_write, src/mm/mmap.ts; taken only with an
//               unmapper in the mix)
//   i_mmap_rwsem  a file's i_mmap_rwsem (the rmap walks read it, free_pgtables() and vma_link()
//               write it)
// The kernel's order of these (v6.6 mm/rmap.c, "Lock ordering in mm"): mm->mmap_lock ->
// mapping->invalidate_lock -> page->flags PG_locked -> vma_start_write -> mapping->i_mmap_rwsem ->
// anon_vma->rwsem -> mm->page_table_lock or pte_lock. A rw semaphore is one class whether it is
// taken for reading or writing: a reader queues behind a waiting writer, so a read acquisition
// under a lock the writer's holder waits for deadlocks as well.
// Rules:
//   1. A dependency A -> B is recorded when a task blocks on B (or waits for it) while holding A.
//      Trylocks never create a dependency (they cannot deadlock), but what they take is held.
//   2. Between classes: a cycle in the class graph (A -> B seen and now B -> A, or a longer cycle
//      through other classes) is LOCK-ORDER, reported once per set of classes with the chain of
//      every order in it (the shortest path back): which task
//      held what when it blocked on what, at which operation, with its last kernel steps. §7: the
//      PTL nests inside the page lock (map_pages only trylocks under the PTL); a writeback wait
//      nests inside the page lock (truncate, write_cache_pages): page lock -> PTL and page lock ->
//      writeback are the orders every mm scenario shows, so their reverse is reported as soon as
//      a task takes it.
//   3. Page lock -> page lock (one class, as in the kernel): the order is the page's key, file then
//      index ("lock pages in index order": truncate_inode_pages_range, write_cache_pages,
//      collapse_file); pages with no file (mapping NULL or anonymous) are ordered by pfn, and a
//      file page and a fileless page have no order between them. Blocking on a page whose key is
//      not above every page lock held is LOCK-ORDER at once: the rule is the other half of the
//      inversion (the ascending order first seen is shown with it when there is one). A writeback
//      in flight followed by the page lock of a page above it in that order is the same nesting
//      (write_cache_pages() locks the next page of its batch while the earlier pages' I/O is in
//      flight) and adds no class order; any other writeback -> page lock is one (rule 2).
//   3b. A page lock held while waiting for the writeback of ANOTHER page (direct reclaim's
//      folio_wait_writeback(), shrink_folio_list() Case 3, in an allocation made under a page
//      lock) is ordered as page locks are: the writeback may be write_cache_pages()'s, in flight
//      while it locks the next pages of its batch (above) — the one we hold, if it comes after the
//      page we wait for. Waiting for the writeback of a page that is not above every page lock
//      held is LOCK-ORDER at once: the deadlock 63f3655f9501 ("mm, memcg: fix reclaim deadlock
//      with writeback") fixed by preallocating the PTE table before __do_fault() takes the page
//      lock. Waiting for the writeback of the very page one holds locked (truncate, writeback,
//      wait_for_stable_page) is the class order page lock -> writeback of rule 2.
//   4. Blocking on a lock the task already holds (a page lock, a PTL, a writeback it started
//      itself) is LOCK-ORDER at once (lockdep's "possible recursive locking detected"); the wait-
//      for graph reports the DEADLOCK when it happens.
//
// The graph lives in shared memory (shm.lockdep): one record per class pair, written once by the
// first task that shows the order (claim with a CAS, fill, publish). Each task caches which
// records it has seen published, so in the steady state a check reads no shared memory at all.
// The main thread turns a violation's values (the record slots) into the message.
import { FLIGHT_WORDS, LOCKDEP_WORDS, MAX_HELD, seqDiff } from '../shm/layout.ts';
import { labelText } from '../shm/labels.ts';
import { PG_writeback, type Shm } from '../shm/shm.ts';
import { LD_I_MMAP, LD_MMAP, LD_PAGE, LD_PTL, LD_WB, type LockdepHooks, type Task } from '../kernel/task.ts';


export { LD_I_MMAP, LD_MMAP, LD_PAGE, LD_PTL, LD_WB };
const NCLASS = 5;
export const LD_CLASS_NAMES = ['page lock', 'PTL', 'writeback', 'mmap_lock', 'i_mmap_rwsem'] as const;

// record slots: 0..24 class pair from * NCLASS + to (slot 0 = page lock -> page lock in ascending
// order), 25 page lock -> page lock against the order, 26..30 recursion per class, 31 page lock ->
// the writeback of a page not above it (rule 3b). 32 at most: a task's `known` is one Int32 of bits
export const SLOT_PAGE_DESC = NCLASS * NCLASS;
export const SLOT_RECURSE = SLOT_PAGE_DESC + 1;
export const SLOT_WB_DESC = SLOT_RECURSE + NCLASS;
export const LOCKDEP_SLOTS = SLOT_WB_DESC + 1;
if (LOCKDEP_SLOTS > 32) throw new Error('lockdep: more record slots than bits in a task\'s known mask');
const NLABELS = 8;
const R = {
  STATE: 0, // 0 free, 1 being written, 2 published
  TASK: 1, OP: 2,
  HELD_ID: 3, HELD_MAPPING: 4, HELD_INDEX: 5, HELD_SEQ: 6, HELD_OP: 7,
  NEW_ID: 8, NEW_MAPPING: 9, NEW_INDEX: 10, SEQ: 11,
  NLABELS: 12, LABELS: 13,
} as const;
const RECORD_WORDS = 24;
const REPORTED = LOCKDEP_SLOTS * RECORD_WORDS; // dedupe words for class cycles, one per set of classes
if (REPORTED + (1 << NCLASS) > LOCKDEP_WORDS) throw new Error('LOCKDEP_WORDS is too small for the lockdep records');

/** The classes (from, to) of a record slot. */
export function slotClasses(slot: number): [number, number] {
  if (slot < NCLASS * NCLASS) return [Math.floor(slot / NCLASS), slot % NCLASS];
  if (slot === SLOT_PAGE_DESC) return [LD_PAGE, LD_PAGE];
  if (slot === SLOT_WB_DESC) return [LD_PAGE, LD_WB];
  const c = slot - SLOT_RECURSE;
  return [c, c];
}

/** The page a LOCK-ORDER violation names: the lock's, for a page lock or a writeback; -1 else. */
const pageOf = (cls: number, id: number): number => (cls === LD_PAGE || cls === LD_WB ? id : -1);

interface Held {
  cls: number;
  id: number;
  seq: number;
  op: number;
}

/** The sequence number of the task's latest schedule point, from its own flight ring (CTL.SEQ
 * itself is the hottest word of the run: reading it on every acquisition would cost a cache miss). */
function lastSeq(t: Task): number {
  const shm = t.shm, f = shm.flight, fb = t.id * shm.layout.flightStride, w = f[fb];
  return w > 0 ? f[fb + 1 + ((w - 1) % shm.sizes.flightEntries) * FLIGHT_WORDS] : 0;
}

/** Where the task took its most recent page locks: MAX_HELD entries of (pfn, seq, op), newest
 * overwriting the oldest (a task holds at most MAX_HELD page locks). No allocation per lock. */
const CTX_WORDS = 3;

/**
 * A task's lockdep: what it holds beyond the page locks in shm.held (PTLs, writebacks in flight)
 * and where it took each lock. One per Task (t.lockdep), so it lives in the task's own thread.
 */
export class Lockdep implements LockdepHooks {
  private readonly ptls: Held[] = [];
  private readonly wbs: Held[] = [];
  /** the mmap_locks and i_mmap_rwsems held, for reading or writing */
  private readonly rwsems: Held[] = [];
  private readonly pageCtx = new Int32Array(MAX_HELD * CTX_WORDS).fill(-1);
  private ctxNext = 0;
  /** record slots this task knows are taken (they never become free again) */
  private known = 0;

  /** Forget everything (a driver that re-initialises the model between iterations calls this:
   * initShm clears the shared graph too). */
  reset(): void {
    this.ptls.length = 0;
    this.wbs.length = 0;
    this.rwsems.length = 0;
    this.pageCtx.fill(-1);
    this.ctxNext = 0;
    this.known = 0;
  }

  // ---- what the task holds ----------------------------------------------------------------

  /** A page lock was taken (any way: fast path, slow path, hand-off, trylock). */
  pageAcquired(t: Task, pfn: number): void {
    const c = this.pageCtx, i = this.ctxNext * CTX_WORDS;
    c[i] = pfn;
    c[i + 1] = lastSeq(t);
    c[i + 2] = t.op;
    this.ctxNext = (this.ctxNext + 1) % MAX_HELD;
  }

  /** A page born locked (__SetPageLocked): no acquisition to tell, so the entry says so (seq = op
   * = -1). Without it an older entry of the same pfn, from this task's last MAX_HELD locks, would
   * stand for it. */
  pageBornLocked(pfn: number): void {
    const c = this.pageCtx, i = this.ctxNext * CTX_WORDS;
    c[i] = pfn;
    c[i + 1] = -1;
    c[i + 2] = -1;
    this.ctxNext = (this.ctxNext + 1) % MAX_HELD;
  }

  /** The entry of page `pfn` in pageCtx, or -1 (none recorded: born locked). */
  private ctxOf(pfn: number): number {
    const c = this.pageCtx;
    for (let k = 1; k <= MAX_HELD; k++) {
      const i = ((this.ctxNext - k + MAX_HELD) % MAX_HELD) * CTX_WORDS;
      if (c[i] === pfn) return i;
    }
    return -1;
  }

  ptlAcquired(t: Task, ptl: number): void {
    this.ptls.push({ cls: LD_PTL, id: ptl, seq: lastSeq(t), op: t.op });
  }

  ptlReleased(ptl: number): void {
    const i = this.ptls.findIndex((h) => h.id === ptl);
    if (i >= 0) this.ptls.splice(i, 1);
  }

  /** The task is about to start page `pfn`'s writeback I/O, which it will end itself
   * (Task.writebackStarted(), at the kernel step 'set_page_writeback'). */
  writebackStarted(t: Task, pfn: number): void {
    this.wbs.push({ cls: LD_WB, id: pfn, seq: lastSeq(t), op: t.op });
  }

  writebackEnded(pfn: number): void {
    const i = this.wbs.findIndex((h) => h.id === pfn);
    if (i >= 0) this.wbs.splice(i, 1);
  }

  rwsemAcquired(t: Task, cls: number, id: number): void {
    this.rwsems.push({ cls, id, seq: lastSeq(t), op: t.op });
  }

  rwsemReleased(cls: number, id: number): void {
    for (let i = this.rwsems.length - 1; i >= 0; i--) {
      if (this.rwsems[i].cls !== cls || this.rwsems[i].id !== id) continue;
      this.rwsems.splice(i, 1);
      return;
    }
  }

  // ---- the check ------------------------------------------------------------------------------

  /**
   * The task is about to block on (or wait for) lock `id` of class `cls`: record a dependency from
   * every lock it holds and report what breaks the order. Called BEFORE the attempt, so an order
   * that deadlocks this very time is still reported.
   */
  check(t: Task, cls: number, id: number): void {
    const shm = t.shm;
    const nPages = Math.min(Atomics.load(shm.heldCount, t.id), MAX_HELD);
    if (nPages === 0 && this.ptls.length === 0 && this.wbs.length === 0 && this.rwsems.length === 0) return;
    for (let k = 0; k < nPages; k++) {
      const pfn = shm.held[t.id * MAX_HELD + k];
      const c = this.ctxOf(pfn);
      this.dependency(t, LD_PAGE, pfn, c < 0 ? -1 : this.pageCtx[c + 1], c < 0 ? -1 : this.pageCtx[c + 2], cls, id);
    }
    for (const h of this.ptls) this.dependency(t, h.cls, h.id, h.seq, h.op, cls, id);
    for (const h of this.rwsems) this.dependency(t, h.cls, h.id, h.seq, h.op, cls, id);
    for (let i = this.wbs.length - 1; i >= 0; i--) {
      const h = this.wbs[i];
      // a writeback we did not end ourselves (or that never started) is not ours to hold
      if (!(Atomics.load(shm.flags, h.id) & PG_writeback) || Atomics.load(shm.wbOwner, h.id) !== t.id + 1) {
        this.wbs.splice(i, 1);
        continue;
      }
      this.dependency(t, h.cls, h.id, h.seq, h.op, cls, id);
    }
  }

  /** Held lock (hcls, hid), taken at seq hseq in op hop; the task blocks on (cls, id). */
  private dependency(t: Task, hcls: number, hid: number, hseq: number, hop: number, cls: number, id: number): void {
    if (hcls === cls && hid === id) {
      // recursion: blocking on what we hold ourselves
      if (this.record(t, SLOT_RECURSE + cls, hid, hseq, hop, id)) t.violation('LOCK-ORDER', pageOf(cls, id), SLOT_RECURSE + cls);
      return;
    }
    if (hcls === LD_PAGE && cls === LD_PAGE) {
      const order = comparePages(t.shm, hid, id);
      if (order === 0) return; // no order defined between these two pages
      if (order < 0) {
        if (!(this.known & 1)) this.record(t, 0, hid, hseq, hop, id);
        return;
      }
      if (this.record(t, SLOT_PAGE_DESC, hid, hseq, hop, id)) t.violation('LOCK-ORDER', id, SLOT_PAGE_DESC, this.taken(t.shm, 0) ? 0 : -1);
      return;
    }
    // rule 3b: a page lock held while waiting for another page's writeback, ordered as page locks
    if (hcls === LD_PAGE && cls === LD_WB && hid !== id && comparePages(t.shm, hid, id) > 0) {
      if (this.record(t, SLOT_WB_DESC, hid, hseq, hop, id)) t.violation('LOCK-ORDER', id, SLOT_WB_DESC);
      return;
    }
    // rule 3 for a writeback in flight: write_cache_pages() keeps page i's I/O in flight while it
    // locks page i+1 of the batch (mm/page-writeback.c, v6.6): in index order, as page locks (and,
    // as for them, no order with a page truncated meanwhile: the batch's "continue_unlock")
    if (hcls === LD_WB && cls === LD_PAGE && comparePages(t.shm, hid, id) <= 0) return;
    const slot = hcls * NCLASS + cls;
    if (!this.record(t, slot, hid, hseq, hop, id) || hcls === cls) return;
    // a new order between two classes: does a path of orders seen lead back from cls to hcls?
    const shm = t.shm, back = this.pathBack(shm, cls, hcls);
    if (back === null) return;
    let classes = 1 << hcls;
    for (const s of back) classes |= 1 << slotClasses(s)[0];
    // a violation carries 4 values: the new order and the first 3 of the way back (a cycle of
    // every class but one is the longest that shows whole)
    if (Atomics.compareExchange(shm.lockdep, REPORTED + classes, 0, 1) === 0) t.violation('LOCK-ORDER', pageOf(cls, id), slot, ...back.slice(0, 3));
  }

  /** The record slots of a shortest path of class orders seen (between two classes) from class
   * `from` to class `to`, or null when there is none. */
  private pathBack(shm: Shm, from: number, to: number): number[] | null {
    const via = new Int32Array(NCLASS).fill(-1); // the slot that first reached each class
    let frontier = [from];
    via[from] = NCLASS * NCLASS;
    while (frontier.length) {
      const next: number[] = [];
      for (const x of frontier) {
        for (let y = 0; y < NCLASS; y++) {
          if (y === x || via[y] >= 0 || !this.taken(shm, x * NCLASS + y)) continue;
          via[y] = x * NCLASS + y;
          if (y === to) {
            const path: number[] = [];
            for (let c = to; c !== from; c = slotClasses(via[c])[0]) path.unshift(via[c]);
            return path;
          }
          next.push(y);
        }
      }
      frontier = next;
    }
    return null;
  }

  /** Is record `slot` taken (being written or published)? */
  private taken(shm: Shm, slot: number): boolean {
    if (this.known & (1 << slot)) return true;
    if (Atomics.load(shm.lockdep, slot * RECORD_WORDS + R.STATE) === 0) return false;
    this.known |= 1 << slot;
    return true;
  }

  /** Write record `slot` if it is still free; true if this call wrote it (the order is new). */
  private record(t: Task, slot: number, hid: number, hseq: number, hop: number, id: number): boolean {
    if (this.known & (1 << slot)) return false;
    const shm = t.shm, L = shm.lockdep, base = slot * RECORD_WORDS;
    this.known |= 1 << slot;
    if (Atomics.compareExchange(L, base + R.STATE, 0, 1) !== 0) return false;
    L[base + R.TASK] = t.id;
    L[base + R.OP] = t.op;
    L[base + R.HELD_ID] = hid;
    L[base + R.HELD_SEQ] = hseq;
    L[base + R.HELD_OP] = hop;
    const hasPage = (c: number) => c === LD_PAGE || c === LD_WB;
    const [from, to] = slotClasses(slot);
    L[base + R.HELD_MAPPING] = hasPage(from) ? Atomics.load(shm.mapping, hid) : 0;
    L[base + R.HELD_INDEX] = hasPage(from) ? Atomics.load(shm.index, hid) : 0;
    L[base + R.NEW_ID] = id;
    L[base + R.NEW_MAPPING] = hasPage(to) ? Atomics.load(shm.mapping, id) : 0;
    L[base + R.NEW_INDEX] = hasPage(to) ? Atomics.load(shm.index, id) : 0;
    L[base + R.SEQ] = lastSeq(t); // the task's own latest step number, as the held lock's (CTL.SEQ runs a block ahead)
    // the task's last kernel steps, oldest first: how it got here
    const f = shm.flight, fb = t.id * shm.layout.flightStride, written = f[fb];
    const n = Math.min(NLABELS, written, shm.sizes.flightEntries);
    L[base + R.NLABELS] = n;
    for (let k = 0; k < n; k++) {
      const e = fb + 1 + ((written - n + k) % shm.sizes.flightEntries) * FLIGHT_WORDS;
      L[base + R.LABELS + k] = f[e + 1];
    }
    Atomics.store(L, base + R.STATE, 2);
    return true;
  }
}

/**
 * The order rule 3 between two page locks: < 0 when `a` comes before `b` (holding a, blocking on
 * b is fine), > 0 when it does not (b before a, or the same key), 0 when they have no order.
 */
export function comparePages(shm: Shm, a: number, b: number): number {
  const ma = Atomics.load(shm.mapping, a), mb = Atomics.load(shm.mapping, b);
  if (ma > 0 && mb > 0) {
    if (ma !== mb) return ma < mb ? -1 : 1;
    const ia = Atomics.load(shm.index, a), ib = Atomics.load(shm.index, b);
    return ia < ib ? -1 : 1;
  }
  if (ma > 0 || mb > 0) return 0;
  return a < b ? -1 : 1;
}

/** Attach lockdep to a task (free driver with --lockdep; a controlled driver may do the same). */
export function attachLockdep(t: Task): Lockdep {
  const l = new Lockdep();
  t.lockdep = l;
  return l;
}

// ---- reading the graph back (main thread) -------------------------------------------------------

export interface LockdepRecord {
  slot: number;
  from: string;
  to: string;
  task: number;
  op: number;
  heldId: number;
  heldOp: number;
  heldSeq: number;
  newId: number;
  seq: number;
  steps: string[];
  text: string;
}

function lockText(shm: Shm, cls: number, id: number, mapping: number, index: number): string {
  if (cls === LD_PTL) return `the PTL ${id}`;
  if (cls === LD_MMAP) return `the mmap_lock of mm ${id}`;
  if (cls === LD_I_MMAP) return `the i_mmap_rwsem of file ${id}`;
  const where = mapping > 0 ? `file ${mapping - 1} index ${index}` : mapping < 0 ? 'anonymous' : 'no file';
  return `${cls === LD_WB ? 'the writeback of page' : 'the page lock of page'} ${id} (${where})`;
}

/** One published record, with a sentence saying what the task did; null if not (yet) written. */
export function readLockdepRecord(shm: Shm, slot: number, roleOf: (task: number) => string = () => ''): LockdepRecord | null {
  if (slot < 0 || slot >= LOCKDEP_SLOTS) return null;
  const L = shm.lockdep, base = slot * RECORD_WORDS;
  if (Atomics.load(L, base + R.STATE) !== 2) return null;
  const [from, to] = slotClasses(slot);
  const steps: string[] = [];
  for (let k = 0; k < L[base + R.NLABELS]; k++) steps.push(labelText(shm, L[base + R.LABELS + k]));
  const task = L[base + R.TASK], op = L[base + R.OP], heldOp = L[base + R.HELD_OP], heldSeq = L[base + R.HELD_SEQ];
  const role = roleOf(task);
  const held = lockText(shm, from, L[base + R.HELD_ID], L[base + R.HELD_MAPPING], L[base + R.HELD_INDEX]);
  const target = lockText(shm, to, L[base + R.NEW_ID], L[base + R.NEW_MAPPING], L[base + R.NEW_INDEX]);
  const how = from === LD_WB ? 'with' : 'holding';
  const since = from === LD_WB ? 'started' : 'taken';
  // born locked (__SetPageLocked: no acquisition recorded) is hop = hseq = -1; the op number says
  // it, never the step number: step numbers are Int32 words that wrap (seqDiff()), so a real one
  // is negative once CTL.SEQ passed 2^31, while op numbers count from 0
  const seq = L[base + R.SEQ];
  const before = seqDiff(seq, heldSeq);
  const heldAt = heldOp < 0 ? ' (born locked: a new page)'
    : ` (${since} in op ${heldOp} at seq ${heldSeq}, ${before} step${before === 1 ? '' : 's'} before)`;
  const verb = to === LD_WB ? 'waited on' : to === LD_PAGE ? 'blocked on' : 'took';
  const text = `task ${task}${role ? ` (${role})` : ''} op ${op}, ${how} ${held}${from === LD_WB ? ' in flight' : ''}${heldAt}, `
    + `${verb} ${target} at seq ${seq}${steps.length ? ` [its last steps: ${steps.join(' > ')}]` : ''}`;
  return {
    slot, from: LD_CLASS_NAMES[from], to: LD_CLASS_NAMES[to], task, op, heldId: L[base + R.HELD_ID], heldOp, heldSeq,
    newId: L[base + R.NEW_ID], seq, steps, text,
  };
}

/** The message of a LOCK-ORDER violation from its values (the record slots it names). */
export function lockOrderMessage(shm: Shm, values: readonly number[], roleOf: (task: number) => string = () => ''): string {
  const [slot, ...others] = values;
  const rec = readLockdepRecord(shm, slot, roleOf);
  const first = rec?.text ?? `(record ${slot} not readable)`;
  if (slot === SLOT_WB_DESC) {
    return `lock order: a task holding a page lock waits for the writeback of a page that comes before it (file, then index): `
      + `that writeback may be write_cache_pages()'s, which locks the following pages of its batch with the I/O in flight — `
      + `the page held among them (the memcg reclaim deadlock 63f3655f9501 fixed by preallocating the PTE table before the page `
      + `lock): ${first}`;
  }
  if (slot >= SLOT_RECURSE) {
    const cls = slot - SLOT_RECURSE;
    const what = cls === LD_WB ? 'waits on a writeback it started itself and has not ended' : `blocks on a ${LD_CLASS_NAMES[cls]} it already holds`;
    return `lock order: recursive locking — a task ${what} (a self-deadlock): ${first}`;
  }
  if (slot === SLOT_PAGE_DESC) {
    const asc = others[0] >= 0 ? readLockdepRecord(shm, others[0], roleOf) : null;
    return `lock order: a page lock taken against the page order (file, then index; pfn for pages with no file — `
      + `"lock pages in index order", as truncate_inode_pages_range and write_cache_pages do): ${first}. `
      + (asc ? `The ascending order, first seen: ${asc.text}` : 'No ascending order was seen yet: the rule is the other half');
  }
  const [a, b] = slotClasses(slot);
  const chain = others.map((s) => readLockdepRecord(shm, s, roleOf));
  const cycle = [a, b, ...others.map((s) => slotClasses(s)[1])].map((c) => LD_CLASS_NAMES[c]).join(' -> ');
  return `lock order inversion (possible deadlock, ${cycle}): ${first}; `
    + chain.map((r, i) => (r ? `earlier, ${r.text}` : `(record ${others[i]} not readable)`)).join('; ');
}

/** Every order seen (run.json extra.lockdep). */
export function lockdepSummary(shm: Shm, roleOf: (task: number) => string = () => ''): { orders: LockdepRecord[] } {
  const orders: LockdepRecord[] = [];
  for (let s = 0; s < LOCKDEP_SLOTS; s++) {
    const r = readLockdepRecord(shm, s, roleOf);
    if (r) orders.push(r);
  }
  return { orders };
}
