// The two lockless proposals with the kernel's delete assertion left as it is
// (filemap_unaccount_folio()'s VM_BUG_ON_FOLIO(folio_mapped(folio)), the model's DEL-LOCKED
// mapcount test in pageCacheDelete()). Hidden experiments, not protocols anyone proposed: they show
// that the explorer reaches the back-out window — a mapper has raised the mapcount of a page the
// truncator holds locked, the truncator looked at page_mapped() just before and deletes just after,
// and the mapper then sees PG_locked (or !PG_uptodate) and backs out — and that the unrelaxed
// assertion fires there although no PTE ever maps the deleted page (kernel-protocols §1.8: "can
// fire spuriously ... A model of this variant must therefore either relax those assertions or
// check them only at quiescent points"). linus-recheck and willy-uptodate relax it (lockless.ts).
//
// Expected: DEL-LOCKED, the assertion artefact, and nothing else (no MAP-CACHE, MAP-EOF or
// DATA-STAMP: the mapper backs out).
// As tables: the proposals' entries without their pagecache.filemapRemoveFolio (mainline's, with
// the unrelaxed assertion, stays).
import type { Variant } from '../registry.ts';
import { linusMapPages } from './linus-recheck.ts';
import { willyMapPages, willyTruncateCleanupFolio } from './willy-uptodate.ts';

export const linusRecheckStrictDel: Variant = {
  name: 'linus-recheck-strict-del',
  kind: 'map-pages',
  summary: "experiment: Linus's proposal with mainline's truncate side, DEL-LOCKED's mapcount test unrelaxed",
  source: 'kernel-protocols §1.8 (the cost of the handshake)',
  expected: ['DEL-LOCKED'],
  reasoning: 'the mapcount is transiently up while the mapper backs out, and the truncator may delete in that window: the unrelaxed assertion fires without any PTE mapping the page',
  hidden: true,
  // mainline truncate_cleanup_folio() + filemap_remove_folio()
  ops: () => ({ vmOps: { mapPages: linusMapPages } }),
};

export const willyUptodateStrictDel: Variant = {
  name: 'willy-uptodate-strict-del',
  kind: 'map-pages',
  summary: "experiment: Willy's proposal with DEL-LOCKED's mapcount test unrelaxed at deletion",
  source: 'kernel-protocols §1.8, §1.9',
  expected: ['DEL-LOCKED'],
  reasoning: 'as for linus-recheck-strict-del: the mapper raised the mapcount before it saw !PG_uptodate, the truncator deletes before the back-out',
  hidden: true,
  // Willy's truncate_cleanup_page(), mainline filemap_remove_folio()
  ops: (base) => ({ vmOps: { mapPages: willyMapPages }, truncate: { truncateCleanupFolio: willyTruncateCleanupFolio(base) } }),
};
