// Page migration (src/mm/migrate.ts, v6.6), hand-stepped in one thread: a mapped page-cache page
// moved to a new page (slot, PTEs, counts, data), a faulter that meets a migration entry and waits
// on the old page's lock without a reference (under every public lock algorithm), the refcount
// freeze backing out, truncation zapping an entry, map_pages leaving one alone; MIGRATE-ENTRY with
// the corruptions that must trip it; the self-test mutant caught in controlled mode and mainline
// clean there.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { Shm, PG_dirty, PG_free, PG_locked, PG_writeback, PTE_DIRTY, PTE_WRITE } from '../../src/shm/shm.ts';
import { xaLoad } from '../../src/shm/files.ts';
import { isMigrationEntry, mkMigrationEntry, mkPte, ptePfn, ptePresent, pteRead, pteWrite } from '../../src/shm/mm.ts';
import { ZAP_ALL } from '../../src/mm/memory.ts';
import { putPage } from '../../src/mm/page_alloc.ts';
import { EAGAIN, EBUSY, MIGRATEPAGE_SUCCESS } from '../../src/mm/migrate.ts';
import { Task } from '../../src/kernel/task.ts';
import { composeOps, kernelOps, registerVariant, findVariant } from '../../src/variants/index.ts';
import { lockNames, makeLock } from '../../src/locks/index.ts';
import { readViolations } from '../../src/check/violations.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { liveCheck } from '../../src/check/live.ts';
import { explore } from '../../src/sched/explore.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { MIGRATE_CELLS } from '../../src/variants/mutants/migrate-mutants.ts';
import type { RunConfig } from '../../src/kernel/config.ts';

// the default world: files 0 and 1 of 16 pages, cached; VMA 0 maps file 0 shared, VMA 2 private
const SHARED0 = 0, PRIVATE0 = 2;
const ids = (shm: Shm) => readViolations(shm).map((v) => v.id);
const quiet = (shm: Shm) => quiescentCheck(shm).map((f) => `${f.id}: ${f.message}`);

function taskOf(shm: Shm, id: number, lock = 'v5.9-rc6', variants: string[] = []): Task {
  return new Task({ id, shm, ops: kernelOps({ lock: makeLock(lock), variants }), options: {} });
}

/** Page 3 of file 0 mapped by both of its VMAs (read faults, no fault-around). */
function mapped(lock = 'v5.9-rc6') {
  const w = mmWorld(mmConfig({ 'fault-around': 1 }));
  const shm = w.shm, t = taskOf(shm, 3, lock);
  t.options['fault-around'] = 1;
  run(t.ops.fault.handleMmFault(t, SHARED0, 3, false));
  run(t.ops.fault.handleMmFault(t, PRIVATE0, 3, false));
  const old = xaLoad(shm, 0, 3);
  expect(ptePfn(pteRead(shm, SHARED0, 3))).toBe(old);
  expect(ptePfn(pteRead(shm, PRIVATE0, 3))).toBe(old);
  return { shm, old };
}

describe('migrate_pages() of a mapped page-cache page', () => {
  it('moves the slot, both PTEs, the counts and the data to the new page and frees the old one', () => {
    const { shm, old } = mapped();
    const m = taskOf(shm, 0);
    expect(run(m.ops.migrate.migratePages(m, 0, 3, 'sync'))).toBe(MIGRATEPAGE_SUCCESS);
    const now = xaLoad(shm, 0, 3);
    expect(now).not.toBe(old);
    for (const vma of [SHARED0, PRIVATE0]) expect(pteRead(shm, vma, 3)).toBe(mkPte(now));
    expect([shm.mapcount[now], shm.refcount[now], shm.stampFile[now], shm.stampIndex[now]]).toEqual([1, 3, 0, 3]);
    expect(shm.flags[old] & PG_free).toBe(PG_free);
    expect(shm.flags[now] & PG_locked).toBe(0);
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('a writable PTE comes back writable (make_writable_migration_entry)', () => {
    const { shm, old } = mapped();
    pteWrite(shm, SHARED0, 3, mkPte(old, PTE_WRITE));
    const m = taskOf(shm, 0);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    il.runUntil('m', 'folio_ref_freeze');
    expect(pteRead(shm, SHARED0, 3)).toBe(mkMigrationEntry(old, PTE_WRITE));
    il.runToEnd('m');
    expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(xaLoad(shm, 0, 3), PTE_WRITE));
  });

  it('a dirty PTE: the page is marked dirty, the entry keeps the bit, PG_dirty moves to the new page', () => {
    const { shm, old } = mapped();
    pteWrite(shm, SHARED0, 3, mkPte(old, PTE_WRITE | PTE_DIRTY));
    const m = taskOf(shm, 0);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    il.runUntil('m', 'folio_ref_freeze');
    expect(pteRead(shm, SHARED0, 3)).toBe(mkMigrationEntry(old, PTE_WRITE | PTE_DIRTY));
    expect(shm.flags[old] & PG_dirty).toBe(PG_dirty);
    il.runToEnd('m');
    const now = xaLoad(shm, 0, 3);
    expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(now, PTE_WRITE | PTE_DIRTY));
    expect(shm.flags[now] & PG_dirty).toBe(PG_dirty);
    expect(quiet(shm)).toEqual([]);
  });

  it('a page under writeback: MIGRATE_ASYNC gives up (-EBUSY), MIGRATE_SYNC waits for the I/O under the page lock', () => {
    const { shm, old } = mapped();
    Atomics.or(shm.flags, old, PG_writeback);
    const m = taskOf(shm, 0), io = taskOf(shm, 1);
    expect(run(m.ops.migrate.migratePages(m, 0, 3, 'async'))).toBe(EBUSY);
    expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(old));
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'), m).add('io', io.ops.lock.endPageWriteback(io, old), io);
    expect(il.runUntilBlocked('m')).toBe(true);
    expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(old)); // nothing unmapped before the wait
    il.runToEnd('io');
    expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS);
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  for (const lock of lockNames()) {
    it(`${lock}: a faulter meeting the entry waits on the old page's lock without a reference, then finds the new page`, () => {
      const { shm, old } = mapped(lock);
      const m = taskOf(shm, 0, lock), f = taskOf(shm, 1, lock);
      const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'), m).add('f', f.ops.fault.handleMmFault(f, SHARED0, 3, false), f);
      il.runUntil('m', 'folio_ref_freeze');
      expect(isMigrationEntry(pteRead(shm, SHARED0, 3))).toBe(true);
      expect(il.runUntilBlocked('f')).toBe(true);
      expect(il.labels('f')).toContain('io_schedule');
      expect(shm.refcount[old]).toBe(2); // the page cache's and the migrator's: the waiter holds none
      expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS); // so the freeze succeeds
      expect(il.runToEnd('f')).toBe(0); // do_swap_page(): the access is executed again
      const now = xaLoad(shm, 0, 3);
      expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(now));
      expect(run(f.ops.fault.handleMmFault(f, SHARED0, 3, false))).toBe(-1); // NO_FAULT: present
      expect(ids(shm)).toEqual([]);
      expect(quiet(shm)).toEqual([]);
    });
  }

  it('another reference makes the refcount freeze fail: the entries are restored to the old page', () => {
    const { shm, old } = mapped();
    const m = taskOf(shm, 0), r = taskOf(shm, 1);
    const pin = run(r.ops.pagecache.findGetPage(r, 0, 3)); // a lockless lookup's folio_try_get()
    expect(pin).toBe(old);
    expect(run(m.ops.migrate.migratePages(m, 0, 3, 'sync'))).toBe(EAGAIN);
    expect(xaLoad(shm, 0, 3)).toBe(old);
    for (const vma of [SHARED0, PRIVATE0]) expect(pteRead(shm, vma, 3)).toBe(mkPte(old));
    run(putPage(r, pin));
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('truncation zaps a migration entry (it held nothing); the migration restores nothing there', () => {
    const { shm } = mapped();
    const m = taskOf(shm, 0), z = taskOf(shm, 1);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    il.runUntil('m', 'folio_ref_freeze');
    expect(run(z.ops.rmap.zapPteRange(z, SHARED0, 0, 16, ZAP_ALL))).toBe(1);
    expect(pteRead(shm, SHARED0, 3)).toBe(0);
    expect(il.runToEnd('m')).toBe(MIGRATEPAGE_SUCCESS);
    const now = xaLoad(shm, 0, 3);
    expect(pteRead(shm, SHARED0, 3)).toBe(0);
    expect(pteRead(shm, PRIVATE0, 3)).toBe(mkPte(now));
    expect([shm.mapcount[now], shm.refcount[now]]).toEqual([0, 2]);
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });

  it('filemap_map_pages() leaves a migration entry alone (pte_none) and maps around it', () => {
    const { shm, old } = mapped();
    const m = taskOf(shm, 0), p = taskOf(shm, 1);
    run(p.ops.rmap.zapPteRange(p, SHARED0, 0, 8, ZAP_ALL));
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    run(p.ops.fault.handleMmFault(p, PRIVATE0, 3, false)); // already present: nothing
    il.runUntil('m', 'folio_ref_freeze');
    expect(isMigrationEntry(pteRead(shm, PRIVATE0, 3))).toBe(true);
    run(p.ops.vmOps.mapPages(p, { vma: PRIVATE0, file: 0, index: 0 }, 0, 8));
    expect(pteRead(shm, PRIVATE0, 3)).toBe(mkMigrationEntry(old));
    expect(ptePresent(pteRead(shm, PRIVATE0, 4))).toBe(true);
    il.runToEnd('m');
    expect(ids(shm)).toEqual([]);
    expect(quiet(shm)).toEqual([]);
  });
});

describe('MIGRATE-ENTRY: corruptions', () => {
  it('quiescent: an entry left behind', () => {
    const { shm } = mmWorld();
    pteWrite(shm, SHARED0, 5, mkMigrationEntry(xaLoad(shm, 0, 5)));
    expect(quiescentCheck(shm).map((f) => f.id)).toEqual(['MIGRATE-ENTRY']);
  });

  it('live: an entry naming an unlocked page (and none for a locked one)', () => {
    const { shm } = mmWorld();
    const pfn = xaLoad(shm, 0, 5);
    pteWrite(shm, SHARED0, 5, mkMigrationEntry(pfn));
    expect(liveCheck(shm).map((f) => f.id)).toEqual(['MIGRATE-ENTRY']);
    Atomics.or(shm.flags, pfn, PG_locked);
    expect(liveCheck(shm)).toEqual([]);
  });

  it('the migrator: remove_migration_ptes() that restores nothing', () => {
    const { shm } = mapped();
    const ops = composeOps(kernelOps({ lock: makeLock('v5.9-rc6') }), { migrate: { *removeMigrationPtes() {} } });
    const m = new Task({ id: 0, shm, ops, options: {} });
    run(m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    expect(ids(shm)).toEqual(['MIGRATE-ENTRY', 'MIGRATE-ENTRY']);
  });

  it('the self-test migrate-wait-maps-old maps the old page after it left the page cache', () => {
    const { shm, old } = mapped();
    const m = taskOf(shm, 0), f = taskOf(shm, 1, 'v5.9-rc6', ['migrate-wait-maps-old']);
    const il = new Interleaver().add('m', m.ops.migrate.migratePages(m, 0, 3, 'sync'));
    il.runUntil('m', 'folio_copy'); // folio_migrate_mapping() is done: the new page has the slot
    expect(run(f.ops.fault.handleMmFault(f, SHARED0, 3, false))).toBe(0);
    expect(pteRead(shm, SHARED0, 3)).toBe(mkPte(old));
    expect(ids(shm)).toEqual(['MIGRATE-ENTRY']);
  });
});

/** The cells' controlled configuration as explore() takes it. */
function cellCfg(variants: string[]): RunConfig {
  const cell = MIGRATE_CELLS[0];
  const s = getScenario('map-truncate');
  const extra: RunConfig['extra'] = {};
  for (const o of s.options ?? []) extra[o.name] = o.default;
  return { ...mmConfig(), ...{ workers: cell.controlled!.workers! }, extra: { ...extra, ...cell.controlled!.extra }, variants };
}

describe('controlled mode', () => {
  it('migrate-wait-maps-old is caught on seeds 1-3 (random walk)', () => {
    const expected = findVariant('migrate-wait-maps-old')!.expected as readonly string[];
    for (const seed of ['1', '2', '3']) {
      const r = explore({
        scenario: getScenario('map-truncate'), cfg: cellCfg(['migrate-wait-maps-old']), lock: makeLock('v5.9-rc6'),
        strategies: [{ kind: 'random', depth: 3 }], iterations: 4000, opsPerActor: 4, seed,
      });
      expect(r.finds.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(expected).toContain(r.finds[0].violation.id);
    }
  }, 120_000);

  it('mainline is clean, and its faulters meet entries and wait', () => {
    let waits = 0;
    if (!findVariant('test-count-migration-waits'))
      registerVariant({
        name: 'test-count-migration-waits', kind: 'variant', summary: 'test: counts migration entry waits', source: 'test', expected: 'clean', hidden: true,
        ops: (base) => ({ migrate: { *migrationEntryWait(t, vma, index) { waits++; yield* base.migrate.migrationEntryWait(t, vma, index); } } }),
      });
    const r = explore({
      scenario: getScenario('map-truncate'), cfg: cellCfg(['test-count-migration-waits']), lock: makeLock('v5.9-rc6'),
      strategies: [{ kind: 'random', depth: 3 }, { kind: 'pct', depth: 3 }], iterations: 600, opsPerActor: 4, seed: '1',
    });
    expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
    expect(waits).toBeGreaterThan(0);
  }, 120_000);
});

describe('the direct form (free mode) takes the generators\' steps for the migrator', () => {
  // the build's direct forms (dist/: npm test builds first), as test/sched/direct-form.test.ts
  // checks the default roles: one migrator alone over its op stream (migrations of mapped and
  // unmapped pages, with and without a page there), the same labels and the same final state
  it('migrator: same labels and shared state in both forms', async () => {
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const DIST = join(__dirname, '..', '..', 'dist', 'src');
    if (!existsSync(join(DIST, 'kernel', 'direct.js'))) throw new Error('dist/ is missing: run npm run build first (npm test does)');
    const M: Record<string, any> = Object.assign({}, ...(await Promise.all(
      ['kernel/config.js', 'kernel/direct.js', 'scenarios/index.js', 'variants/index.js', 'shm/shm.js', 'shm/init.js', 'kernel/rng.js', 'kernel/task.js']
        .map((p) => import(join(DIST, p))))));
    const mt = M.getScenario('map-truncate');
    const defaults = Object.fromEntries((mt.options ?? []).map((o: { name: string; default: unknown }) => [o.name, o.default]));
    const c = { ...M.DEFAULTS, scenario: 'map-truncate', perturb: 'off', workers: 2, extra: { ...defaults, roles: 'migrator,faulter+zapper' } };
    const runAlone = (direct: boolean) => {
      const shm = new M.Shm({ ...mt.sizes(c), tasks: 3, flightEntries: 64, violationSlots: 8 });
      M.initShm(shm);
      mt.init(shm, c);
      const labels: string[] = [];
      let clock = 0;
      const rec = {
        point: (l: { s: string }) => void labels.push(l.s),
        effect: (e: { kind: string }) => (e.kind === 'wait' ? (labels.push('<wait>'), 'timed-out') : e.kind === 'wake' ? (labels.push('<wake>'), undefined) : (clock += 1000)),
      };
      const tasks = [0, 1].map((id) => new M.Task({ id, shm, ops: M.configOps(c), options: { ...c.extra } }));
      const outer = M.enterDirect(rec);
      try {
        // the faulter+zapper first maps pages, then the migrator moves them, in turns
        for (let opNo = 0; opNo < 60; opNo++) for (const id of [1, 0]) {
          const role = mt.roles(c)[id], op = mt.nextOp(role, M.opRng(c.seed, id, opNo), c, id), t = tasks[id];
          t.op = opNo;
          if (direct) M.directOf(mt.runOp)!.call(mt, t, role, op, c);
          else {
            const g = mt.runOp(t, role, op, c);
            for (let send: unknown, r = g.next(); !r.done; r = g.next(send)) {
              send = undefined;
              if (typeof r.value === 'string') labels.push(r.value);
              else send = rec.effect(r.value);
            }
          }
        }
      } finally {
        M.enterDirect(outer);
      }
      return { labels, state: Buffer.from(shm.sab.slice(0)), migrated: tasks[0].statValue('migrated') };
    };
    const g = runAlone(false), d = runAlone(true);
    expect(g.migrated).toBeGreaterThan(0);
    expect(d.labels).toEqual(g.labels);
    expect(d.state.equals(g.state)).toBe(true);
  }, 60_000);
});
