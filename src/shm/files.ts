// address_space: per file i_size (bytes), nrpages, the page-cache slots (the xarray: index ->
// pfn + 1, 0 = empty) and the i_pages lock (xa_lock). Accessors only; the protocols that use them
// (lookup, add, delete) are in src/mm/filemap.ts.
import type { Shm } from './shm.ts';
import { NIL } from './shm.ts';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** i_size is an Int32 of bytes: a file holds fewer than 2^19 pages. */
export const MAX_FILE_PAGES = (2 ** 31 - 1) >>> PAGE_SHIFT;

/** DIV_ROUND_UP(i_size, PAGE_SIZE): the first index beyond EOF. */
export const maxIndex = (iSize: number): number => Math.ceil(iSize / PAGE_SIZE);

export const slotOf = (shm: Shm, file: number, index: number): number => file * shm.sizes.pagesPerFile + index;

/** i_size_read() */
export const iSizeRead = (shm: Shm, file: number): number => Atomics.load(shm.iSize, file);

/** xas_load(): the page at (file, index), or NIL. */
export function xaLoad(shm: Shm, file: number, index: number): number {
  return Atomics.load(shm.slots, slotOf(shm, file, index)) - 1;
}

/** The page (not the folio) the page cache holds at (file, index): folio_file_page() of the folio
 * a lookup at any index of it finds (its multi-index entry), or NIL. */
export function xaLoadPage(shm: Shm, file: number, index: number): number {
  const head = xaLoad(shm, file, index);
  return head === NIL || shm.compound[head] === 0 ? head : head + index - Atomics.load(shm.index, head);
}

/** xas_store() (under the i_pages lock): pfn or NIL to clear. */
export function xaStore(shm: Shm, file: number, index: number, pfn: number): void {
  Atomics.store(shm.slots, slotOf(shm, file, index), pfn === NIL ? 0 : pfn + 1);
}

/** The file a page-cache page belongs to (page->mapping), or -1 if NULL / anon. */
export function pageFile(shm: Shm, pfn: number): number {
  const m = Atomics.load(shm.mapping, pfn);
  return m > 0 ? m - 1 : -1;
}
