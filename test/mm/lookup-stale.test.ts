// The lockless page-cache lookup's folio_try_get() on a stale slot value: 6.6 filemap_get_entry()
// increments the refcount of the very struct page it loaded from the slot (folio_try_get_rcu(folio)),
// so a page freed and reused as a tail of another folio (refcount 0: tails keep none) is not pinned
// and the lookup retries. Pinning the folio around it instead (its head as read then) takes a
// reference of a folio the lookup never found, which its put_page() of the stale pfn does not give
// back once the allocator re-splits that block (free mode, writeback --pmd on: the folio at pfn 24
// kept one reference too many, a new folio at pfn 28 lost one and was freed while held).
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Stepper } from '../helpers/stepper.ts';
import { folioAlloc, putPage } from '../../src/mm/page_alloc.ts';
import { findGetPage } from '../../src/mm/filemap.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { folioHead } from '../../src/shm/page.ts';
import { NIL, PG_free } from '../../src/shm/shm.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';

describe('lockless lookup of a stale slot value', () => {
  it('folio_try_get() of a page reused as a tail of another folio fails and pins no folio', () => {
    // file 1 in order-2 folios; one of them starts in the middle of an order-3 block
    const { shm, task } = mmWorld(mmConfig({ 'max-folio-order': 3, 'fault-around': 1 }));
    const stale = [0, 4, 8, 12].map((i) => xaLoad(shm, 1, i)).find((pfn) => pfn % 8 === 4)!;
    expect(stale).toBeDefined();
    const index = shm.index[stale];

    // the lookup has loaded the slot (the folio at `stale`) and is about to folio_try_get() it
    const lookup = new Stepper(findGetPage(task(1), 1, index)).runUntil('folio_try_get');
    expect(lookup.last).toBe('folio_try_get');

    // meanwhile truncation frees the folio, and the allocator hands its block out again as part of
    // an order-3 folio: `stale` is now a tail page of it
    const t0 = task(0);
    run(truncateSetsize(t0, 1, 0));
    const taken: number[] = [];
    while (shm.compound[stale] >= 0 || (shm.flags[stale] & PG_free) !== 0) { // (a free block's pages read as tails too)
      const f = run(folioAlloc(t0, 3));
      expect(f).not.toBe(NIL);
      taken.push(f);
    }
    const head = folioHead(shm, stale);
    expect(head).toBe(stale - 4);
    expect(shm.refcount[head]).toBe(1);
    expect(shm.refcount[stale]).toBe(0);

    // the try-get fails on the tail (refcount 0): no reference on the folio around it, "goto repeat"
    expect(lookup.step()).toBe('xas_load');
    expect(shm.refcount[head]).toBe(1);
    expect(lookup.runToEnd()).toBe(NIL); // the slot is empty now

    for (const f of taken) run(putPage(t0, f));
    expect(readViolations(shm).map((v) => `${v.id} page ${v.page}`)).toEqual([]);
    expect(quiescentCheck(shm).map((f) => f.message)).toEqual([]);
  });
});
