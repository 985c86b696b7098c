// The model's non-page locks: spinlocks (the page-table lock, the i_pages lock, the allocator's
// zone lock), a sleeping mutex (i_rwsem, held across a truncation) and a reader/writer semaphore
// (mmap_lock, i_mmap_rwsem: below).
//
// Protocol code runs under two drivers (src/kernel/step.ts): a spinner yields a schedule point on
// every failed attempt, so under the one-thread controlled driver the holder gets to run, and a
// sleeper blocks only through a futexWait effect.
import { futexWait, futexWake, type Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/** How long a spinner naps between attempts (ms of driver time), unless the unlock wakes it. */
export const SPIN_NAP_MS = 0.02;

/** In a spinlock's word beside the owner (task id + 1): a spinner may be napping on the word, so
 * the unlock must wake it. Set by the spinner before it naps, cleared by the unlock. */
export const SPIN_NAPPERS = 1 << 30;

/**
 * spin_lock(): the lock word holds the owner's task id + 1 (0 = unlocked). One schedule point,
 * then, while the lock is held, short timed naps on the lock word instead of a schedule point per
 * attempt: spinning threads outnumber the 2 cores (a preempted holder stalls spinners for ms), and
 * a labelled retry loop would fill the flight records with one step name, pushing out the steps
 * a violation report needs. The nap is a futexWait effect, so the controlled driver lets the
 * holder run meanwhile. Before it naps the spinner sets SPIN_NAPPERS in the word (a compare-
 * exchange: if the word changed meanwhile it tries again at once), so the unlock wakes it: a
 * spinner in the kernel runs on a CPU of its own and sees the release at once, where a nap that
 * only timed out lasted ~110 us for the 20 us asked and, 81-90 % of the time, waited for a holder
 * that was itself in a perturbation sleep. The nap still ends at its timeout, SPIN_NAP_MS, under
 * both drivers (why not longer: src/sched/free.ts, wait()).
 */
export function* spinLock(t: Task, word: Int32Array, i: number, label: string): Step {
  const me = t.id + 1;
  yield label;
  for (let owner = Atomics.compareExchange(word, i, 0, me); owner !== 0; owner = Atomics.compareExchange(word, i, 0, me)) {
    const napping = owner | SPIN_NAPPERS;
    if (owner !== napping && Atomics.compareExchange(word, i, owner, napping) !== owner) continue;
    const page = t.page;
    t.page = -1; // a driver reports a plain futex wait as a wait on t.page: this is no page lock
    yield futexWait(word, i, napping, SPIN_NAP_MS);
    t.page = page;
  }
  held++;
}

export function spinTrylock(t: Task, word: Int32Array, i: number): boolean {
  if (Atomics.compareExchange(word, i, 0, t.id + 1) !== 0) return false;
  held++;
  return true;
}

/** Spinlocks (these: not the wait-table bucket locks) held on this thread. Free mode runs one task
 * per thread, so it is that task's count: its driver reads it (a perturbation sleep with a spinlock
 * held, src/sched/free.ts). The controlled driver runs every task on one thread and never reads it. */
let held = 0;
export function spinlocksHeld(): number {
  return held;
}

/**
 * spin_unlock(): one release exchange (Atomics are sequentially consistent; a seq-cst store is an
 * exchange on x86 anyway), and when a spinner said it naps, a wake of every napper (a few at most:
 * one per actor; each tries again, the losers nap again). Atomics.notify takes a process-wide lock
 * in V8, so the uncontended unlock never calls it.
 *
 * The wake is Atomics.notify itself, not a futexWake effect: spinUnlock is a plain call in the
 * protocol code (no schedule point, nothing yielded), and the wake only ends a nap early, which the
 * spinner's loop tolerates as it tolerates the timeout. Under the controlled driver no thread
 * sleeps on the word (its naps are virtual), so the notify finds nobody and a nap ends at its
 * timeout as it always did: the controlled schedules are unchanged.
 */
export function spinUnlock(word: Int32Array, i: number): void {
  held--;
  if ((Atomics.exchange(word, i, 0) & SPIN_NAPPERS) !== 0) Atomics.notify(word, i);
}

// A futex mutex (Drepper, "Futexes are tricky", mutex #2): 0 unlocked, 1 locked, 2 locked with
// possible sleepers. Used for i_rwsem (down_write / up_write): only truncators take it.
const M_LOCKED = 1;
const M_CONTENDED = 2;

export function* mutexLock(t: Task, word: Int32Array, i: number, label: string): Step {
  yield label;
  let c = Atomics.compareExchange(word, i, 0, M_LOCKED);
  if (c === 0) return;
  const page = t.page;
  t.page = -1; // the driver reports a plain futex wait as a wait on t.page: this is no page
  try {
    if (c !== M_CONTENDED) c = Atomics.exchange(word, i, M_CONTENDED);
    while (c !== 0) {
      yield futexWait(word, i, M_CONTENDED);
      yield label;
      c = Atomics.exchange(word, i, M_CONTENDED);
    }
  } finally {
    t.page = page;
  }
}

export function* mutexUnlock(word: Int32Array, i: number): Step {
  if (Atomics.exchange(word, i, 0) === M_CONTENDED) yield futexWake(word, i, 1);
}

// A reader/writer semaphore (down_read / down_write, kernel/locking/rwsem.c), for mmap_lock and
// i_mmap_rwsem: one word, the readers holding it in the low 16 bits, RWSEM_WRITER while a writer
// holds it, RWSEM_WRITER_WAITING while a writer waits for it, RWSEM_SLEEPERS while a task may sleep
// on the word. A reader that finds a writer holding or waiting sleeps, as the kernel's rwsem
// queues a reader behind a waiting writer (rwsem_down_read_slowpath()): readers coming and going
// do not starve the writer. Sleepers futexWait on the word; the release that may leave the lock
// free clears RWSEM_SLEEPERS and wakes them all, and each looks again.
const RWSEM_READERS = 0xffff;
const RWSEM_WRITER = 1 << 16;
const RWSEM_WRITER_WAITING = 1 << 17;
const RWSEM_SLEEPERS = 1 << 18;
const RWSEM_WAKE_ALL = 1 << 30;

/** Sleep on the rwsem word, which read `v`, once it says `nv` (v with the waiting bits set); if it
 * changed meanwhile, return at once to look again. */
function* rwsemSleep(t: Task, word: Int32Array, i: number, v: number, nv: number, label: string): Step {
  if (v !== nv && Atomics.compareExchange(word, i, v, nv) !== v) return;
  const page = t.page;
  t.page = -1; // the driver reports a plain futex wait as a wait on t.page: this is no page
  yield futexWait(word, i, nv);
  t.page = page;
  yield label;
}

/** down_read(): one schedule point (`label`) when the lock is free for readers. */
export function* downRead(t: Task, word: Int32Array, i: number, label: string): Step {
  yield label;
  for (;;) {
    const v = Atomics.load(word, i);
    if ((v & (RWSEM_WRITER | RWSEM_WRITER_WAITING)) === 0) {
      if (Atomics.compareExchange(word, i, v, v + 1) === v) return;
      continue;
    }
    yield* rwsemSleep(t, word, i, v, v | RWSEM_SLEEPERS, label);
  }
}

/** down_write(): waits for the readers and the writer holding it; announces itself meanwhile. */
export function* downWrite(t: Task, word: Int32Array, i: number, label: string): Step {
  yield label;
  for (;;) {
    const v = Atomics.load(word, i);
    if ((v & (RWSEM_READERS | RWSEM_WRITER)) === 0) {
      // another writer still waiting sets RWSEM_WRITER_WAITING again when it looks next
      if (Atomics.compareExchange(word, i, v, (v | RWSEM_WRITER) & ~RWSEM_WRITER_WAITING) === v) return;
      continue;
    }
    yield* rwsemSleep(t, word, i, v, v | RWSEM_WRITER_WAITING | RWSEM_SLEEPERS, label);
  }
}

/** up_read(): the last reader out wakes the sleepers (a waiting writer, and readers queued behind it). */
export function* upRead(word: Int32Array, i: number): Step {
  const v = Atomics.sub(word, i, 1) - 1;
  if ((v & RWSEM_READERS) === 0 && (v & RWSEM_SLEEPERS) !== 0 && Atomics.and(word, i, ~RWSEM_SLEEPERS) & RWSEM_SLEEPERS)
    yield futexWake(word, i, RWSEM_WAKE_ALL);
}

/** up_write() */
export function* upWrite(word: Int32Array, i: number): Step {
  if (Atomics.and(word, i, ~(RWSEM_WRITER | RWSEM_SLEEPERS)) & RWSEM_SLEEPERS) yield futexWake(word, i, RWSEM_WAKE_ALL);
}
