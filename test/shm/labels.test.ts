// The label table across a model reset: controlled mode wipes the whole buffer between iterations
// (initShm) and writes back only the label slots its table uses (LabelTable.restore).
import { describe, expect, it } from 'vitest';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { LabelTable, labelText } from '../../src/shm/labels.ts';

const sizes = { pages: 4, buckets: 4, files: 1, pagesPerFile: 4, processes: 1, vmasPerProcess: 1, ptesPerVma: 4, ptesPerPtl: 4, tasks: 2, flightEntries: 8, violationSlots: 1 };

describe('LabelTable', () => {
  it('restore() brings back every interned label under the same id after the buffer is zeroed', () => {
    const shm = new Shm(sizes);
    initShm(shm);
    const t = new LabelTable(shm);
    const names = ['lock_page', 'xas_next_entry', 'a label longer than the sixty bytes a slot holds, cut short there', 'PG_locked'];
    const ids = names.map((s) => t.id(s));
    expect(new Set(ids).size).toBe(names.length);
    const before = ids.map((id) => labelText(shm, id));
    expect(before[0]).toBe('lock_page');
    const copy = shm.labels.slice();
    initShm(shm);
    expect(labelText(shm, ids[0])).toBe('?');
    t.restore();
    expect(Array.from(shm.labels)).toEqual(Array.from(copy));
    expect(ids.map((id) => labelText(shm, id))).toEqual(before);
    // the cached ids are still the table's: interning again finds the restored slots
    expect(names.map((s) => new LabelTable(shm).id(s))).toEqual(ids);
  });
});
