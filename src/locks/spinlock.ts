// The model's non-page locks: spinlocks (the page-table lock, the i_pages lock, the allocator's
// zone lock) and a sleeping mutex (i_rwsem, held across a truncation).
//
// Protocol code runs under two drivers (src/kernel/step.ts): a spinner yields a schedule point on
// every failed attempt, so under the one-thread controlled driver the holder gets to run, and a
// sleeper blocks only through a futexWait effect.
import { futexWait, futexWake, type Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/** How long a spinner naps between attempts (ms of driver time). */
export const SPIN_NAP_MS = 0.02;

/**
 * spin_lock(): the lock word holds the owner's task id + 1 (0 = unlocked). One schedule point,
 * then, while the lock is held, short timed naps on the lock word instead of a schedule point per
 * attempt: spinning threads outnumber the 2 cores (a preempted holder stalls spinners for ms), and
 * a labelled retry loop would fill the flight records with one step name, pushing out the steps
 * a violation report needs. The nap is a futexWait effect, so the controlled driver lets the
 * holder run meanwhile; the unlock (a plain store) wakes nobody, the nap's timeout ends it.
 */
export function* spinLock(t: Task, word: Int32Array, i: number, label: string): Step {
  const me = t.id + 1;
  yield label;
  for (let owner = Atomics.compareExchange(word, i, 0, me); owner !== 0; owner = Atomics.compareExchange(word, i, 0, me)) {
    const page = t.page;
    t.page = -1; // a driver reports a plain futex wait as a wait on t.page: this is no page lock
    yield futexWait(word, i, owner, SPIN_NAP_MS);
    t.page = page;
  }
}

export function spinTrylock(t: Task, word: Int32Array, i: number): boolean {
  return Atomics.compareExchange(word, i, 0, t.id + 1) === 0;
}

/** spin_unlock(): a plain release store (Atomics are sequentially consistent). */
export function spinUnlock(word: Int32Array, i: number): void {
  Atomics.store(word, i, 0);
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
