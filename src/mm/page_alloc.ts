// The page allocator: a free list in the shared buffer under CTL.ALLOC_LOCK (the zone lock).
//
// Freed pages really go back and get handed out again, so a path that keeps using a page after
// dropping its reference (use-after-free) or trusts a stale pfn (ABA) meets a page that now
// belongs to someone else: the data stamps and the free-time checks see it.
//
// Folios: with a maximum order above 0 (setMaxFolioOrder(), --max-folio-order) there is one free
// list per order, of naturally aligned blocks (the buddy allocator's free_area[order]); a request
// takes a block of its order or splits a larger one (expand()); a freed block merges with its free
// buddy (__free_one_page()). With maximum order 0 every page is on the order-0 list and the
// allocator is the single free list it always was.
import { CTL } from '../shm/layout.ts';
import { NIL, PG_free, PG_locked, type Shm } from '../shm/shm.ts';
import { MAPPING_ANON, MAX_FOLIO_ORDER, entireMapcount, folioHead } from '../shm/page.ts';
import { spinLock, spinUnlock } from '../locks/spinlock.ts';
import type { Step } from '../kernel/step.ts';
import type { Task } from '../kernel/task.ts';

/** Set a fresh folio's fields (prep_new_page(), prep_compound_page()): refcount 1 on the head,
 * every page unmapped, with no mapping and an unfilled data stamp of a new generation, clean flags,
 * its place in the folio. The refcount is published last: until then a stale speculative lookup's
 * folio_try_get() sees 0 and fails. */
function prepNewPage(shm: Shm, pfn: number, order = 0): void {
  for (let i = (1 << order) - 1; i >= 0; i--) {
    const p = pfn + i;
    shm.stampFile[p] = NIL;
    shm.stampIndex[p] = NIL;
    shm.stampEnd[p] = 0;
    Atomics.store(shm.stampGen, p, Atomics.add(shm.ctl, CTL.ALLOC_GEN, 1) + 1);
    Atomics.store(shm.mapping, p, 0);
    Atomics.store(shm.index, p, NIL);
    Atomics.store(shm.mapcount, p, -1);
    shm.compound[p] = i === 0 ? order : -i;
    if (i !== 0) Atomics.store(shm.flags, p, 0);
  }
  Atomics.store(shm.nrPagesMapped, pfn, 0);
  if (order > 0) Atomics.store(shm.nrPagesMapped, pfn + 1, 0); // prep_compound_head(): _entire_mapcount = -1 (src/shm/page.ts)
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
  let pfn = yield* rmqueue(t, 0);
  if (pfn === NIL && (yield* t.ops.reclaim.tryToFreePages(t)) > 0) pfn = yield* rmqueue(t, 0);
  if (pfn === NIL) return NIL;
  t.page = pfn;
  if ((Atomics.load(shm.flags, pfn) & PG_free) === 0 || Atomics.load(shm.refcount, pfn) !== 0)
    t.violation('FREE-BAD', pfn, 1); // the free list handed out a page that is not free
  prepNewPage(shm, pfn);
  yield 'prep_new_page';
  return pfn;
}

/** filemap_alloc_folio(readahead_gfp_mask(), order) for order > 0 (v6.6 ra_alloc_folio()): a
 * naturally aligned folio of 2^order pages with refcount 1, or NIL. The readahead mask has
 * __GFP_NORETRY: no direct reclaim; the caller falls back to smaller folios. */
export function* folioAlloc(t: Task, order: number): Step<number> {
  if (order === 0) return yield* allocPage(t);
  const shm = t.shm;
  t.page = -1;
  const pfn = yield* rmqueue(t, order);
  if (pfn === NIL) return NIL;
  t.page = pfn;
  for (let i = 0; i < 1 << order; i++)
    if ((Atomics.load(shm.flags, pfn + i) & PG_free) === 0 || Atomics.load(shm.refcount, pfn + i) !== 0)
      t.violation('FREE-BAD', pfn + i, 1);
  prepNewPage(shm, pfn, order);
  yield 'prep_new_page';
  return pfn;
}

const freeHeadWord = (order: number): number => (order === 0 ? CTL.FREE_HEAD : CTL.FREE_HEADS + order);

/** freePrev of a block on no free list. */
const FREE_UNLISTED = -2;

/** Mark a free block of 2^order pages at `pfn` (its head) and push it on its order's free list
 * (zone lock held, or no task running). */
function pushFreeBlock(shm: Shm, pfn: number, order: number): void {
  const ctl = shm.ctl, w = freeHeadWord(order);
  for (let i = 1; i < 1 << order; i++) shm.compound[pfn + i] = -i;
  shm.compound[pfn] = order;
  const next = ctl[w];
  shm.freeNext[pfn] = next;
  if (ctl[CTL.MAX_ORDER] > 0) {
    shm.freePrev[pfn] = NIL;
    if (next !== NIL) shm.freePrev[next] = pfn;
  }
  ctl[w] = pfn;
}

/** The free block of `order` at `pfn` off its list, wherever it is on it (zone lock held). */
function unlinkFreeBlock(shm: Shm, pfn: number, order: number): void {
  const next = shm.freeNext[pfn], prev = shm.freePrev[pfn];
  if (prev === NIL) shm.ctl[freeHeadWord(order)] = next;
  else shm.freeNext[prev] = next;
  if (next !== NIL) shm.freePrev[next] = prev;
  shm.freeNext[pfn] = NIL;
  shm.freePrev[pfn] = FREE_UNLISTED;
}

/** __free_one_page() (zone lock held): push the freed block of `order` at `pfn`, merged with its
 * buddy (pfn ^ 2^order) for as long as that is a whole free block of the same order, up to the
 * allocator's maximum order. With maximum order 0 it is a push on the one list. */
function freeOneBlock(shm: Shm, pfn: number, order: number): void {
  const max = shm.ctl[CTL.MAX_ORDER], P = shm.sizes.pages;
  while (order < max) {
    const buddy = pfn ^ (1 << order);
    if (buddy + (1 << order) > P || shm.compound[buddy] !== order || shm.freePrev[buddy] === FREE_UNLISTED
      || (Atomics.load(shm.flags, buddy) & PG_free) === 0) break;
    unlinkFreeBlock(shm, buddy, order);
    pfn = Math.min(pfn, buddy);
    order++;
  }
  pushFreeBlock(shm, pfn, order);
}

/** __rmqueue_smallest() (zone lock held): a block of `order` off its free list, or a larger one
 * split by expand(): the upper halves go back to the lists below. NIL when no block is large
 * enough. */
function takeBlock(shm: Shm, order: number): number {
  const ctl = shm.ctl, max = ctl[CTL.MAX_ORDER];
  let k = order;
  while (k <= max && ctl[freeHeadWord(k)] === NIL) k++;
  if (k > max) return NIL;
  const w = freeHeadWord(k), pfn = ctl[w];
  ctl[w] = shm.freeNext[pfn];
  shm.freeNext[pfn] = NIL;
  if (max > 0) {
    shm.freePrev[pfn] = FREE_UNLISTED;
    if (ctl[w] !== NIL) shm.freePrev[ctl[w]] = NIL;
  }
  while (k > order) { // expand()
    k--;
    pushFreeBlock(shm, pfn + (1 << k), k);
  }
  ctl[CTL.FREE_COUNT] -= 1 << order;
  return pfn;
}

/** rmqueue(): a block of 2^order pages off the free lists under the zone lock, or NIL. */
function* rmqueue(t: Task, order: number): Step<number> {
  const shm = t.shm, ctl = shm.ctl;
  yield* spinLock(t, ctl, CTL.ALLOC_LOCK, 'zone->lock');
  const pfn = takeBlock(shm, order);
  spinUnlock(ctl, CTL.ALLOC_LOCK);
  return pfn;
}

/** On a fresh model (every page on the order-0 list, lowest pfn first): let the allocator hand out
 * folios up to `order`, with the pages as naturally aligned free blocks of that order (the pages
 * above the last whole block stay single pages). Order 0 leaves the model as it is. */
export function setMaxFolioOrder(shm: Shm, order: number): void {
  if (order === 0) return;
  if (!Number.isInteger(order) || order < 0 || order > MAX_FOLIO_ORDER) throw new Error(`folio order ${order} is not in 0..${MAX_FOLIO_ORDER}`);
  const ctl = shm.ctl, P = shm.sizes.pages, nr = 1 << order;
  ctl[CTL.MAX_ORDER] = order;
  for (let k = 1; k <= MAX_FOLIO_ORDER; k++) ctl[freeHeadWord(k)] = NIL;
  shm.freePrev.fill(FREE_UNLISTED);
  const blocks = Math.floor(P / nr);
  // link the blocks lowest first, as the order-0 list is
  for (let b = blocks - 1; b >= 0; b--) {
    const pfn = b * nr;
    shm.freeNext.fill(NIL, pfn, pfn + nr);
    pushFreeBlock(shm, pfn, order);
  }
  // the pages above the last whole block stay on the order-0 list, lowest first
  ctl[CTL.FREE_HEAD] = blocks * nr < P ? blocks * nr : NIL;
  for (let pfn = blocks * nr; pfn < P; pfn++) shm.freePrev[pfn] = pfn === blocks * nr ? NIL : pfn - 1;
}

/** put_page() -> folio_put(page_folio(page)); with `nr`, folio_put_refs(folio, nr) (the page
 * cache's references of a folio: one per page, v6.6 filemap_free_folio()). The last reference
 * frees the folio. */
export function* putPage(t: Task, pfn: number, nr = 1): Step {
  t.page = pfn;
  yield 'put_page';
  const head = folioHead(t.shm, pfn);
  const n = Atomics.sub(t.shm.refcount, head, nr) - nr;
  if (n < 0) t.violation('REF-COUNT', head, n); // put of a page nobody holds
  else if (n === 0) yield* freePage(t, head);
}

/** free_unref_page() after free_pages_prepare()'s bad-page checks: a page being freed must be
 * unmapped, unlocked, out of any mapping, with refcount 0 (mm/page_alloc.c bad_page()); for a
 * folio, every page of it (free_tail_page_prepare()). A bad page is reported and leaked, as the
 * kernel does, rather than handed out again. */
export function* freePage(t: Task, pfn: number): Step {
  const shm = t.shm, ctl = shm.ctl;
  t.page = pfn;
  yield 'free_pages_prepare';
  const order = shm.compound[pfn];
  const flags = Atomics.load(shm.flags, pfn);
  const mapcount = Atomics.load(shm.mapcount, pfn);
  const mapping = Atomics.load(shm.mapping, pfn);
  const ref = Atomics.load(shm.refcount, pfn);
  if (mapcount !== -1 || (flags & (PG_locked | PG_free)) !== 0 || mapping > 0 || ref !== 0 || order < 0) {
    t.violation('FREE-BAD', pfn, flags, ref, mapcount, mapping);
    return;
  }
  for (let i = 1; i < 1 << order; i++) {
    const p = pfn + i, mc = Atomics.load(shm.mapcount, p), m = Atomics.load(shm.mapping, p), r = Atomics.load(shm.refcount, p);
    // free_tail_page_prepare(): "nonzero entire_mapcount" on the first tail (a PMD still maps it)
    if (mc !== -1 || m > 0 || r !== 0 || (Atomics.load(shm.flags, p) & PG_free) !== 0 || (i === 1 && entireMapcount(shm, pfn) !== -1)) {
      t.violation('FREE-BAD', p, Atomics.load(shm.flags, p), r, mc, m);
      return;
    }
  }
  // an anonymous page's mapping is cleared at free (PageMappingFlags); the data stamp is left as
  // it was so that a use-after-free reader sees the old stamp until the page is reused
  if (mapping === MAPPING_ANON) Atomics.store(shm.mapping, pfn, 0);
  for (let i = 1; i < 1 << order; i++) Atomics.store(shm.flags, pfn + i, PG_free);
  Atomics.store(shm.flags, pfn, PG_free);
  yield* spinLock(t, ctl, CTL.ALLOC_LOCK, 'zone->lock');
  freeOneBlock(shm, pfn, order);
  ctl[CTL.FREE_COUNT] += 1 << order;
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

/** Outside any task: a folio of 2^order pages (a block split off a larger one if need be), or NIL. */
export function folioAllocInit(shm: Shm, order: number): number {
  const pfn = takeBlock(shm, order);
  if (pfn !== NIL) prepNewPage(shm, pfn, order);
  return pfn;
}

/** Walk the free lists (checks and tests): the pfns on them (every page of each free block), or an
 * error string if one is corrupt. */
export function freeListPages(shm: Shm): number[] | string {
  const out: number[] = [];
  const P = shm.sizes.pages;
  const seen = new Uint8Array(P);
  const max = Math.min(shm.ctl[CTL.MAX_ORDER], MAX_FOLIO_ORDER);
  for (let order = 0; order <= max; order++) {
    for (let pfn = shm.ctl[freeHeadWord(order)]; pfn !== NIL; pfn = shm.freeNext[pfn]) {
      if (pfn < 0 || pfn >= P) return `free list of order ${order} points at pfn ${pfn}`;
      if (seen[pfn]) return `free list of order ${order} has a cycle at pfn ${pfn}`;
      if (shm.compound[pfn] !== order) return `free list of order ${order} holds pfn ${pfn}, a block of order ${shm.compound[pfn]}`;
      if (pfn % (1 << order) !== 0 || pfn + (1 << order) > P) return `free block of order ${order} at pfn ${pfn} is not naturally aligned`;
      for (let i = 0; i < 1 << order; i++) {
        if (i > 0 && seen[pfn + i]) return `free block of order ${order} at pfn ${pfn} overlaps another`;
        seen[pfn + i] = 1;
        out.push(pfn + i);
      }
    }
  }
  return out;
}
