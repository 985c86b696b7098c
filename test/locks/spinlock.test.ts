// spin_lock() / spin_unlock() (src/locks/spinlock.ts): a spinner that naps says so in the lock
// word, and the unlock wakes it; an unlock with no napper leaves the word 0 and wakes nobody.
import { describe, expect, it } from 'vitest';
import { SPIN_NAPPERS, SPIN_NAP_MS, spinLock, spinTrylock, spinUnlock } from '../../src/locks/spinlock.ts';
import type { FutexWait } from '../../src/kernel/step.ts';
import type { Task } from '../../src/kernel/task.ts';

// spinLock reads only the task's id and its page (set aside during a nap)
const task = (id: number) => ({ id, page: 7 }) as unknown as Task;
const word = () => new Int32Array(new SharedArrayBuffer(8));
/** Atomics.waitAsync (Node 20; not in the ES2022 lib typings) */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

describe('spinlock', () => {
  it('a spinner marks the word before it naps; the unlock clears the mark and the spinner takes the lock', () => {
    const w = word();
    const holder = task(0), spinner = task(1);
    expect(spinTrylock(holder, w, 1)).toBe(true);
    const g = spinLock(spinner, w, 1, 'spin');
    expect(g.next().value).toBe('spin');
    const nap = g.next().value as FutexWait;
    expect(nap).toMatchObject({ kind: 'wait', index: 1, expected: 1 | SPIN_NAPPERS, timeoutMs: SPIN_NAP_MS });
    expect(w[1]).toBe(1 | SPIN_NAPPERS);
    expect(spinner.page).toBe(-1); // no page lock is waited on
    // a nap that times out with the lock still held naps again, the mark still set
    expect((g.next('timed-out').value as FutexWait).expected).toBe(1 | SPIN_NAPPERS);
    spinUnlock(w, 1);
    expect(w[1]).toBe(0);
    expect(g.next('ok').done).toBe(true);
    expect(w[1]).toBe(2); // task 1 holds it, no mark: its unlock has nobody to wake
    expect(spinner.page).toBe(7);
    spinUnlock(w, 1);
    expect(w[1]).toBe(0);
  });

  it('the unlock wakes a thread sleeping on a marked word, long before the sleep would time out', async () => {
    const w = word();
    expect(spinTrylock(task(0), w, 0)).toBe(true);
    const g = spinLock(task(1), w, 0, 'spin');
    g.next();
    const nap = g.next().value as FutexWait;
    // sleep on the word as a spinner's nap does, but for 10 s: only a notify ends it early
    const r = waitAsync(w, 0, nap.expected, 10_000);
    expect(r.async).toBe(true);
    spinUnlock(w, 0);
    expect(await r.value).toBe('ok');
  });

  it('an unmarked unlock notifies nobody: a sleeper on the word stays asleep until its timeout', async () => {
    const w = word();
    expect(spinTrylock(task(0), w, 0)).toBe(true);
    // a sleeper that did not mark the word (expects the plain owner): the unlock does not notify
    const r = waitAsync(w, 0, 1, 50);
    spinUnlock(w, 0);
    expect(await r.value).toBe('timed-out');
  });
});
