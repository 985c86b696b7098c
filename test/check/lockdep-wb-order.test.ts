// lockdep rule 3b (src/check/lockdep.ts): a page lock held while waiting for the writeback of
// another page is ordered as page locks are — the writeback may be write_cache_pages()'s, which
// locks the following pages of its batch with that I/O in flight (63f3655f9501).
import { describe, expect, it } from 'vitest';
import { mmWorld, run } from '../helpers/mm-fixture.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { LD_WB, SLOT_WB_DESC, attachLockdep, lockOrderMessage } from '../../src/check/lockdep.ts';
import { readViolations } from '../../src/check/violations.ts';

function holding(index: number) {
  const w = mmWorld();
  const t = w.task(0);
  attachLockdep(t);
  const held = xaLoad(w.shm, 0, index);
  run(t.ops.lock.lockPage(t, held));
  return { ...w, t, held };
}

describe('lockdep: a page lock held across a wait for another page\'s writeback', () => {
  it('the writeback of a page before the one held: LOCK-ORDER, with the commit in the message', () => {
    const { shm, t } = holding(5);
    t.lockdep!.check(t, LD_WB, xaLoad(shm, 0, 2));
    const v = readViolations(shm);
    expect(v.map((x) => x.id)).toEqual(['LOCK-ORDER']);
    expect(v[0].values[0]).toBe(SLOT_WB_DESC);
    expect(lockOrderMessage(shm, v[0].values)).toMatch(/63f3655f9501.*holding the page lock of page \d+ \(file 0 index 5\).*waited on the writeback of page \d+ \(file 0 index 2\)/);
  });

  it('the writeback of a page after the one held, or of the page held itself: in order', () => {
    const { shm, t, held } = holding(5);
    t.lockdep!.check(t, LD_WB, xaLoad(shm, 0, 7));
    t.lockdep!.check(t, LD_WB, held); // truncate, write_cache_pages, wait_for_stable_page
    t.lockdep!.check(t, LD_WB, xaLoad(shm, 1, 0)); // file 1 comes after file 0
    expect(readViolations(shm)).toEqual([]);
  });
});
