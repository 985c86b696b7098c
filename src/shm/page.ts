// struct page helpers: flag tests (include/linux/page-flags.h), reference counting
// (include/linux/page_ref.h) and a one-line description of a page's full state for reports.
//
// Folios (v6.6): a folio is 2^order naturally aligned contiguous pages. Its flags (PG_locked,
// uptodate, dirty, writeback, PG_waiters), its refcount and the shadow lock owner live on the head
// page only; each page keeps its own _mapcount (the PTEs that map that page) and data stamp, and
// the head counts its PTE-mapped pages (folio->_nr_pages_mapped). The flag tests and reference
// helpers below take any page and act on its folio, as PageLocked(page) / get_page(page) do via
// page_folio(); for an order-0 page the folio is the page. A PMD-sized folio mapped by a PMD
// (--pmd on) counts that mapping in folio->_entire_mapcount, which 6.6 keeps in the first tail
// page, and the first one adds COMPOUND_MAPPED to _nr_pages_mapped (folio_add_file_rmap_range()).
// Simplified: page->mapping and page->index are kept on every page of a folio (the kernel
// derives a tail's from the head: folio->mapping, folio->index + i), written together under the
// folio lock and the i_pages lock.
//
// `mapping` holds file id + 1 for a page-cache page, 0 for NULL, MAPPING_ANON for an anonymous
// page (a private COW copy; the kernel's PAGE_MAPPING_ANON pointer).
import { PG_dirty, PG_free, PG_locked, PG_readahead, PG_uptodate, PG_waiters, PG_writeback, type Shm } from './shm.ts';

export const MAPPING_ANON = -1;

/** The largest folio order the model has (HPAGE_PMD_ORDER on x86-64). */
export const MAX_FOLIO_ORDER = 9;

/** compound_head() / page_folio(): the head page of the folio `pfn` belongs to. */
export const folioHead = (shm: Shm, pfn: number): number => {
  const c = shm.compound[pfn];
  return c < 0 ? pfn + c : pfn;
};
/** folio_order() of the folio `pfn` belongs to. */
export const folioOrder = (shm: Shm, pfn: number): number => shm.compound[folioHead(shm, pfn)];
/** folio_nr_pages() of the folio `pfn` belongs to. */
export const folioNrPages = (shm: Shm, pfn: number): number => 1 << folioOrder(shm, pfn);
/** folio_file_page(folio, index): the page of page-cache folio `head` holding file index `index`
 * (the folio itself when it is a single page). */
export const folioPage = (shm: Shm, head: number, index: number): number =>
  shm.compound[head] === 0 ? head : head + index - Atomics.load(shm.index, head);

const folioFlags = (shm: Shm, pfn: number): number => Atomics.load(shm.flags, folioHead(shm, pfn));
export const PageLocked = (shm: Shm, pfn: number): boolean => (folioFlags(shm, pfn) & PG_locked) !== 0;
export const PageUptodate = (shm: Shm, pfn: number): boolean => (folioFlags(shm, pfn) & PG_uptodate) !== 0;
export const PageReadahead = (shm: Shm, pfn: number): boolean => (folioFlags(shm, pfn) & PG_readahead) !== 0;
export const PageWriteback = (shm: Shm, pfn: number): boolean => (folioFlags(shm, pfn) & PG_writeback) !== 0;
export const PageDirty = (shm: Shm, pfn: number): boolean => (folioFlags(shm, pfn) & PG_dirty) !== 0;
export const PageFree = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_free) !== 0;
/** folio_mapped(page_folio(page)): an order-0 page's _mapcount >= 0; a large folio has a
 * PTE-mapped page or a PMD mapping (6.6: folio->_nr_pages_mapped, COMPOUND_MAPPED included). */
export const pageMapped = (shm: Shm, pfn: number): boolean => {
  const head = folioHead(shm, pfn);
  return shm.compound[head] === 0 ? Atomics.load(shm.mapcount, head) >= 0 : Atomics.load(shm.nrPagesMapped, head) > 0;
};
/** COMPOUND_MAPPED (6.6 mm/internal.h): added to a folio's _nr_pages_mapped while a PMD maps it;
 * FOLIO_PAGES_MAPPED masks the count of its PTE-mapped pages. */
export const COMPOUND_MAPPED = 0x800000;
export const FOLIO_PAGES_MAPPED = COMPOUND_MAPPED - 1;

/** folio_entire_mapcount() of large folio `head`: the PMDs mapping it, minus one (-1: none).
 * Kept as _entire_mapcount + 1 in the first tail page's _nr_pages_mapped word (unused on a tail;
 * 6.6 struct folio has _entire_mapcount in page[1]), so a fresh or split page reads -1. */
export const entireMapcount = (shm: Shm, head: number): number => Atomics.load(shm.nrPagesMapped, head + 1) - 1;
/** atomic_inc_and_test(&folio->_entire_mapcount) / atomic_add_negative(-1, ...): the new value. */
export const entireMapcountAdd = (shm: Shm, head: number, n: number): number => Atomics.add(shm.nrPagesMapped, head + 1, n) + n - 1;

export const SetPageUptodate = (shm: Shm, pfn: number): void => void Atomics.or(shm.flags, folioHead(shm, pfn), PG_uptodate);

/** get_page() -> folio_get(page_folio(page)): the caller already holds a reference. */
export function getPage(shm: Shm, pfn: number): void {
  Atomics.add(shm.refcount, folioHead(shm, pfn), 1);
}

/** folio_ref_add(folio, nr): the caller already holds a reference. */
export function folioRefAdd(shm: Shm, pfn: number, nr: number): void {
  Atomics.add(shm.refcount, folioHead(shm, pfn), nr);
}

/** folio_try_get() / page_cache_get_speculative(): increment unless zero. Zero means the page is
 * free or frozen by a remover (reclaim's page_ref_freeze, split_folio()'s folio_ref_freeze), so a
 * lockless lookup must not pin it. A page-cache lookup passes the folio it found in the slot (a
 * head when it was read), and the increment is on that very struct page, as 6.6 filemap_get_entry()'s
 * folio_try_get_rcu(folio) on the pointer it loaded: a folio split meanwhile pins what is now an
 * order-0 page, which the caller's xas_reload() then sees is not the slot's; a page freed and
 * reused as a tail of another folio has refcount 0 there (tails keep none), so the get fails. It
 * must not go to the head folioHead() reads now: that head can change again before the caller's
 * put_page() (the page freed, its block re-split by the allocator), which would then drop a
 * reference of a folio it never pinned (free mode, writeback --pmd on: a lookup of a stale pfn 28
 * pinned the folio at 24, then put a new folio at 28). */
export function pageTryGet(shm: Shm, pfn: number): boolean {
  for (let c = Atomics.load(shm.refcount, pfn); c > 0;) {
    const seen = Atomics.compareExchange(shm.refcount, pfn, c, c + 1);
    if (seen === c) return true;
    c = seen; // lost a race with another get/put: no yield needed, someone else progressed
  }
  return false;
}

/** page_ref_freeze(): refcount `count` -> 0 in one step, or fail (someone holds an extra ref). */
export function pageRefFreeze(shm: Shm, pfn: number, count: number): boolean {
  return Atomics.compareExchange(shm.refcount, pfn, count, 0) === count;
}

export function pageRefUnfreeze(shm: Shm, pfn: number, count: number): void {
  Atomics.store(shm.refcount, pfn, count);
}

const FLAG_NAMES: [number, string][] = [
  [PG_locked, 'locked'], [PG_uptodate, 'uptodate'], [PG_dirty, 'dirty'], [PG_writeback, 'writeback'],
  [PG_readahead, 'readahead'], [PG_waiters, 'waiters'], [PG_free, 'free'],
];

export function flagNames(flags: number): string {
  const n = FLAG_NAMES.filter(([b]) => (flags & b) !== 0).map(([, s]) => s);
  return n.length ? n.join('|') : '0';
}

export function mappingName(m: number): string {
  return m === 0 ? 'NULL' : m === MAPPING_ANON ? 'anon' : `file ${m - 1}`;
}

/** The page's full state in one line (kernel dump_page() style). */
export function describePage(shm: Shm, pfn: number): string {
  if (pfn < 0 || pfn >= shm.sizes.pages) return `pfn ${pfn} (out of range)`;
  const owner = Atomics.load(shm.owner, pfn);
  const sf = shm.stampFile[pfn], si = shm.stampIndex[pfn];
  const c = shm.compound[pfn];
  const folio = c > 0 ? ` folio order ${c}` : c < 0 ? ` tail of folio ${pfn + c} (order ${shm.compound[pfn + c]})` : '';
  return `page ${pfn}${folio}: flags=${flagNames(Atomics.load(shm.flags, pfn))} refcount=${Atomics.load(shm.refcount, pfn)} ` +
    `mapcount=${Atomics.load(shm.mapcount, pfn)} mapping=${mappingName(Atomics.load(shm.mapping, pfn))} ` +
    `index=${Atomics.load(shm.index, pfn)} owner=${owner ? `task ${owner - 1}` : 'none'} ` +
    `stamp=${sf < 0 ? 'unfilled' : `file ${sf} index ${si}`} gen ${shm.stampGen[pfn]}`;
}
