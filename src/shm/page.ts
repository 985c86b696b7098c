// struct page helpers: flag tests (include/linux/page-flags.h), reference counting
// (include/linux/page_ref.h) and a one-line description of a page's full state for reports.
//
// `mapping` holds file id + 1 for a page-cache page, 0 for NULL, MAPPING_ANON for an anonymous
// page (a private COW copy; the kernel's PAGE_MAPPING_ANON pointer).
import { PG_dirty, PG_free, PG_locked, PG_readahead, PG_uptodate, PG_waiters, PG_writeback, type Shm } from './shm.ts';

export const MAPPING_ANON = -1;

export const PageLocked = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_locked) !== 0;
export const PageUptodate = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_uptodate) !== 0;
export const PageReadahead = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_readahead) !== 0;
export const PageWriteback = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_writeback) !== 0;
export const PageDirty = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_dirty) !== 0;
export const PageFree = (shm: Shm, pfn: number): boolean => (Atomics.load(shm.flags, pfn) & PG_free) !== 0;
/** page_mapped(): _mapcount >= 0 */
export const pageMapped = (shm: Shm, pfn: number): boolean => Atomics.load(shm.mapcount, pfn) >= 0;
export const SetPageUptodate = (shm: Shm, pfn: number): void => void Atomics.or(shm.flags, pfn, PG_uptodate);

/** get_page(): the caller already holds a reference. */
export function getPage(shm: Shm, pfn: number): void {
  Atomics.add(shm.refcount, pfn, 1);
}

/** folio_try_get() / page_cache_get_speculative(): increment unless zero. Zero means the page is
 * free or frozen by a remover (reclaim's page_ref_freeze), so a lockless lookup must not pin it. */
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
  return `page ${pfn}: flags=${flagNames(Atomics.load(shm.flags, pfn))} refcount=${Atomics.load(shm.refcount, pfn)} ` +
    `mapcount=${Atomics.load(shm.mapcount, pfn)} mapping=${mappingName(Atomics.load(shm.mapping, pfn))} ` +
    `index=${Atomics.load(shm.index, pfn)} owner=${owner ? `task ${owner - 1}` : 'none'} ` +
    `stamp=${sf < 0 ? 'unfilled' : `file ${sf} index ${si}`} gen ${shm.stampGen[pfn]}`;
}
