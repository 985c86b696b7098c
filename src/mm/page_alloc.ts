// The page allocator: a free list in the shared buffer under CTL.ALLOC_LOCK (the zone lock).
//
// Freed pages really go back and get handed out again, so a path that keeps using a page after
// dropping its reference (use-after-free) or trusts a stale pfn (ABA) meets a page that now
// belongs to someone else: the data stamps and the free-time checks see it.
import { CTL } from '../shm/layout.ts';
import { NIL, PG_free, PG_locked, type Shm } from '../shm/shm.ts';
import { MAPPING_ANON } from '../shm/page.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/** Set a fresh page's fields (prep_new_page): refcount 1, unmapped, clean flags, no mapping, an
 * unfilled data stamp with a new generation. The refcount is published last: until then a stale
 * speculative lookup's folio_try_get() sees 0 and fails. */
function prepNewPage(shm: Shm, pfn: number): void {
  shm.stampFile[pfn] = NIL;
  shm.stampIndex[pfn] = NIL;
  shm.stampEnd[pfn] = 0;
  Atomics.store(shm.stampGen, pfn, Atomics.add(shm.ctl, CTL.ALLOC_GEN, 1) + 1);
  Atomics.store(shm.mapping, pfn, 0);
  Atomics.store(shm.index, pfn, NIL);
  Atomics.store(shm.mapcount, pfn, -1);
  Atomics.store(shm.flags, pfn, 0);
  Atomics.store(shm.refcount, pfn, 1);
}

/** alloc_page(GFP_KERNEL) (v6.6 __alloc_pages()): a page with refcount 1, or NIL when none can be
 * had (the caller returns VM_FAULT_OOM). The fast path takes one off the free list; an empty list
 * is __alloc_pages_slowpath(): direct reclaim (try_to_free_pages(), in the caller's context and
 * under whatever locks it holds), then one more try. The fault paths allocate before they lock the
 * page (kernel-protocols §3.3); a caller that allocates under a page lock reaches reclaim with it. */
export function* allocPage(t: Task): Step<number> {
  const shm = t.shm;
  t.page = -1;
  let pfn = yield* rmqueue(t);
  if (pfn === NIL && (yield* t.ops.reclaim.tryToFreePages(t)) > 0) pfn = yield* rmqueue(t);
  if (pfn === NIL) return NIL;
  t.page = pfn;
  if ((Atomics.load(shm.flags, pfn) & PG_free) === 0 || Atomics.load(shm.refcount, pfn) !== 0)
    t.violation('FREE-BAD', pfn, 1); // the free list handed out a page that is not free
  prepNewPage(shm, pfn);
  yield 'prep_new_page';
  return pfn;
}

/** rmqueue(): one page off the free list under the zone lock, or NIL. */
function* rmqueue(t: Task): Step<number> {
  const shm = t.shm, ctl = shm.ctl;
  yield* spinLock(t, ctl, CTL.ALLOC_LOCK, 'zone->lock');
  const pfn = ctl[CTL.FREE_HEAD];
  if (pfn !== NIL) {
    ctl[CTL.FREE_HEAD] = shm.freeNext[pfn];
    ctl[CTL.FREE_COUNT]--;
    shm.freeNext[pfn] = NIL;
  }
  spinUnlock(ctl, CTL.ALLOC_LOCK);
  return pfn;
}

/** put_page(): drop a reference; the last one frees the page. */
export function* putPage(t: Task, pfn: number): Step {
  t.page = pfn;
  yield 'put_page';
  const n = Atomics.sub(t.shm.refcount, pfn, 1) - 1;
  if (n < 0) t.violation('REF-COUNT', pfn, n); // put of a page nobody holds
  else if (n === 0) yield* freePage(t, pfn);
}

/** free_unref_page() after free_pages_prepare()'s bad-page checks: a page being freed must be
 * unmapped, unlocked, out of any mapping, with refcount 0 (mm/page_alloc.c bad_page()). A bad
 * page is reported and leaked, as the kernel does, rather than handed out again. */
export function* freePage(t: Task, pfn: number): Step {
  const shm = t.shm, ctl = shm.ctl;
  t.page = pfn;
  yield 'free_pages_prepare';
  const flags = Atomics.load(shm.flags, pfn);
  const mapcount = Atomics.load(shm.mapcount, pfn);
  const mapping = Atomics.load(shm.mapping, pfn);
  const ref = Atomics.load(shm.refcount, pfn);
  if (mapcount !== -1 || (flags & (PG_locked | PG_free)) !== 0 || mapping > 0 || ref !== 0) {
    t.violation('FREE-BAD', pfn, flags, ref, mapcount, mapping);
    return;
  }
  // an anonymous page's mapping is cleared at free (PageMappingFlags); the data stamp is left as
  // it was so that a use-after-free reader sees the old stamp until the page is reused
  if (mapping === MAPPING_ANON) Atomics.store(shm.mapping, pfn, 0);
  Atomics.store(shm.flags, pfn, PG_free);
  yield* spinLock(t, ctl, CTL.ALLOC_LOCK, 'zone->lock');
  shm.freeNext[pfn] = ctl[CTL.FREE_HEAD];
  ctl[CTL.FREE_HEAD] = pfn;
  ctl[CTL.FREE_COUNT]++;
  spinUnlock(ctl, CTL.ALLOC_LOCK);
}

/** Outside any task (scenario init, tests): take a page off the free list directly. */
export function allocPageInit(shm: Shm): number {
  const ctl = shm.ctl;
  const pfn = ctl[CTL.FREE_HEAD];
  if (pfn === NIL) return NIL;
  ctl[CTL.FREE_HEAD] = shm.freeNext[pfn];
  ctl[CTL.FREE_COUNT]--;
  shm.freeNext[pfn] = NIL;
  prepNewPage(shm, pfn);
  return pfn;
}

/** Walk the free list (checks and tests): the pfns on it, or an error string if it is corrupt. */
export function freeListPages(shm: Shm): number[] | string {
  const out: number[] = [];
  const seen = new Uint8Array(shm.sizes.pages);
  for (let pfn = shm.ctl[CTL.FREE_HEAD]; pfn !== NIL; pfn = shm.freeNext[pfn]) {
    if (pfn < 0 || pfn >= shm.sizes.pages) return `free list points at pfn ${pfn}`;
    if (seen[pfn]) return `free list has a cycle at pfn ${pfn}`;
    seen[pfn] = 1;
    out.push(pfn);
  }
  return out;
}
