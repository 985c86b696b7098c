// The patch-4 race (kernel-protocols §1.7) as hand-made interleavings: fault-around on a private
// mapping passes its checks, truncation runs start to end, then fault-around installs the PTE.
// With patch 4 the page is mapped after truncation removed it; with mainline the page lock
// serialises the two, whichever gets it first.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { NIL, PG_free } from '../../src/shm/shm.ts';
import { pteRead, ptePfn } from '../../src/shm/mm.ts';
import { MAINLINE_MAP_PAGES } from '../../src/variants/map-pages/index.ts';
import { getVariant } from '../../src/variants/index.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { handleMmFault, readThroughPtes } from '../../src/mm/memory.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { readViolations } from '../../src/check/violations.ts';
import type { Task } from '../../src/kernel/task.ts';
import type { Shm } from '../../src/shm/shm.ts';

const SHARED0 = 0, PRIVATE0 = 2;
const INDEX = 12; // truncation to 8 pages removes it

function world(variant: string) {
  const w = mmWorld(mmConfig({ 'map-pages': variant, 'fault-around': 1 }));
  return { ...w, mapper: w.task(0), trunc: w.task(1), reader: w.task(2) };
}

const mapOne = (t: Task, vma: number) =>
  t.ops.vmOps.mapPages(t, { vma, file: 0, index: INDEX }, INDEX, INDEX + 1);
/** --map-pages NAME's variant: 'mainline' replaces nothing, the others are registered partial tables */
const mapPagesVariant = (name: string) => (name === 'mainline' ? MAINLINE_MAP_PAGES : getVariant(name, 'map-pages'));

const ids = (shm: Shm) => quiescentCheck(shm).map((f) => f.id).sort();
const inline = (shm: Shm) => readViolations(shm).map((v) => v.id);

describe('patch 4: the truncation race', () => {
  it('the registry knows both variants and what each must show', () => {
    expect(mapPagesVariant('mainline').expected).toBe('clean');
    expect(mapPagesVariant('patch4').expected).toContain('MAP-CACHE');
    expect(() => mapPagesVariant('nope')).toThrow(/known: mainline, patch4/);
  });

  it('patch4, private mapping: a PTE to a truncated page beyond EOF (MAP-CACHE, MAP-EOF, DATA-STAMP)', () => {
    const { shm, mapper, trunc, reader, task } = world('patch4');
    const page = xaLoad(shm, 0, INDEX);
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0), mapper);
    il.runUntil('mapper', 'pte_offset_map_lock'); // mapping and i_size checked, no page lock taken
    expect(il.labels('mapper')).not.toContain('trylock_page');
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE), trunc).runToEnd('truncator');
    expect(xaLoad(shm, 0, INDEX)).toBe(NIL); // truncation removed it: nothing was mapped yet
    il.runToEnd('mapper');
    expect(ptePfn(pteRead(shm, PRIVATE0, INDEX))).toBe(page);
    expect(shm.mapping[page]).toBe(0); // mapped with page->mapping == NULL (Kirill)

    // caught as it happens: the mapper's check right after set_pte_at(); the record's flight
    // steps on the page tell the race in order
    const [v] = readViolations(shm);
    expect([v.id, v.task, v.page, v.values]).toEqual(['MAP-CACHE', 0, page, [0, INDEX, PRIVATE0]]);
    expect(v.page_state).toMatchObject({ mapping: 0, mapcount: 0, refcount: 1, index: INDEX });
    const story = v.flight.filter((f) => f.page === page).map((f) => `${f.task}:${f.label}`);
    const at = (step: string) => story.indexOf(step);
    expect(at('0:i_size_read')).toBeGreaterThanOrEqual(0);
    expect(at('0:i_size_read')).toBeLessThan(at('1:page_cache_delete'));
    expect(at('1:page_cache_delete')).toBeLessThan(at('0:set_pte_at'));
    expect(story).not.toContain('0:trylock_page');

    const found = quiescentCheck(shm);
    expect(found.map((f) => f.id).sort()).toEqual(['MAP-CACHE', 'MAP-EOF']);
    expect(found.every((f) => f.page === page)).toBe(true);
    expect(found.find((f) => f.id === 'MAP-EOF')!.message).toMatch(/vma 2 \(file 0, private\) index 12 beyond EOF \(i_size 32768/);
    expect(found.find((f) => f.id === 'MAP-CACHE')!.message).toMatch(/mapping=NULL index=12 .*stamp=file 0 index 12/);
    expect(liveCheck(shm).map((f) => [f.id, f.page])).toEqual([['MAP-CACHE', page]]);
    run(readThroughPtes(reader, PRIVATE0, INDEX, INDEX + 1));
    expect(inline(shm)).toEqual(['MAP-CACHE', 'DATA-STAMP']); // stale data instead of SIGBUS

    // grown back and faulted in through the shared mapping: the private PTE still shows the old page
    run(truncateSetsize(trunc, 0, 16 * PAGE_SIZE));
    run(handleMmFault(task(3), SHARED0, INDEX, false));
    expect(xaLoad(shm, 0, INDEX)).not.toBe(page);
    expect(ids(shm)).toEqual(['MAP-CACHE']);
  });

  it('patch4: a PTE installed between truncation\'s page_mapped() check and the delete (DEL-LOCKED)', () => {
    const { shm, mapper, trunc } = world('patch4');
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0)).add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE));
    il.runUntil('mapper', 'pte_offset_map_lock');
    // pass 1 reaches our page after pages 8-11: stop after its folio_mapped() test
    for (let seen = 0; seen < 5;) if (il.step('truncator') === 'folio_mapped') seen++;
    il.step('truncator'); // page_mapped() is false: on to the delete
    il.runToEnd('mapper');
    il.runToEnd('truncator');
    // the kernel's filemap_unaccount_folio() "still mapped when deleted"; the second
    // unmap_mapping_range() then zaps a PTE to a page no longer in the page cache
    expect(inline(shm)).toEqual(['DEL-LOCKED', 'MAP-CACHE']);
    expect(pteRead(shm, PRIVATE0, INDEX)).toBe(0);
    expect(ids(shm)).toEqual([]);
  });

  it('patch4 keeps the page lock for a shared mapping: the truncator waits, then unmaps', () => {
    const { shm, mapper, trunc } = world('patch4');
    const il = new Interleaver().add('mapper', mapOne(mapper, SHARED0));
    il.runUntil('mapper', 'pte_offset_map_lock');
    expect(il.labels('mapper')).toContain('trylock_page');
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE));
    expect(il.runUntilBlocked('truncator')).toBe(true); // pass 2 lock_page() on our page
    il.runToEnd('mapper');
    il.runAll();
    expect(pteRead(shm, SHARED0, INDEX)).toBe(0);
    expect(inline(shm)).toEqual([]);
    expect(ids(shm)).toEqual([]);
  });

  it('mainline, mapper locks first: the truncator waits for the lock, sees page_mapped() and zaps the PTE', () => {
    const { shm, mapper, trunc } = world('mainline');
    const page = xaLoad(shm, 0, INDEX);
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0));
    il.runUntil('mapper', 'pte_offset_map_lock'); // the same point: checks passed, now under the page lock
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE));
    expect(il.runUntilBlocked('truncator')).toBe(true); // pass 1 trylock failed, pass 2 blocks
    il.runToEnd('mapper');
    expect(ptePfn(pteRead(shm, PRIVATE0, INDEX))).toBe(page); // mapped under the lock ...
    il.runAll();
    expect(pteRead(shm, PRIVATE0, INDEX)).toBe(0); // ... and unmapped before the delete
    expect(shm.flags[page]).toBe(PG_free);
    expect(inline(shm)).toEqual([]);
    expect(ids(shm)).toEqual([]);
  });

  it('mainline, truncator first: the trylock succeeds late and the mapping re-check backs off', () => {
    const { shm, mapper, trunc } = world('mainline');
    const page = xaLoad(shm, 0, INDEX);
    const il = new Interleaver().add('mapper', mapOne(mapper, PRIVATE0));
    il.runUntil('mapper', 'trylock_page'); // pinned (folio_try_get), uptodate, about to trylock
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE)).runToEnd('truncator');
    expect(shm.refcount[page]).toBe(1); // only the mapper's speculative reference is left
    il.runToEnd('mapper');
    expect(il.labels('mapper')).toContain('page->mapping');
    expect(pteRead(shm, PRIVATE0, INDEX)).toBe(0);
    expect(shm.flags[page]).toBe(PG_free); // the mapper's put freed it
    expect(inline(shm)).toEqual([]);
    expect(ids(shm)).toEqual([]);
  });
});
