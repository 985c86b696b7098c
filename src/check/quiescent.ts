// Whole-state checks of the mm model, valid when every actor is parked between operations: no
// page lock, PTL or i_pages lock is held, no lookup reference is in flight, nobody waits.
//
// At such a point the state must add up exactly: every reference and mapcount is owned by a PTE
// or the page cache, every file PTE maps the page the page cache has at that file and index, no
// PTE lies beyond EOF, and a page is free iff nothing refers to it. No migration entry is left
// (every migration has ended); one would own no reference or mapcount.
import type { Finding } from '../kernel/scenario.ts';
import { freeListPages } from '../mm/page_alloc.ts';
import { maxIndex, xaLoadPage } from '../shm/files.ts';
import { CTL, MAX_HELD } from '../shm/layout.ts';
import { hpagePmdOrder, hugePmdPfn, isMigrationEntry, isPmdMigrationEntry, pmdMigrationPfn, pmdTransHuge, ptePfn, pteAnon, ptlSlot, ptlsPerVma, vmaCount } from '../shm/mm.ts';
import { FOLIO_PAGES_MAPPED, MAPPING_ANON, describePage, entireMapcount, mappingName } from '../shm/page.ts';
import { NIL, PG_free, PG_locked, PG_waiters, type Shm } from '../shm/shm.ts';
import type { InvariantId } from '../kernel/invariants.ts';

/** At most this many findings per invariant id (a corrupt million-page state must not flood). */
export const MAX_FINDINGS_PER_ID = 32;

class Findings {
  readonly list: Finding[] = [];
  private perId: Map<InvariantId, number> | null = null; // made at the first finding (most checks have none)
  add(id: InvariantId, page: number, message: string, values?: number[]): void {
    this.perId ??= new Map();
    const n = this.perId.get(id) ?? 0;
    this.perId.set(id, n + 1);
    if (n < MAX_FINDINGS_PER_ID) this.list.push({ id, page, message, values });
    else if (n === MAX_FINDINGS_PER_ID) this.list.push({ id, page: -1, message: `${id}: further findings not listed` });
  }
}

const where = (shm: Shm, vma: number, index: number) =>
  `vma ${vma} (file ${shm.vmaFile[vma]}, ${shm.vmaFlags[vma] & 1 ? 'shared' : 'private'}) index ${index}`;

/** The per-page counters of one check, kept between checks (controlled mode checks at every
 * quiescent point of every iteration: fresh typed arrays each time were most of the check's cost)
 * and zeroed at the start of each. One set per thread: a check never runs inside another. */
class Scratch {
  readonly ptesOf: Int32Array;
  readonly cacheOf: Int32Array;
  readonly pmdsOf: Int32Array;
  readonly tableOf: Uint8Array;
  readonly onFree: Uint8Array;
  constructor(readonly pages: number) {
    this.ptesOf = new Int32Array(pages);
    this.cacheOf = new Int32Array(pages);
    this.pmdsOf = new Int32Array(pages);
    this.tableOf = new Uint8Array(pages);
    this.onFree = new Uint8Array(pages);
  }
}
let scratch: Scratch | null = null;

function scratchFor(pages: number): Scratch {
  if (scratch === null || scratch.pages !== pages) return (scratch = new Scratch(pages));
  scratch.ptesOf.fill(0);
  scratch.cacheOf.fill(0);
  scratch.pmdsOf.fill(0);
  scratch.tableOf.fill(0);
  scratch.onFree.fill(0);
  return scratch;
}

export function quiescentCheck(shm: Shm): Finding[] {
  const f = new Findings();
  const P = shm.sizes.pages;
  const { ptesOf, cacheOf, pmdsOf, tableOf, onFree } = scratchFor(P);
  // ptesOf: PTEs mapping each page; cacheOf: page-cache slots holding each page (a folio: one per page)
  const truncating = Atomics.load(shm.ctl, CTL.TRUNCATING);
  const flags = shm.flags;

  // ---- page tables: MAP-CACHE, MAP-EOF, and PTEs to free pages
  const perVma = shm.sizes.ptesPerVma;
  for (let vma = 0, nv = vmaCount(shm); vma < nv; vma++) {
    const file = shm.vmaFile[vma], pgoff = shm.vmaPgoff[vma], len = shm.vmaLen[vma];
    const eof = maxIndex(shm.iSize[file]);
    for (let i = 0; i < len; i++) {
      const pte = shm.ptes[vma * perVma + i];
      if (pte === 0) continue;
      const pfn = ptePfn(pte), index = pgoff + i;
      if (shm.pmd[ptlSlot(shm, vma, index)] < 0) // PMD_NONE (src/mm/pgtable.ts) or a huge PMD
        f.add('PTE-TABLE', pfn >= 0 && pfn < P ? pfn : -1, `PTE at ${where(shm, vma, index)} lies in a page table that is not installed (${shm.pmd[ptlSlot(shm, vma, index)] === -1 ? 'pmd_none' : isPmdMigrationEntry(shm.pmd[ptlSlot(shm, vma, index)]) ? 'a PMD migration entry' : 'a huge PMD maps the range'})`, [vma, index]);
      if (isMigrationEntry(pte)) {
        // every migration has ended: remove_migration_ptes() restored or a zap cleared each entry.
        // It holds no reference or mapcount, so it counts for neither.
        f.add('MIGRATE-ENTRY', pfn, `migration entry survives at ${where(shm, vma, index)} (names pfn ${pfn}) with no migration in flight`, [file, index, vma]);
        continue;
      }
      if (pfn < 0 || pfn >= P) {
        f.add('MAP-CACHE', -1, `PTE at ${where(shm, vma, index)} holds pfn ${pfn}, out of range`);
        continue;
      }
      ptesOf[pfn]++;
      if (flags[pfn] & PG_free) {
        f.add('FREE-BAD', pfn, `PTE at ${where(shm, vma, index)} maps a free page (use after free): ${describePage(shm, pfn)}`, [vma, index]);
        continue;
      }
      if (pteAnon(pte)) {
        if (shm.mapping[pfn] !== MAPPING_ANON)
          f.add('MAP-CACHE', pfn, `COW PTE at ${where(shm, vma, index)} maps a non-anonymous page: ${describePage(shm, pfn)}`, [vma, index]);
      } else if (shm.mapping[pfn] !== file + 1 || shm.index[pfn] !== index || xaLoadPage(shm, file, index) !== pfn) {
        const cached = xaLoadPage(shm, file, index);
        f.add('MAP-CACHE', pfn,
          `PTE at ${where(shm, vma, index)} maps a page that is not the page cache's page there ` +
          `(page cache slot: ${cached === NIL ? 'empty' : `page ${cached}`}): ${describePage(shm, pfn)}`, [vma, index, cached]);
      }
      if (truncating === 0 && index >= eof)
        f.add('MAP-EOF', pfn,
          `${pteAnon(pte) ? 'COW' : 'file'} PTE at ${where(shm, vma, index)} beyond EOF ` +
          `(i_size ${shm.iSize[file]}, first index beyond EOF ${eof}): ${describePage(shm, pfn)}`, [vma, index, shm.iSize[file]]);
    }
  }

  // ---- huge PMDs (--pmd on): each maps the head of the PMD-sized folio the page cache has at its
  // range, owns one reference and one _entire_mapcount of it, and, with no truncation in flight,
  // maps no page at or beyond EOF
  const pmdOrder = hpagePmdOrder(shm), perVmaPtls = ptlsPerVma(shm);
  for (let slot = 0; slot < shm.pmd.length; slot++) {
    const pmd = shm.pmd[slot];
    if (isPmdMigrationEntry(pmd)) {
      // as a PTE migration entry: every migration has ended (remove_migration_pmd() or a zap took
      // it), and it holds no reference or _entire_mapcount, so it counts for neither
      const vma = Math.floor(slot / perVmaPtls), start = shm.vmaPgoff[vma] + (slot % perVmaPtls) * shm.sizes.ptesPerPtl;
      f.add('MIGRATE-ENTRY', pmdMigrationPfn(pmd) < P ? pmdMigrationPfn(pmd) : -1, `PMD migration entry survives at ${where(shm, vma, start)} (names pfn ${pmdMigrationPfn(pmd)}) with no migration in flight`, [shm.vmaFile[vma], start, vma]);
      continue;
    }
    if (!pmdTransHuge(pmd)) continue;
    const head = hugePmdPfn(pmd), vma = Math.floor(slot / perVmaPtls), file = shm.vmaFile[vma];
    const start = shm.vmaPgoff[vma] + (slot % perVmaPtls) * shm.sizes.ptesPerPtl, at = where(shm, vma, start);
    if (head >= P) {
      f.add('MAP-CACHE', -1, `huge PMD at ${at} holds pfn ${head}, out of range`);
      continue;
    }
    pmdsOf[head]++;
    if (flags[head] & PG_free) {
      f.add('FREE-BAD', head, `huge PMD at ${at} maps a free page (use after free): ${describePage(shm, head)}`, [vma, start]);
      continue;
    }
    if (pmdOrder < 1 || shm.compound[head] !== pmdOrder || shm.mapping[head] !== file + 1 || shm.index[head] !== start || xaLoadPage(shm, file, start) !== head)
      f.add('MAP-CACHE', head, `huge PMD at ${at} does not map the PMD-sized folio the page cache has there: ${describePage(shm, head)}`, [vma, start]);
    const eof = maxIndex(shm.iSize[file]);
    if (truncating === 0 && start + shm.sizes.ptesPerPtl > eof)
      f.add('MAP-EOF', head, `huge PMD at ${at} maps pages at or beyond EOF (i_size ${shm.iSize[file]}, first index beyond EOF ${eof}): ${describePage(shm, head)}`, [vma, start, shm.iSize[file]]);
  }

  // ---- page cache: slots agree with their pages, nrpages counts them
  const ppf = shm.sizes.pagesPerFile;
  for (let file = 0; file < shm.sizes.files; file++) {
    let n = 0;
    for (let index = 0; index < ppf; index++) {
      const pfn = shm.slots[file * ppf + index] - 1;
      if (pfn === NIL) continue;
      n++;
      if (pfn < 0 || pfn >= P) {
        f.add('MAP-CACHE', -1, `page cache of file ${file} index ${index} holds pfn ${pfn}, out of range`);
        continue;
      }
      cacheOf[pfn]++; // a folio's multi-index entry: one slot (and one page-cache reference) per page
      const order = shm.compound[pfn], first = shm.index[pfn];
      if (flags[pfn] & PG_free)
        f.add('FREE-BAD', pfn, `page cache of file ${file} index ${index} holds a free page: ${describePage(shm, pfn)}`, [file, index]);
      else if (shm.mapping[pfn] !== file + 1 || order < 0 || index < first || index >= first + (1 << order) || first % (1 << order) !== 0
        || shm.mapping[pfn + index - first] !== file + 1 || shm.index[pfn + index - first] !== index)
        f.add('MAP-CACHE', pfn, `page cache of file ${file} index ${index} holds a page that says otherwise: ${describePage(shm, pfn)}`, [file, index]);
    }
    if (n !== shm.nrpages[file])
      f.add('MAP-CACHE', -1, `file ${file}: nrpages ${shm.nrpages[file]} but ${n} pages in the page cache`, [file, shm.nrpages[file], n]);
  }

  // ---- PTE tables from the page allocator (--pte-alloc): each installed one holds its page's one
  // reference (a PMD entry > 0 is the table page's pfn + 1)
  for (let slot = 0; slot < shm.pmd.length; slot++) {
    const pfn = shm.pmd[slot] - 1;
    if (pfn < 0) continue;
    if (pfn >= P) {
      f.add('PTE-TABLE', -1, `page table ${slot}'s PMD entry holds pfn ${pfn}, out of range`);
      continue;
    }
    tableOf[pfn]++;
    if (flags[pfn] & PG_free) f.add('FREE-BAD', pfn, `page table ${slot} is installed in a free page (use after free): ${describePage(shm, pfn)}`, [slot]);
  }

  // ---- the allocator's free list
  const list = freeListPages(shm);
  if (typeof list === 'string') f.add('FREE-BAD', -1, `free list corrupt: ${list}`);
  else {
    for (const pfn of list) onFree[pfn] = 1;
    if (list.length !== shm.ctl[CTL.FREE_COUNT])
      f.add('FREE-BAD', -1, `free list holds ${list.length} pages, free count says ${shm.ctl[CTL.FREE_COUNT]}`);
  }

  // ---- every page: free iff unreferenced; counts add up; nothing left locked
  for (let pfn = 0; pfn < P; pfn++) {
    const fl = flags[pfn], ref = shm.refcount[pfn], mc = shm.mapcount[pfn];
    if (fl & PG_free) {
      if (typeof list !== 'string' && !onFree[pfn])
        f.add('FREE-BAD', pfn, `free page not on the free list (leaked): ${describePage(shm, pfn)}`);
      if (ref !== 0 || mc !== -1 || (fl & PG_locked) || shm.mapping[pfn] > 0)
        f.add('FREE-BAD', pfn, `free page not clean: ${describePage(shm, pfn)}`);
      continue;
    }
    if (onFree[pfn]) f.add('FREE-BAD', pfn, `page on the free list is not marked free: ${describePage(shm, pfn)}`);
    const c = shm.compound[pfn];
    if (c < 0) {
      // a tail page: its folio's head holds the flags, the refcount and the page-cache slots
      const head = pfn + c;
      if (mc + 1 !== ptesOf[pfn])
        f.add('MAP-COUNT', pfn, `mapcount ${mc} but ${ptesOf[pfn]} PTE(s) map the page (expected mapcount ${ptesOf[pfn] - 1}): ${describePage(shm, pfn)}`, [mc, ptesOf[pfn]]);
      if (ref !== 0) f.add('REF-COUNT', pfn, `tail page with refcount ${ref} (a folio's references are on its head): ${describePage(shm, pfn)}`, [ref]);
      if (head < 0 || shm.compound[head] < 0 || -c >= 1 << shm.compound[head])
        f.add('FREE-BAD', pfn, `tail page outside any folio: ${describePage(shm, pfn)}`);
      else if (shm.mapping[pfn] !== shm.mapping[head] || (shm.mapping[head] > 0 && shm.index[pfn] !== shm.index[head] - c))
        f.add('MAP-CACHE', pfn, `tail page's mapping or index disagrees with its folio's: ${describePage(shm, pfn)}`);
      continue;
    }
    if (fl & PG_locked) {
      const owner = shm.owner[pfn];
      f.add('LOCK-LEAK', pfn, `page left locked at a quiescent point (owner ${owner ? `task ${owner - 1}` : 'unknown'}): ${describePage(shm, pfn)}`, [owner - 1]);
    }
    if (mc + 1 !== ptesOf[pfn])
      f.add('MAP-COUNT', pfn, `mapcount ${mc} but ${ptesOf[pfn]} PTE(s) map the page (expected mapcount ${ptesOf[pfn] - 1}): ${describePage(shm, pfn)}`, [mc, ptesOf[pfn]]);
    let ptes = ptesOf[pfn];
    if (c > 0) {
      // a large folio: one reference per PTE of any of its pages (6.6 filemap_map_folio_range():
      // folio_ref_add(folio, count)) and per PMD mapping it (do_set_pmd()); _nr_pages_mapped counts
      // its pages a PTE maps, plus COMPOUND_MAPPED while a PMD maps it; _entire_mapcount its PMDs
      let mappedPages = mc >= 0 ? 1 : 0;
      for (let i = 1; i < 1 << c && pfn + i < P; i++) {
        ptes += ptesOf[pfn + i];
        if (shm.mapcount[pfn + i] >= 0) mappedPages++;
      }
      const nrMapped = shm.nrPagesMapped[pfn], entire = entireMapcount(shm, pfn);
      if ((nrMapped & FOLIO_PAGES_MAPPED) !== mappedPages || (nrMapped > FOLIO_PAGES_MAPPED) !== (pmdsOf[pfn] > 0))
        f.add('MAP-COUNT', pfn, `folio's _nr_pages_mapped ${nrMapped} but ${mappedPages} of its pages are mapped by PTEs and ${pmdsOf[pfn]} PMD(s) map it: ${describePage(shm, pfn)}`, [nrMapped, mappedPages]);
      if (entire + 1 !== pmdsOf[pfn])
        f.add('MAP-COUNT', pfn, `folio's _entire_mapcount ${entire} but ${pmdsOf[pfn]} PMD(s) map it (expected ${pmdsOf[pfn] - 1}): ${describePage(shm, pfn)}`, [entire, pmdsOf[pfn]]);
      ptes += pmdsOf[pfn];
    } else if (pmdsOf[pfn] > 0) ptes += pmdsOf[pfn]; // (a MAP-CACHE finding above: a PMD maps no folio)
    const users = ptes + cacheOf[pfn] + tableOf[pfn]; // a page-table page: one reference per PMD entry naming it
    if (ref !== users)
      f.add('REF-COUNT', pfn,
        `refcount ${ref} but ${cacheOf[pfn]} page-cache + ${ptes} PTE reference(s)` +
        `${ref === 0 ? ' (refcount 0 and not freed)' : users === 0 ? ' (unreferenced page not freed: leak)' : ''}: ${describePage(shm, pfn)}`,
        [ref, cacheOf[pfn], ptes]);
    const m = shm.mapping[pfn];
    if (m > 0 && !cacheOf[pfn])
      f.add('MAP-CACHE', pfn, `page says it is in ${mappingName(m)} but no page-cache slot holds it: ${describePage(shm, pfn)}`);
  }

  checkLocksQuiet(shm, f);
  return f.list;
}

/** Nobody holds or waits for anything between operations: wait entries unlinked (and, if one
 * were linked, its page would have to say PG_waiters), held-page lists empty, PTLs, i_pages
 * locks, the zone lock and i_rwsem free. */
function checkLocksQuiet(shm: Shm, f: Findings): void {
  for (let task = 0; task < shm.sizes.tasks; task++) {
    if (shm.wqLinked[task] !== 0) {
      const page = shm.wqPage[task];
      const hasBit = page >= 0 && page < shm.sizes.pages && (shm.flags[page] & PG_waiters) !== 0;
      f.add('LOCK-WAITERS', page,
        `task ${task}'s wait entry is still queued at a quiescent point (page ${page}, bit ${shm.wqBit[task]})` +
        `${hasBit ? '' : ' and the page does not have PG_waiters set'}`, [task]);
    }
    const held = shm.heldCount[task];
    if (held !== 0)
      f.add('LOCK-LEAK', held > 0 ? shm.held[task * MAX_HELD] : -1, `task ${task} is between operations holding ${held} page lock(s)`, [task, held]);
  }
  for (let b = 0; b < shm.sizes.buckets; b++)
    if (shm.bucketHead[b] !== NIL)
      f.add('LOCK-WAITERS', -1, `wait-table bucket ${b} still has queued entries at a quiescent point (first: task ${shm.bucketHead[b]})`, [b]);
  const spin = (name: string, arr: Int32Array) => {
    for (let i = 0; i < arr.length; i++)
      if (arr[i] !== 0) f.add('LOCK-LEAK', -1, `${name} ${i} held at a quiescent point (word ${arr[i]})`, [i, arr[i]]);
  };
  spin('PTL', shm.ptl);
  spin('page_table_lock of mm', shm.pageTableLock);
  spin('i_pages lock of file', shm.iPagesLock);
  spin('i_rwsem of file', shm.iRwsem);
  // the rw semaphores of the unmapper's runs (src/mm/mmap.ts): free, and no task says it holds one
  spin('mmap_lock of mm', shm.mmapLock);
  spin('i_mmap_rwsem of file', shm.iMmap);
  spin('mmap_lock held by task', shm.mmapHeld);
  spin('i_mmap_rwsem held by task', shm.iMmapHeld);
  if (shm.ctl[CTL.ALLOC_LOCK] !== 0) f.add('LOCK-LEAK', -1, `zone lock held at a quiescent point (word ${shm.ctl[CTL.ALLOC_LOCK]})`);
}
