// The map_pages variants: the registry, the clean ones explored without a find, and the two
// lockless proposals of 2020 stepped by hand through their back-out path (kernel-protocols §1.8,
// §1.9) and explored through the window where it matters.
import { describe, expect, it } from 'vitest';
import { MAP_TRUNCATE_OPTIONS } from '../../src/scenarios/map-truncate.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { makeStrategy } from '../../src/sched/strategies/index.ts';
import { scheduleRngFor } from '../../src/sched/explore.ts';
import { makeLock } from '../../src/locks/index.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { STAT, STAT_STRIDE } from '../../src/shm/layout.ts';
import { NIL, PG_free, PG_uptodate, type Shm } from '../../src/shm/shm.ts';
import { pteRead } from '../../src/shm/mm.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { INVARIANT_IDS } from '../../src/kernel/invariants.ts';
import { Task } from '../../src/kernel/task.ts';
import { putPage } from '../../src/mm/page_alloc.ts';
import { MAINLINE_MAP_PAGES, mapPagesHiddenNames, mapPagesNames, mapPagesOps } from '../../src/variants/map-pages/index.ts';
import { linusMapPages } from '../../src/variants/map-pages/linus-recheck.ts';
import { filemapRemoveFolioRelaxed } from '../../src/variants/map-pages/lockless.ts';
import { composeOps, getVariant, kernelOps, variants } from '../../src/variants/index.ts';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { HANDSHAKE_EXTRA, HANDSHAKE_OPS, SEEDS, exploreDefault, exploreHandshake } from '../helpers/variants-map.ts';

const SHARED0 = 0; // vma 0: file 0, shared, the whole file
const INDEX = 8; // truncation to 8 pages removes it first (pass 1 starts at index 8)

function world(variant: string) {
  const w = mmWorld(mmConfig({ 'map-pages': variant, 'fault-around': 1 }));
  return { ...w, mapper: w.task(0), trunc: w.task(1) };
}
const mapOne = (t: Task) => t.ops.vmOps.mapPages(t, { vma: SHARED0, file: 0, index: INDEX }, INDEX, INDEX + 1);
/** --map-pages NAME's variant: 'mainline' replaces nothing, the others are registered partial tables */
const mapPagesVariant = (name: string) => (name === 'mainline' ? MAINLINE_MAP_PAGES : getVariant(name, 'map-pages'));
const stat = (shm: Shm, task: number, name: keyof typeof STAT) => shm.stats[task * STAT_STRIDE + STAT[name]];
const inline = (shm: Shm) => readViolations(shm).map((v) => v.id);

/** Step `name` until it has yielded `label` while its task's t.page is `pfn`. */
function until(il: Interleaver, name: string, t: Task, label: string, pfn: number): void {
  for (;;) {
    const l = il.step(name);
    if (l === label && t.page === pfn) return;
    if (l === null || l === 'blocked') throw new Error(`${name} ${l ?? 'finished'} before '${label}' on page ${pfn} (saw ${il.labels(name).slice(-10).join(', ')})`);
  }
}

/**
 * The lockless mapper looks the page up with the old i_size and stops before its PTL; the
 * truncator writes i_size and passes its first unmap_mapping_range() (the PTL is still free),
 * then stops before trylock_page() of that page; the mapper takes the PTL and stops right after
 * its first check (PageLocked for Linus, none for Willy), before the mapcount increment.
 */
function intoTheWindow(variant: string) {
  const w = world(variant);
  const page = xaLoad(w.shm, 0, INDEX);
  const il = new Interleaver().add('mapper', mapOne(w.mapper), w.mapper).add('truncator', truncateSetsize(w.trunc, 0, INDEX * PAGE_SIZE), w.trunc);
  il.runUntil('mapper', 'pte_offset_map_lock');
  until(il, 'truncator', w.trunc, 'trylock_page', page);
  il.runUntil('mapper', 'page_add_file_rmap');
  return { ...w, il, page };
}

describe('map_pages variant registry', () => {
  it('lists the variants, hides the self-tests, and every one says what it must show and why', () => {
    expect(mapPagesNames()).toEqual(['mainline', 'patch4', 'v5.9', 'folio', 'linus-recheck', 'willy-uptodate']);
    expect(mapPagesHiddenNames().sort()).toEqual([
      'linus-recheck-strict-del', 'map-linus-recheck-first', 'map-nopte-recheck', 'map-norecheck-mapping',
      'truncate-nounmap', 'truncate-willy-mapped-first', 'willy-uptodate-strict-del',
    ]);
    for (const v of [MAINLINE_MAP_PAGES, ...variants({ kind: 'map-pages', hidden: true })]) {
      expect(v.source, v.name).not.toBe('');
      if (v.expected === 'clean' || v.expected === 'open') continue;
      expect(v.expected.length, v.name).toBeGreaterThan(0);
      for (const id of v.expected) expect(INVARIANT_IDS, v.name).toContain(id);
    }
    for (const n of ['v5.9', 'mainline', 'folio']) expect(mapPagesVariant(n).expected).toBe('clean');
    for (const n of ['linus-recheck', 'willy-uptodate']) expect(mapPagesVariant(n).expected).toBe('open');
    for (const n of mapPagesHiddenNames()) expect(Array.isArray(mapPagesVariant(n).expected), n).toBe(true);
    // --map-pages lists the public ones and accepts the hidden ones
    const opt = MAP_TRUNCATE_OPTIONS.find((o) => o.name === 'map-pages')!;
    expect(opt.choices).toEqual(mapPagesNames());
    expect(opt.hiddenChoices).toEqual(mapPagesHiddenNames());
  });
});

describe('the older MapPagesVariant form (what plug-ins register)', () => {
  it('mapPagesOps(): its mapPages is vmOps.mapPages, and its truncateFolio runs in place of truncate_inode_folio()\'s tail for each page still in the file', () => {
    const seen: number[] = [];
    const v = mapPagesOps({
      name: 'old-form', summary: 'linus-recheck in the older form', source: 'test', expected: 'open',
      mapPages: linusMapPages,
      *truncateFolio(t, pfn, file) {
        seen.push(pfn);
        yield 'folio_mapped';
        yield* filemapRemoveFolioRelaxed(t, pfn, file);
        yield* putPage(t, pfn);
      },
    });
    const base = kernelOps({ lock: 'v5.9-rc6' });
    const ops = composeOps(base, v.ops(base));
    expect(ops.vmOps.mapPages).toBe(linusMapPages);
    const { shm } = mmWorld(mmConfig({ 'fault-around': 1 }));
    const removed = Array.from({ length: 8 }, (_, i) => xaLoad(shm, 0, 8 + i));
    expect(removed).not.toContain(NIL);
    run(truncateSetsize(new Task({ id: 1, shm, ops }), 0, 8 * PAGE_SIZE));
    expect(seen).toEqual(removed);
    expect(removed.map((pfn) => shm.flags[pfn] & PG_free)).toEqual(removed.map(() => PG_free));
    expect(inline(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });
});

describe('linus-recheck: the back-out path, by hand', () => {
  it('the re-check sees the page locked: mapcount and the lookup reference are given back, no PTE', () => {
    const { shm, il, page, mapper, trunc } = intoTheWindow('linus-recheck');
    expect(shm.mapcount[page]).toBe(-1);
    il.runUntil('truncator', 'folio_mapped'); // trylock_page() taken, mapping checked
    const ref = shm.refcount[page]; // page cache + mapper's lookup + truncator's lookup
    expect(ref).toBe(3);
    il.runUntil('mapper', 'PageLocked'); // mapcount raised; the re-check is next
    expect(shm.mapcount[page]).toBe(0);
    il.runToEnd('mapper'); // re-check: locked -> page_remove_rmap, put_page
    expect(il.labels('mapper')).toContain('page_remove_rmap');
    expect(il.labels('mapper')).not.toContain('set_pte_at');
    expect(shm.mapcount[page]).toBe(-1);
    expect(shm.refcount[page]).toBe(ref - 1);
    expect(pteRead(shm, SHARED0, INDEX)).toBe(0);
    expect(stat(shm, mapper.id, 'backedOut')).toBe(1);
    il.runToEnd('truncator'); // folio_mapped() -> no; delete; free
    expect(shm.flags[page] & PG_free).toBe(PG_free);
    expect(stat(shm, trunc.id, 'deletedTransient')).toBe(0);
    expect(inline(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('the truncator deletes inside the window: the relaxed assertion lets it through, the mapper backs out', () => {
    const { shm, il, page, mapper, trunc } = intoTheWindow('linus-recheck');
    il.runUntil('truncator', 'xa_lock_irq'); // locked, folio_mapped() saw -1: no unmap
    il.runUntil('mapper', 'PageLocked'); // mapcount raised after the truncator looked
    expect(shm.mapcount[page]).toBe(0);
    il.runUntil('truncator', 'put_page'); // page_cache_delete() with the mapcount up
    expect(xaLoad(shm, 0, INDEX)).toBe(NIL);
    expect(stat(shm, trunc.id, 'deletedTransient')).toBe(1);
    expect(inline(shm)).toEqual([]);
    il.runToEnd('mapper');
    expect(stat(shm, mapper.id, 'backedOut')).toBe(1);
    il.runToEnd('truncator');
    expect(shm.mapcount[page]).toBe(-1);
    expect(shm.flags[page] & PG_free).toBe(PG_free);
    expect(inline(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });

  it('the same schedule with the unrelaxed delete assertion reports DEL-LOCKED (the artefact)', () => {
    const { shm, il, page } = intoTheWindow('linus-recheck-strict-del');
    il.runUntil('truncator', 'xa_lock_irq');
    il.runUntil('mapper', 'PageLocked');
    il.runUntil('truncator', 'put_page');
    const [v] = readViolations(shm);
    expect([v.id, v.page]).toEqual(['DEL-LOCKED', page]);
    il.runToEnd('mapper');
    il.runToEnd('truncator');
    expect(quiescentCheck(shm)).toEqual([]); // no PTE ever mapped the deleted page
  });

  it('the mapper wins the handshake: the truncator sees it mapped, waits for the PTL and zaps the PTE', () => {
    const { shm, il } = intoTheWindow('linus-recheck');
    il.runUntil('mapper', 'set_pte_at'); // mapcount raised, re-checks passed: not locked yet
    il.runUntil('truncator', 'folio_mapped'); // trylock_page() taken after the mapper's re-checks
    il.runToEnd('mapper');
    expect(pteRead(shm, SHARED0, INDEX)).not.toBe(0);
    il.runToEnd('truncator'); // page_mapped() -> unmap_mapping_folio() -> delete
    expect(pteRead(shm, SHARED0, INDEX)).toBe(0);
    expect(inline(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });
});

describe('willy-uptodate: the back-out path, by hand', () => {
  it('truncation clears PG_uptodate before it looks at page_mapped(); the mapper raises the mapcount, sees it clear and backs out', () => {
    const { shm, il, page, mapper, trunc } = intoTheWindow('willy-uptodate');
    il.runUntil('truncator', 'folio_mapped'); // locked, PG_uptodate cleared
    expect(shm.flags[page] & PG_uptodate).toBe(0);
    il.runUntil('truncator', 'xa_lock_irq'); // page_mapped() was -1
    il.runUntil('mapper', 'PageUptodate'); // mapcount raised
    expect(shm.mapcount[page]).toBe(0);
    il.runUntil('truncator', 'put_page'); // deleted inside the window (relaxed assertion)
    expect(stat(shm, trunc.id, 'deletedTransient')).toBe(1);
    il.runToEnd('mapper');
    expect(il.labels('mapper')).not.toContain('set_pte_at');
    expect(stat(shm, mapper.id, 'backedOut')).toBe(1);
    il.runToEnd('truncator');
    expect(shm.flags[page] & PG_free).toBe(PG_free);
    expect(inline(shm)).toEqual([]);
    expect(quiescentCheck(shm)).toEqual([]);
  });
});

describe('bounded explorations', () => {
  it('v5.9, mainline and folio: nothing found in 150 PCT + 150 random iterations of the matrix cell', () => {
    for (const v of ['v5.9', 'mainline', 'folio'])
      for (const kind of ['pct', 'random'] as const) {
        const r = exploreDefault(v, '1', kind, 150);
        expect(r.finds.map((f) => `${v} ${kind}: ${f.violation.message}`)).toEqual([]);
        expect(r.stats.iterations).toBe(150);
      }
  }, 60_000);

  it('v5.9, mainline and folio: nothing found in the handshake window either (1,000 random iterations, seeds 1-5)', () => {
    for (const v of ['v5.9', 'mainline', 'folio'])
      for (const seed of SEEDS) expect(exploreHandshake(v, seed, 1000).finds.map((f) => f.violation.message)).toEqual([]);
  }, 60_000);

  it('linus-recheck and willy-uptodate: the explorer reaches the back-out window often, and finds nothing there', () => {
    // the same iterations as exploreHandshake(), reading the counters after each one
    for (const variant of ['linus-recheck', 'willy-uptodate']) {
      const cfg = mmConfig({ 'map-pages': variant, ...HANDSHAKE_EXTRA }, { workers: 2, seed: '1' });
      const driver = new ControlledDriver({ scenario: mapTruncateScenario, cfg, lock: makeLock('v5.9-rc6') });
      const strategy = makeStrategy({ kind: 'random', depth: 3 });
      let backedOut = 0, deletedTransient = 0;
      for (let i = 0; i < 10_000; i++) {
        const r = driver.runIteration({ ops: HANDSHAKE_OPS, strategy, rng: scheduleRngFor('1', i) });
        expect(r.violation?.message ?? null, `${variant} iteration ${i}`).toBeNull();
        backedOut += stat(driver.shm, 0, 'backedOut');
        deletedTransient += stat(driver.shm, 1, 'deletedTransient');
      }
      // measured: ~35 back-outs and a few deletions inside the window per 10,000 iterations
      expect(backedOut, variant).toBeGreaterThan(5);
      expect(deletedTransient, variant).toBeGreaterThan(0);
    }
  }, 60_000);
});
