// The landed filemap_map_pages() (5.12+, f9ce0be71d1f; current next_uptodate_folio() order):
// every page is trylocked, and mapping / uptodate / i_size are re-checked under the page lock.
import { filemapMapPages } from '../../mm/filemap.ts';
import type { MapPagesVariant } from './index.ts';

export const mainline: MapPagesVariant = {
  name: 'mainline',
  summary: 'filemap_map_pages as landed in 5.12+: trylock each page, re-check mapping, uptodate and i_size under the page lock',
  source: 'f9ce0be71d1f "mm: Cleanup faultaround and finish_fault() codepaths"; mm/filemap.c next_uptodate_folio()',
  expected: 'clean',
  reasoning: 'what runs today: the trylock + mapping/uptodate/i_size re-checks under the page lock serialise every PTE install with truncation (kernel-protocols §4.3)',
  mapPages: (t, vmf, start, end) => filemapMapPages(t, vmf, start, end),
};
