// Fault-path variants (src/variants/fault) and the write side (src/mm/writeback.ts) as hand-made
// interleavings: patch 3's COW window against truncation, the VM_FAULT_LOCKED hand-over
// assertion, do_shared_fault + page_mkwrite, wp_page_shared, writeback against truncation.
import { describe, expect, it } from 'vitest';
import { mmConfig, mmWorld, run } from '../helpers/mm-fixture.ts';
import { Interleaver } from '../helpers/interleave.ts';
import { Stepper } from '../helpers/stepper.ts';
import { PAGE_SIZE, xaLoad } from '../../src/shm/files.ts';
import { NIL, PG_dirty, PG_writeback, PTE_ANON, PTE_WRITE } from '../../src/shm/shm.ts';
import { pteNone, pteRead, ptePfn } from '../../src/shm/mm.ts';
import { PageLocked } from '../../src/shm/page.ts';
import { VM_FAULT_NOPAGE } from '../../src/kernel/fault.ts';
import { handleMmFault } from '../../src/mm/memory.ts';
import { truncateSetsize } from '../../src/mm/truncate.ts';
import { shrinkPage } from '../../src/mm/vmscan.ts';
import { writebackPage } from '../../src/mm/writeback.ts';
import { quiescentCheck } from '../../src/check/quiescent.ts';
import { readViolations } from '../../src/check/violations.ts';
import { MAINLINE_FAULT_PATH, faultPathNames } from '../../src/variants/fault/index.ts';
import { getVariant } from '../../src/variants/index.ts';
import type { Shm } from '../../src/shm/shm.ts';

// mmWorld's layout (map-truncate defaults): VMA 0 maps file 0 shared, VMA 2 file 0 private
const SHARED0 = 0, PRIVATE0 = 2;
const INDEX = 12; // truncation to 8 pages removes it

function world(faultPath: string) {
  const w = mmWorld(mmConfig({ 'fault-path': faultPath, 'fault-around': 1 }));
  return { ...w, writer: w.task(0), trunc: w.task(1), other: w.task(2) };
}
const ids = (shm: Shm) => quiescentCheck(shm).map((f) => f.id);
/** --fault-path NAME's variant: 'mainline' replaces nothing, the others are registered partial tables */
const faultPathVariant = (name: string) => (name === 'mainline' ? MAINLINE_FAULT_PATH : getVariant(name, 'fault-path'));
const inline = (shm: Shm) => readViolations(shm).map((v) => v.id);

describe('fault-path registry', () => {
  it('lists the four fault paths, hides the mutant, and says what each must show', () => {
    expect(faultPathNames()).toEqual(['mainline', 'patch1', 'patch1-2', 'patch1-3']);
    expect(faultPathNames({ hidden: true })).toContain('fault-nolock');
    expect(['mainline', 'patch1', 'patch1-2'].map((n) => faultPathVariant(n).expected)).toEqual(['clean', 'clean', 'clean']);
    expect(faultPathVariant('patch1-3').expected).toEqual(['MAP-EOF']);
    expect(faultPathVariant('fault-nolock').expected).toEqual(['FAULT-LOCKED']);
    expect(() => faultPathVariant('nope')).toThrow(/known: mainline/);
  });
});

describe('patch 3: do_cow_fault() unlocks the source before finish_fault()', () => {
  it('patch1-3: truncation runs start to end inside the window; the COW copy is mapped beyond EOF (MAP-EOF)', () => {
    const { shm, writer, trunc } = world('patch1-3');
    const page = xaLoad(shm, 0, INDEX);
    const il = new Interleaver().add('writer', handleMmFault(writer, PRIVATE0, INDEX, true), writer);
    il.runUntil('writer', 'pte_offset_map_lock'); // finish_fault() about to take the PTL
    expect(il.labels('writer')).toContain('copy_user_highpage');
    expect(PageLocked(shm, page)).toBe(false); // "unlock if it was locked", before finish_fault()
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE), trunc).runToEnd('truncator');
    expect(xaLoad(shm, 0, INDEX)).toBe(NIL);
    il.runToEnd('writer');
    const pte = pteRead(shm, PRIVATE0, INDEX);
    expect(pte & PTE_ANON).toBeTruthy(); // the private copy, installed after truncate returned
    expect(ids(shm)).toEqual(['MAP-EOF']);
    expect(inline(shm)).toEqual([]);
  });

  it('mainline (and patches 1, 1-2): the source stays locked, truncation waits and its second unmap zaps the copy', () => {
    for (const fp of ['mainline', 'patch1', 'patch1-2']) {
      const { shm, writer, trunc } = world(fp);
      const page = xaLoad(shm, 0, INDEX);
      const il = new Interleaver().add('writer', handleMmFault(writer, PRIVATE0, INDEX, true), writer);
      il.runUntil('writer', 'pte_offset_map_lock');
      expect(PageLocked(shm, page), fp).toBe(true);
      il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE), trunc);
      expect(il.runUntilBlocked('truncator'), fp).toBe(true); // lock_page() in truncate pass 2
      il.runToEnd('writer');
      expect(pteRead(shm, PRIVATE0, INDEX) & PTE_ANON, fp).toBeTruthy(); // mapped, for now
      il.runToEnd('truncator');
      expect(pteNone(pteRead(shm, PRIVATE0, INDEX)), fp).toBe(true); // unmap_mapping_range(even_cows)
      expect(ids(shm), fp).toEqual([]);
      expect(inline(shm), fp).toEqual([]);
    }
  });
});

describe('VM_FAULT_LOCKED hand-over', () => {
  it('fault-nolock: ->fault says VM_FAULT_LOCKED with the page unlocked: FAULT-LOCKED at __do_fault()', () => {
    for (const [vma, write] of [[SHARED0, false], [PRIVATE0, true], [SHARED0, true]] as const) {
      const { shm, writer } = world('fault-nolock');
      const s = new Stepper(handleMmFault(writer, vma, INDEX, write));
      let last: string | null = null;
      while (readViolations(shm).length === 0) {
        last = s.labels.at(-1) ?? null;
        if (s.step() === null) break;
      }
      const [v] = readViolations(shm);
      expect(v?.id, `vma ${vma} write ${write}`).toBe('FAULT-LOCKED');
      expect(v.page).toBe(xaLoad(shm, 0, INDEX));
      expect(last).toBe('clear_bit_unlock_is_negative_byte'); // caught in the step of the early unlock: at the hand-over
      s.runToEnd();
    }
  });

  it('every real fault path passes the same faults without a violation', () => {
    for (const fp of faultPathNames()) {
      const { shm, writer } = world(fp);
      for (const [vma, write] of [[SHARED0, false], [PRIVATE0, true], [SHARED0, true]] as const)
        run(handleMmFault(writer, vma, INDEX - (write ? 1 : 0) - vma, write));
      expect(inline(shm), fp).toEqual([]);
      expect(ids(shm), fp).toEqual([]);
    }
  });
});

describe('do_shared_fault() and page_mkwrite', () => {
  for (const fp of ['mainline', 'patch1-2']) {
    it(`${fp}: a write to a shared mapping maps the page writable and dirty, unlocked`, () => {
      const { shm, writer } = world(fp);
      const page = xaLoad(shm, 0, 3);
      run(handleMmFault(writer, SHARED0, 3, true));
      const pte = pteRead(shm, SHARED0, 3);
      expect(ptePfn(pte)).toBe(page);
      expect(pte & PTE_WRITE).toBeTruthy();
      expect(shm.flags[page] & PG_dirty).toBeTruthy();
      expect(PageLocked(shm, page)).toBe(false);
      expect(ids(shm)).toEqual([]);
    });
  }

  it('page_mkwrite re-checks page->mapping under the lock: truncated in between -> VM_FAULT_NOPAGE, nothing mapped', () => {
    const { shm, writer, trunc } = world('mainline');
    const il = new Interleaver().add('writer', handleMmFault(writer, SHARED0, INDEX, true), writer);
    // __do_fault() returned the page locked; do_shared_fault() unlocks it for do_page_mkwrite()
    il.runUntil('writer', 'clear_bit_unlock_is_negative_byte');
    il.step('writer');
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE), trunc).runToEnd('truncator');
    expect(il.runToEnd('writer')).toBe(VM_FAULT_NOPAGE);
    expect(pteNone(pteRead(shm, SHARED0, INDEX))).toBe(true);
    expect(il.labels('writer')).toContain('page->mapping');
    expect(il.labels('writer')).not.toContain('set_page_dirty');
    expect(ids(shm)).toEqual([]);
  });
});

describe('writeback', () => {
  it('cleans a dirty page: PTEs write-protected, PG_dirty cleared, PG_writeback set then ended; the next store faults (wp_page_shared) and dirties it again', () => {
    const { shm, writer, other } = world('mainline');
    const page = xaLoad(shm, 0, 3);
    run(handleMmFault(writer, SHARED0, 3, true));
    expect(run(writebackPage(other, 0, 3))).toBe('written');
    expect(pteRead(shm, SHARED0, 3) & PTE_WRITE).toBe(0);
    expect(shm.flags[page] & (PG_dirty | PG_writeback)).toBe(0);
    expect(run(writebackPage(other, 0, 3))).toBe('clean');
    run(handleMmFault(writer, SHARED0, 3, true)); // present, read-only: do_wp_page()
    expect(pteRead(shm, SHARED0, 3) & PTE_WRITE).toBeTruthy();
    expect(shm.flags[page] & PG_dirty).toBeTruthy();
    expect(ids(shm)).toEqual([]);
    expect(inline(shm)).toEqual([]);
  });

  it('reclaim skips a dirty page; truncation waits for PG_writeback before deleting', () => {
    const { shm, writer, trunc, other } = world('mainline');
    const page = xaLoad(shm, 0, INDEX);
    run(handleMmFault(writer, SHARED0, INDEX, true));
    expect(run(shrinkPage(other, 0, INDEX))).toBe(false); // dirty
    const il = new Interleaver().add('writeback', writebackPage(other, 0, INDEX), other);
    il.runUntil('writeback', 'submit_bio'); // PG_writeback set, page unlocked, no reference held
    expect(shm.flags[page] & PG_writeback).toBeTruthy();
    expect(PageLocked(shm, page)).toBe(false);
    expect(run(shrinkPage(writer, 0, INDEX))).toBe(false); // under writeback
    il.add('truncator', truncateSetsize(trunc, 0, 8 * PAGE_SIZE), trunc);
    expect(il.runUntilBlocked('truncator')).toBe(true); // wait_on_page_writeback() in pass 2
    expect(xaLoad(shm, 0, INDEX)).toBe(page);
    expect(il.runToEnd('writeback')).toBe('written');
    il.runToEnd('truncator');
    expect(xaLoad(shm, 0, INDEX)).toBe(NIL);
    expect(ids(shm)).toEqual([]);
    expect(inline(shm)).toEqual([]);
  });
});
