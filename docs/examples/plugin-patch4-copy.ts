// patch4-copy: Linus's patch 4/4 of "[PATCH 0/4] Some more lock_page work.." (13 Oct 2020,
// Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com), written as a
// plug-in: filemap_map_pages() without trylock_page() for private mappings.
//
//   pagelock-stress list --plugin docs/examples/plugin-patch4-copy.ts
//   pagelock-stress run --plugin docs/examples/plugin-patch4-copy.ts --scenario map-truncate --map-pages patch4-copy
//   pagelock-stress explore --plugin docs/examples/plugin-patch4-copy.ts --scenario map-truncate --map-pages patch4-copy --workers 3
//   pagelock-stress matrix --plugin docs/examples/plugin-patch4-copy.ts --cells map-truncate/patch4-copy
import type { NextPage, PluginApi, Step, Task, VmFault } from '../../src/plugin/plugin.ts';

export default function register(api: PluginApi): void {
  const {
    NIL, xaLoad, PageLocked, pageTryGet, PageUptodate, PageReadahead, vmaShared, iSizeRead, maxIndex, putPage, filemapMapPages,
  } = api.mm;

  // next_uptodate_page() as patch 4 leaves it. One `yield 'label'` before each step another task
  // could interleave with, named after the kernel step.
  function* nextUptodatePage(t: Task, vmf: VmFault, from: number, end: number): Step<NextPage | null> {
    const shm = t.shm, file = vmf.file;
    // +	bool shared = vmf->vma->vm_flags & VM_SHARED;
    const shared = vmaShared(shm, vmf.vma);
    for (let index = from; index < end; index++) {
      t.page = -1;
      t.aux = index;
      yield 'xas_next_entry';
      const pfn = xaLoad(shm, file, index);
      if (pfn === NIL) continue;
      t.page = pfn;
      yield 'PageLocked';
      if (PageLocked(shm, pfn)) continue;
      yield 'folio_try_get';
      if (!pageTryGet(shm, pfn)) continue;
      let locked = false;
      check: {
        yield 'xas_reload';
        if (xaLoad(shm, file, index) !== pfn) break check; // goto skip
        // +	if (PageLocked(page)) goto skip;   "recheck the page lock after getting the reference"
        yield 'PageLocked';
        if (PageLocked(shm, pfn)) break check;
        yield 'PageUptodate';
        if (!PageUptodate(shm, pfn) || PageReadahead(shm, pfn)) break check;
        // +	if (shared || PageTransCompound(page)) { if (!trylock_page(page)) goto skip; locked = true; }
        // (the model has no compound pages)
        if (shared) {
          if (!(yield* t.ops.lock.trylockPage(t, pfn))) break check;
          locked = true;
          t.page = pfn;
        }
        // "Even if we don't get the page lock, we'll re-check the page mapping and the mapping size."
        yield 'page->mapping';
        if (Atomics.load(shm.mapping, pfn) === file + 1 && PageUptodate(shm, pfn)) {
          yield 'i_size_read';
          if (index < maxIndex(iSizeRead(shm, file))) return { pfn, index, locked };
        }
        // +	if (locked) unlock_page(page);
        if (locked) yield* t.ops.lock.unlockPage(t, pfn);
      }
      yield* putPage(t, pfn); // skip: put_page(page)
    }
    return null;
  }

  api.registerMapPages({
    name: 'patch4-copy',
    summary: 'patch 4/4 as a plug-in: no trylock_page() in map_pages for private mappings',
    source: 'Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com',
    // Kirill (Msg-ID 20201014130555.kdbxyavqoyfnpos3@box): for a private mapping nothing orders
    // these checks against truncation, so a PTE can map a page truncate already deleted
    // (page->mapping == NULL, beyond the new EOF): MAP-CACHE / MAP-EOF, stale data (DATA-STAMP),
    // and truncate deleting a page that just got mapped (DEL-LOCKED).
    expected: ['MAP-CACHE', 'MAP-EOF', 'DATA-STAMP', 'DEL-LOCKED'],
    mapPages: (t, vmf, start, end) => filemapMapPages(t, vmf, start, end, nextUptodatePage),
  });
}
