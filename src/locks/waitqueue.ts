// The hashed page wait table (kernel-protocols §5.1): buckets with a spinlock and a FIFO of wait
// entries, the entries themselves (one per task, in the buffer: in the kernel it lives on the
// waiter's stack), the __wake_up_common() walk, finish_wait(), and the fatal-signal model.
//
// Every bucket's list (bucketHead/bucketTail, wqNext/wqPrev) is read and written only under the
// bucket's lock; the lock's Atomics give the ordering, so the list words are plain accesses.
// wqLinked is the exception: finish_wait() reads it without the lock (list_empty_careful()), so it
// is written with Atomics.store, and written LAST when an entry leaves a list: once it reads 0 the
// waiter may return and reuse its entry (list_del_init_careful(), 5.9).
import { futexWait, futexWake, type Step } from '../kernel/step.ts';
import type { Task, WakeKey } from '../kernel/task.ts';
import {
  NIL, PG_waiters, WQ_FLAG_EXCLUSIVE, WQ_FLAG_WOKEN, WQ_FLAG_DONE, TASK_RUNNING, TASK_WAITING, type Shm,
} from '../shm/shm.ts';

// ---- model-only wait-entry flag bits (above the kernel's WQ_FLAG_* bits of shm.ts) ----

/** The waiter sleeps TASK_KILLABLE: a fatal signal wakes it (signal_wake_up), so for v4.10's and v4.14's
 * autoremove_wake_function a signalled killable waiter is "already running". */
export const WQ_TASK_KILLABLE = 0x100;
/** Set by sendFatalSignal() only to change the word the victim sleeps on, so a signal sent
 * between the victim's signal test and its futex wait cannot be missed (the futex compares the
 * word). It means nothing else; waiters clear it when they (re)initialise their entry. */
export const WQ_SIGNAL_KICK = 0x200;
/** WQ_FLAG_BOOKMARK (2554db916586, 4.14 to 5.17): the entry is a waker's bookmark, not a waiter
 * (src/locks/bookmark.ts). A model-only bit because the kernel's 0x04 is WQ_FLAG_CUSTOM here. */
export const WQ_FLAG_BOOKMARK = 0x400;

// ---- the hash ----

/** hash_32()'s multiplier (include/linux/hash.h). */
export const GOLDEN_RATIO_32 = 0x61c88647;

/** page_waitqueue(): the bucket of page pfn. The top bits of the multiplicative hash, scaled to
 * the bucket count; for 2^bits buckets this is exactly hash_32(pfn, bits). */
export function pageWaitQueue(shm: Shm, pfn: number): number {
  const h = Math.imul(pfn, GOLDEN_RATIO_32) >>> 0;
  return Math.floor((h / 4294967296) * shm.sizes.buckets);
}

// ---- the bucket spinlock (q->lock) ----
//
// A futex-style lock word: 0 free, 1 locked, 2 locked and someone may sleep on it. A few CAS
// attempts, each a schedule point (under the one-thread controlled driver a spinner that does not
// yield would never let the holder run); then sleep on the word. Sleeping matters in free mode:
// with more threads than the 2 cores a pure spin stalls for a scheduler tick (~4 ms) whenever the
// holder is preempted. The timed wait is only a backstop: every sleeper re-marks the word 2 before
// sleeping, so the unlocker always sees 2 and wakes one.

export const SPIN_LABEL = 'spin_lock(q)';
export const SPIN_TRIES = 4;
export const SPIN_SLEEP_MS = 10;
/** bucket lock word: 0 free, LOCKED held, CONTENDED held with possible sleepers (the checkers'
 * trylock in src/check/lockstate.ts uses the same word) */
export const LOCKED = 1;
export const CONTENDED = 2;

export function* spinLock(t: Task, b: number): Step<void> {
  const w = t.shm.bucketLock;
  for (let i = 0; i < SPIN_TRIES; i++) {
    yield SPIN_LABEL;
    if (Atomics.compareExchange(w, b, 0, LOCKED) === 0) return;
  }
  // Drepper's mutex: take it marked contended, or sleep until the holder's unlock wakes us
  const page = t.page;
  t.page = -1; // the drivers report a plain futex wait as a wait on t.page: this is no page
  try {
    for (;;) {
      yield SPIN_LABEL;
      if (Atomics.exchange(w, b, CONTENDED) === 0) return;
      yield futexWait(w, b, CONTENDED, SPIN_SLEEP_MS);
    }
  } finally {
    t.page = page;
  }
}

export function* spinUnlock(t: Task, b: number): Step<void> {
  yield 'spin_unlock(q)';
  if (Atomics.exchange(t.shm.bucketLock, b, 0) === CONTENDED) yield futexWake(t.shm.bucketLock, b, 1);
}

// ---- list operations (caller holds the bucket lock) ----

/** __add_wait_queue_entry_tail(q, wait). */
export function addWaitQueueEntryTail(shm: Shm, b: number, e: number): void {
  if (shm.wqLinked[e]) throw new Error(`wait entry ${e} queued twice (bucket ${b})`);
  const tail = shm.bucketTail[b];
  shm.wqNext[e] = NIL;
  shm.wqPrev[e] = tail;
  if (tail === NIL) shm.bucketHead[b] = e;
  else shm.wqNext[tail] = e;
  shm.bucketTail[b] = e;
  Atomics.store(shm.wqLinked, e, 1);
}

/** __add_wait_queue(q, wait): at the HEAD (4.10's shared waiters, 62906027091f). */
export function addWaitQueueEntryHead(shm: Shm, b: number, e: number): void {
  if (shm.wqLinked[e]) throw new Error(`wait entry ${e} queued twice (bucket ${b})`);
  const head = shm.bucketHead[b];
  shm.wqPrev[e] = NIL;
  shm.wqNext[e] = head;
  if (head === NIL) shm.bucketTail[b] = e;
  else shm.wqPrev[head] = e;
  shm.bucketHead[b] = e;
  Atomics.store(shm.wqLinked, e, 1);
}

/** list_del_init_careful(&wait->entry): wqLinked = 0 is the last write. */
export function listDelInit(shm: Shm, b: number, e: number): void {
  const p = shm.wqPrev[e], n = shm.wqNext[e];
  if (p === NIL) shm.bucketHead[b] = n;
  else shm.wqNext[p] = n;
  if (n === NIL) shm.bucketTail[b] = p;
  else shm.wqPrev[n] = p;
  shm.wqNext[e] = NIL;
  shm.wqPrev[e] = NIL;
  Atomics.store(shm.wqLinked, e, 0);
}

/** The entries queued in bucket b, head first (caller holds the lock, or the model is quiet). */
export function queuedEntries(shm: Shm, b: number): number[] {
  const out: number[] = [];
  for (let e = shm.bucketHead[b]; e !== NIL; e = shm.wqNext[e]) {
    out.push(e);
    if (out.length > shm.sizes.tasks) throw new Error(`wait queue ${b} is corrupt (a cycle)`);
  }
  return out;
}

// ---- the wait entry of task t ----

/** init_wait + wait_page->folio/bit_nr: name the page and bit, set the flags. Only while the
 * entry is on no list (it is after finish_wait()). */
export function initWaitEntry(t: Task, pfn: number, bitNr: number, flags: number): void {
  const shm = t.shm;
  shm.wqPage[t.id] = pfn;
  shm.wqBit[t.id] = bitNr;
  sleepClear(shm, t.id);
  Atomics.store(shm.wqFlags, t.id, flags);
}

/** The wait is over (after finish_wait() and the owner bookkeeping): the entry names no page any
 * more, so a stale WQ_FLAG_DONE cannot look like a hand-off in flight. */
export function releaseWaitEntry(t: Task): void {
  t.shm.wqPage[t.id] = NIL;
  sleepClear(t.shm, t.id);
  Atomics.store(t.shm.wqFlags, t.id, 0);
}

/** A fatal signal is pending for t (signal_pending_state(TASK_KILLABLE, current)). */
export function fatalSignalPending(t: Task): boolean {
  return Atomics.load(t.shm.fatal, t.id) !== 0;
}

/**
 * The signal has been delivered: the killable operation that saw it returns -EINTR. The model
 * clears the fatal word there (and only there): a pending signal outlives a killable lock that
 * returns 0 (a fast-path trylock or a hand-off never looks at signals), and non-killable waits
 * ignore it, exactly as in the kernel, until the next killable sleep returns -EINTR for it.
 */
export function deliverFatalSignal(t: Task): void {
  Atomics.store(t.shm.fatal, t.id, 0);
}

/**
 * Send a fatal signal (SIGKILL) to task `victim`: set its fatal word, then wake it
 * (signal_wake_up). The victim sleeps on its wait entry's flags word, so the sender changes that
 * word (WQ_SIGNAL_KICK) AFTER setting the fatal word and then wakes it: a victim that tested the
 * fatal word too early read its flags before the kick, so its futex wait returns at once.
 */
export function* sendFatalSignal(t: Task, victim: number): Step<void> {
  const shm = t.shm;
  t.aux = victim;
  yield 'send_sig(SIGKILL)';
  Atomics.store(shm.fatal, victim, 1);
  yield 'signal_wake_up';
  // The victim may have seen the signal at its last schedule point and returned -EINTR already
  // (deliverFatalSignal() cleared the word), and may be in its next wait by now. In the kernel
  // that cannot be: send_signal() and signal_wake_up() run under sighand->siglock, which the
  // victim's dequeue of the signal takes too, so the wake came before the signal was gone and
  // found the victim running (try_to_wake_up() returned 0). A kick now would be a wake-up of that
  // next wait with no signal behind it, and it would leave WQ_SIGNAL_KICK set in the word the
  // victim sleeps on, so that a later signal's kick no longer changes it (a lost signal wake-up).
  if (Atomics.load(shm.fatal, victim) !== 0) {
    Atomics.or(shm.wqFlags, victim, WQ_SIGNAL_KICK);
    yield futexWake(shm.wqFlags, victim, 1);
  }
  t.stat('signalsSent');
}

/** One io_schedule(): sleep on our entry's flags word while it still reads `seen`. May return
 * early (a kick, a timeout slice of the driver): callers re-check in a loop, as the kernel does. */
export function* ioSchedule(t: Task, pfn: number, bitNr: number, seen: number): Step<void> {
  const shm = t.shm, id = t.id;
  t.page = pfn;
  shm.taskWaitPage[id] = pfn;
  shm.taskWaitBit[id] = bitNr;
  Atomics.store(shm.taskState, id, TASK_WAITING);
  yield 'io_schedule';
  // __schedule(): a task in TASK_KILLABLE with a fatal signal pending is not dequeued
  // (signal_pending_state(prev->state, prev) sets it TASK_RUNNING), so io_schedule() returns at
  // once. Tested here, in the step that blocks, and not only by the caller before this schedule
  // point: a signal sent in between would find the waiter not yet asleep (its futex wake does
  // nothing) and past its test.
  if (seen & WQ_TASK_KILLABLE) {
    // A kick in the word with no signal behind it: in free mode sendFatalSignal() can still read
    // the victim's fatal word just before the victim takes the signal and then kick its next
    // wait. Take it back first, so that the next signal's kick changes the word again: a kick
    // after the compare-exchange changes the word we sleep on, and one before it (a no-op on the
    // set bit) came after its signal's fatal word, which the test below then sees.
    if (seen & WQ_SIGNAL_KICK) {
      const clean = seen & ~WQ_SIGNAL_KICK;
      if (Atomics.compareExchange(shm.wqFlags, id, seen, clean) !== seen) {
        Atomics.store(shm.taskState, id, TASK_RUNNING);
        return;
      }
      seen = clean;
    }
    if (fatalSignalPending(t)) {
      Atomics.store(shm.taskState, id, TASK_RUNNING);
      return;
    }
  }
  if (bitNr === 0) sleepBegins(t, pfn);
  yield futexWait(shm.wqFlags, id, seen);
  sleepClear(shm, id);
  Atomics.store(shm.taskState, id, TASK_RUNNING);
}

/** finish_wait(q, wait): if the entry is still queued (list_empty_careful() says no), take it
 * off under the lock. Once this returns the entry is on no list and no waker will touch it. */
export function* finishWait(t: Task, b: number): Step<void> {
  const shm = t.shm;
  yield 'finish_wait';
  Atomics.store(shm.taskState, t.id, TASK_RUNNING);
  if (Atomics.load(shm.wqLinked, t.id) === 0) return;
  yield* spinLock(t, b);
  if (shm.wqLinked[t.id]) {
    yield 'list_del_init';
    listDelInit(shm, b, t.id);
  }
  yield* spinUnlock(t, b);
}

// ---- the waker ----

/** wait_page_key: what the waker is waking for, and whether any entry was for this page. */
export type { WakeKey };

/** A wait entry's wake function (wake_page_function): 0 = not woken (or not ours), 1 = woken,
 * -1 = stop the walk. Runs under the bucket lock. */
export type WakeFunction = (t: Task, b: number, e: number, key: WakeKey) => Step<number>;

/** wake_page_match(): false if the entry is for another page (then page_match stays as it is)
 * or another bit of this page (page_match = 1). */
export function wakePageMatch(shm: Shm, e: number, key: WakeKey): boolean {
  if (shm.wqPage[e] !== key.pfn) return false;
  key.pageMatch = true;
  return shm.wqBit[e] === key.bitNr;
}

/**
 * Wake one entry: publish the new flags (smp_store_release(&wait->flags, flags | WOKEN...)),
 * wake the task (wake_up_state), and take the entry off the list absolutely last: after that the
 * waiter may return and reuse it.
 */
export function* wakeEntry(t: Task, b: number, e: number, setFlags: number): Step<void> {
  const shm = t.shm;
  t.aux = e;
  yield 'wake_up_state';
  const owed = wakeOwedTo(shm, e, setFlags);
  Atomics.or(shm.wqFlags, e, setFlags);
  if (owed) wakeTokenReady(shm, e);
  yield futexWake(shm.wqFlags, e, 1);
  yield 'list_del_init_careful';
  listDelInit(shm, b, e);
}

/**
 * folio_wake_bit(folio, bit_nr) = wake_up_page_bit(): under the bucket lock, __wake_up_common()
 * with nr_exclusive = 1 (§5.1): entries in FIFO order; a wake function returning 0 is skipped,
 * -1 ends the walk, a woken exclusive entry ends it, woken non-exclusive ones let it go on. Then
 * PG_waiters is cleared if the queue is empty or no entry was for this page: with waiters for
 * other pages still queued it may stay set ("the next waker will clear it").
 */
export function* folioWakeBit(t: Task, pfn: number, bitNr: number, wakeFunction: WakeFunction): Step<void> {
  const shm = t.shm;
  const b = pageWaitQueue(shm, pfn);
  t.page = pfn;
  yield* spinLock(t, b);
  const key: WakeKey = { pfn, bitNr, pageMatch: false };
  let e = shm.bucketHead[b];
  while (e !== NIL) {
    const next = shm.wqNext[e]; // list_for_each_entry_safe: e may leave the list below
    const flags = Atomics.load(shm.wqFlags, e); // read before the wake function, as the kernel does
    const ret = yield* wakeFunction(t, b, e, key);
    if (ret < 0) break;
    if (ret > 0 && (flags & WQ_FLAG_EXCLUSIVE)) break;
    e = next;
  }
  if (shm.bucketHead[b] === NIL || !key.pageMatch) {
    yield 'ClearPageWaiters';
    Atomics.and(shm.flags, pfn, ~PG_waiters);
  }
  yield* spinUnlock(t, b);
  if (bitNr === 0) unlockWalked(t, pfn);
}

// ---- checks ----

/**
 * A lock hand-off in flight: the waker set PG_locked FOR a waiter (its entry has WQ_FLAG_DONE,
 * exclusive, for this page's PG_locked) and the waiter has not yet run to record itself as the
 * shadow owner. During that window PG_locked is set with shadow owner 0; a live checker must not
 * call that a leak. (A fast-path locker has the same state for the instant between its RMW and
 * its owner store: re-validate before reporting.)
 */
export function lockHandoffPending(shm: Shm, pfn: number): boolean {
  const want = WQ_FLAG_EXCLUSIVE | WQ_FLAG_WOKEN | WQ_FLAG_DONE;
  for (let e = 0; e < shm.sizes.tasks; e++)
    if (shm.wqPage[e] === pfn && shm.wqBit[e] === 0 && (Atomics.load(shm.wqFlags, e) & want) === want) return true;
  return false;
}

// ---- owed wake-ups (LOCK-WAKE, exact) ----
//
// kernel-protocols §5: a waiter sleeps on PG_locked only after it set PG_waiters and then saw the
// bit set (its last check: the trylock under the queue lock since 5.9, test_bit() before), so the
// unlock that clears the bit afterwards sees PG_waiters and walks the queue; the walk either hands
// the lock over (the bit stays set), wakes the first exclusive waiter of the page without the lock
// (that waiter now owes the wake on: it takes the bit, or re-queues behind the stealer that holds
// it), or stops because the page was locked again (the new owner's unlock walks). So at every
// instant, for every page:
//
//   a waiter that sleeps on PG_locked, not woken, is covered: it is queued, and the bit is set
//   (or a hand-off to an owner is in flight), or a wake-up of the page is owed.
//
// Owed wake-ups are counted per page (wakeOwed): an unlock takes one before its releasing RMW and
// settles it at the end of its walk (at once if it saw no PG_waiters; if it never walks, at its
// next lock step); a waker that sets WQ_FLAG_WOKEN on an exclusive entry without DONE gives the
// waiter one (wqToken), which the waiter settles when it takes the bit, when it sleeps again after
// it re-armed its entry (its last check saw the bit set: the holder owes the wake then; a wake
// still in flight to it is not one of those, see wakeOwedTo()) or when its lock attempt returns.
// A waiter checks itself as it goes to sleep, and whoever settles the last owed wake-up
// of a page checks its sleepers: an uncovered sleeper is a lost wake-up at that instant, whether
// or not a later unlock would rescue it. No timing is involved; the time bound of
// src/check/lostwake.ts stays as a backstop.
//
// In free mode the words are read by one task while others change them, so a finding is taken
// only if the page's unlock count and owed count did not move around the reads: the bit can only
// be cleared by an unlock, which takes its owed wake-up first, and every walk runs under an owed
// wake-up, so with neither moving the state read is one that existed.

/**
 * Task `id` sleeps on page pfn's PG_locked from here (wqSleep = pfn + 1). Only the task itself
 * writes its wqSleep, and every write goes through sleepMark()/sleepClear(), which keep the page's
 * sleeper count (wqSleepers): counted BEFORE wqSleep names the page, uncounted AFTER it stops
 * naming it, so at every instant the count is at least the number of tasks whose wqSleep names
 * the page. A count of 0 read by lostSleeper() is an instant with no sleeper there: the scan of
 * every task, which would find none, is skipped (an unlock of a page nobody sleeps on, the usual).
 */
export function sleepMark(shm: Shm, id: number, pfn: number): void {
  sleepClear(shm, id);
  Atomics.add(shm.wqSleepers, pfn, 1);
  Atomics.store(shm.wqSleep, id, pfn + 1);
}

/** Task `id` sleeps on no page (see sleepMark()). Its own word: a plain read of it is exact. */
export function sleepClear(shm: Shm, id: number): void {
  const s = shm.wqSleep[id];
  if (s === 0) return;
  Atomics.store(shm.wqSleep, id, 0);
  Atomics.sub(shm.wqSleepers, s - 1, 1);
}

/** A hand-off in flight or a recorded owner: somebody will unlock the page. */
function lockCovered(shm: Shm, pfn: number): boolean {
  return (Atomics.load(shm.flags, pfn) & 1) !== 0 || Atomics.load(shm.owner, pfn) !== 0 || lockHandoffPending(shm, pfn);
}

/** Task e sleeps on page pfn's PG_locked, not woken, and no fatal signal will wake it. */
function sleepsOn(shm: Shm, e: number, pfn: number): boolean {
  if (Atomics.load(shm.wqSleep, e) !== pfn + 1) return false;
  const f = Atomics.load(shm.wqFlags, e);
  return !(f & WQ_FLAG_WOKEN) && !((f & WQ_TASK_KILLABLE) && Atomics.load(shm.fatal, e));
}

/**
 * A sleeper of page pfn's lock that nothing will wake, or -1. Not queued (no walk can find it), or
 * queued while the page is unlocked with no wake-up owed. Only `e` when given (a waiter checking
 * itself), else every task.
 */
export function lostSleeper(shm: Shm, pfn: number, only = -1): number {
  // nobody's wqSleep names the page at this instant (sleepMark()): no sleeper to find
  if (Atomics.load(shm.wqSleepers, pfn) === 0) return -1;
  const u = Atomics.load(shm.wakeUnlocks, pfn);
  const owed = Atomics.load(shm.wakeOwed, pfn) > 0;
  // whether the lock covers the page is read once, when the first sleeper is seen
  let covered: boolean | undefined;
  const lo = only >= 0 ? only : 0, hi = only >= 0 ? only + 1 : shm.sizes.tasks;
  for (let e = lo; e < hi; e++) {
    if (!sleepsOn(shm, e, pfn)) continue;
    const linked = Atomics.load(shm.wqLinked, e) !== 0;
    covered ??= owed || lockCovered(shm, pfn);
    if (linked && covered) continue;
    // re-read: still asleep, unwoken, and (if queued) the page still uncovered with no unlock between
    if (!sleepsOn(shm, e, pfn)) continue;
    if (!linked) {
      if (Atomics.load(shm.wqLinked, e) === 0 && sleepsOn(shm, e, pfn)) return e; // only e queues e
      continue;
    }
    if (lockCovered(shm, pfn) || Atomics.load(shm.wakeOwed, pfn) > 0 || Atomics.load(shm.wakeUnlocks, pfn) !== u) continue;
    return e;
  }
  return -1;
}

/** LOCK-WAKE for sleeper e of page pfn, reported by t, once per operation of e. */
function reportLost(t: Task, pfn: number, e: number): void {
  const shm = t.shm, op = Atomics.load(shm.opNo, e) + 1;
  if (Atomics.exchange(shm.wakeLostOp, e, op) === op) return;
  t.violation('LOCK-WAKE', pfn, e, Atomics.load(shm.flags, pfn), Atomics.load(shm.wqLinked, e));
}

/** Settle one owed wake-up of pfn; the last one checks the page's sleepers. */
function owedSettle(t: Task, pfn: number): void {
  if (Atomics.sub(t.shm.wakeOwed, pfn, 1) !== 1) return;
  const e = lostSleeper(t.shm, pfn);
  if (e >= 0) reportLost(t, pfn, e);
}

/**
 * unlock_page() of a page with no waiter announced, released by compare-exchange instead of the
 * RMW (releasePageLock()'s fast path): with PG_waiters clear at the release no walk is owed, so
 * the unlock owes nothing and settles nothing; only what settling its owed wake-up would have
 * checked is checked: if no other wake-up of the page is owed, its sleepers. The same verdicts at
 * the same step as unlockOwes() + unlockWalked() (a waiter that set PG_waiters before the release
 * makes the compare-exchange fail), for two locked RMWs, two stores and a sub less.
 */
export function unlockNoWaiters(t: Task, pfn: number): void {
  // Plain reads (each Atomics.load is a builtin call, ~10 ns, and this is every uncontended
  // unlock): they come after the releasing compare-exchange, a locked RMW, and only decide
  // whether to look; lostSleeper() re-reads everything it reports with Atomics
  if (t.wqSleepers[pfn] === 0 || t.wakeOwed[pfn] !== 0) return; // the task's copies of shm's (Task.flags)
  const e = lostSleeper(t.shm, pfn);
  if (e >= 0) reportLost(t, pfn, e);
}

/** unlock_page(), before its releasing RMW: the unlock owes a walk (settled by unlockWalked()). */
export function unlockOwes(t: Task, pfn: number): void {
  const shm = t.shm;
  unlockSettle(t);
  Atomics.add(shm.wakeOwed, pfn, 1);
  Atomics.add(shm.wakeUnlocks, pfn, 1);
  Atomics.store(shm.unlockToken, t.id, pfn + 1);
}

/** The unlock's walk of pfn is over (or was not needed: PG_waiters was clear). */
export function unlockWalked(t: Task, pfn: number): void {
  if (Atomics.load(t.shm.unlockToken, t.id) !== pfn + 1) return;
  Atomics.store(t.shm.unlockToken, t.id, 0);
  owedSettle(t, pfn);
}

/** An unlock that never walked: settled at the unlocker's next lock step. */
export function unlockSettle(t: Task): void {
  const u = t.unlockToken[t.id]; // only this task writes its token: a plain read is exact
  if (u !== 0) unlockWalked(t, u - 1);
}

// A wake given without the lock is counted in two halves around the store of WQ_FLAG_WOKEN: the
// owed count and a PENDING token before it (so the waiter cannot see WOKEN and settle before the
// wake is counted), a READY token after it. In free mode the waiter may look at its token between
// the halves, while still on its way to sleep: a pending token is a wake in flight, not one it
// was given before its last check, so the waiter going to sleep settles only ready tokens it read
// before it saw WOKEN clear (the waiter itself cleared it when it re-armed: those wakes are used
// up). Wakes are counted, not merged: a waiter re-woken before it settled the last wake owes both.

/** Token units in wqToken (per task, this lock attempt's page): ready wakes, and pending ones. */
const TOKEN_PENDING = 1 << 24;
const TOKEN_READY = TOKEN_PENDING - 1;

/** The waker is about to wake exclusive entry e of page pfn's lock without handing it the lock:
 * e owes the wake on (a pending token until WOKEN is stored). Returns true if counted. */
export function wakeOwedTo(shm: Shm, e: number, setFlags: number): boolean {
  if (setFlags & WQ_FLAG_DONE || shm.wqBit[e] !== 0 || !(Atomics.load(shm.wqFlags, e) & WQ_FLAG_EXCLUSIVE)) return false;
  const pfn = shm.wqPage[e];
  if (pfn < 0) return false;
  Atomics.add(shm.wakeOwed, pfn, 1);
  Atomics.add(shm.wqToken, e, TOKEN_PENDING);
  return true;
}

/** WOKEN is stored: the pending token is ready (unless the waiter already settled it). */
export function wakeTokenReady(shm: Shm, e: number): void {
  for (;;) {
    const w = Atomics.load(shm.wqToken, e);
    if (w < TOKEN_PENDING || Atomics.compareExchange(shm.wqToken, e, w, w - TOKEN_PENDING + 1) === w) return;
  }
}

/** A woken waiter is done with every wake it was given in this lock attempt on pfn: it took the
 * bit, or its lock attempt returned. */
export function wakeTokenSettle(t: Task, pfn: number): void {
  // none given (the usual): the exchange would read 0 and write 0 at this instant, so skip it.
  // A plain read (an Atomics.load is a builtin call, ~10 ns, on every acquisition): wakers change
  // a task's token only while its entry is queued, under the queue lock, before the
  // Atomics.store that unlinks it. Here the task holds that lock, or its finish_wait() saw the
  // entry unlinked (every such write happened before), or it is right after its own bit RMW with
  // the entry maybe still queued (4.10's loop): a wake it misses came after that instant and is
  // settled when the lock attempt returns (__lockPage), as with an Atomics.load.
  if (t.wqToken[t.id] !== 0) wakeTokensSettle(t, pfn);
}

/** wakeTokenSettle() with a token to settle (apart: the test above is inlined at every
 * acquisition, this is not). */
function wakeTokensSettle(t: Task, pfn: number): void {
  const w = Atomics.exchange(t.shm.wqToken, t.id, 0);
  for (let n = (w & TOKEN_READY) + Math.floor(w / TOKEN_PENDING); n > 0; n--) owedSettle(t, pfn);
}

/** The waiter goes to sleep again on pfn with WOKEN clear: the ready wakes it read before are
 * used up (it re-armed after each and saw the bit set since: the holder owes the wake now), and
 * each was a wake that ended with somebody else holding the lock (LOCK-FAIR). */
function wakeTokenOvertaken(t: Task, pfn: number, w: number): void {
  const n = w & TOKEN_READY;
  if (n === 0) return;
  Atomics.sub(t.shm.wqToken, t.id, n);
  for (let i = 0; i < n; i++) {
    wakeMissed(t, pfn);
    owedSettle(t, pfn);
  }
}

// ---- starvation (LOCK-FAIR) ----
//
// A waiter is overtaken when the wake-up it was given without the lock ends with somebody else
// holding the lock and the waiter asleep again. How often that may happen within one lock attempt
// is the algorithm's fairness: the 5.9 hand-off never wakes an exclusive waiter without the lock;
// 5ef64cc8987a lets it happen sysctl_page_lock_unfairness (k) times and then hands over; the
// 4.10 .. 5.8 loop has no bound (the soft lockups that led to 2a9127fcf229). The check counts it the
// same way for every algorithm, from the owed wake-up accounting, and reports the attempt that is
// overtaken more than k + 1 times (k: the run's --unfairness).

/** The unfairness the run allows (sysctl_page_lock_unfairness): the lock's own, else the run's option. */
export const DEFAULT_UNFAIRNESS = 5;
function unfairnessBound(t: Task): number {
  const own = (t.ops.lock as { unfairness?: unknown }).unfairness;
  const k = typeof own === 'number' ? own : t.options.unfairness;
  return typeof k === 'number' && k >= 0 ? k : DEFAULT_UNFAIRNESS;
}

/** A lock attempt starts: nothing missed yet (__lock_page). */
export function lockAttemptBegins(t: Task): void {
  t.shm.wakeMissed[t.id] = 0;
}

function wakeMissed(t: Task, pfn: number): void {
  const n = ++t.shm.wakeMissed[t.id];
  const k = unfairnessBound(t);
  if (n === k + 2) t.violation('LOCK-FAIR', pfn, n, k);
}

/** io_schedule() on PG_locked: t sleeps from here; a waiter going to sleep uncovered is lost. */
function sleepBegins(t: Task, pfn: number): void {
  unlockSettle(t);
  // read before the WOKEN test: a wake given after this read is at most pending in it
  const w = Atomics.load(t.shm.wqToken, t.id);
  // woken since its last check: the futex wait below returns at once, nothing to settle or check
  if (Atomics.load(t.shm.wqFlags, t.id) & WQ_FLAG_WOKEN) return;
  // a woken waiter that sleeps again re-armed its entry and saw the bit set at its last check
  // after that: the holder owes the wake now, and the waiter was overtaken
  wakeTokenOvertaken(t, pfn, w);
  sleepMark(t.shm, t.id, pfn);
  if (lostSleeper(t.shm, pfn, t.id) === t.id) reportLost(t, pfn, t.id);
}
