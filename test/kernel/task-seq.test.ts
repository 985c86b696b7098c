// The global step numbers of flight records (Task.recordId, CTL.SEQ): unique across tasks and in
// the order the points happened, however the tasks take turns; a task running alone reserves
// them in blocks, and a gap left by a dropped block is never longer than the run before it.
import { describe, expect, it } from 'vitest';
import { makeLock } from '../../src/locks/index.ts';
import { CTL, seqDiff } from '../../src/shm/layout.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { decodeFlight, readViolations } from '../../src/check/violations.ts';
import { rng } from '../../src/kernel/rng.ts';

function model(tasks: number) {
  const shm = new Shm({
    pages: 4, buckets: 16, tasks, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
    flightEntries: 1024, violationSlots: 4,
  });
  initShm(shm);
  const ops = kernelOps({ lock: makeLock('v5.9', {}) });
  return { shm, ts: Array.from({ length: tasks }, (_, id) => new Task({ id, shm, ops })) };
}

/** Every task's records merged by step number, as a report merges them. */
const merged = (shm: Shm, tasks: number) =>
  Array.from({ length: tasks }, (_, t) => decodeFlight(shm, shm.flight, 0, t)).flat().sort((a, b) => a.seq - b.seq);

describe('global step numbers', () => {
  it('order the records of tasks taking turns as they were made, each number once', () => {
    const { shm, ts } = model(3);
    const r = rng('seq-test');
    const made: string[] = [];
    let run = 0, who = 0;
    for (let i = 0; i < 600; i++) {
      if (run === 0) { // runs of 1 to 40 steps by one task, then another
        who = Math.floor(r() * 3);
        run = 1 + Math.floor(r() * 40);
      }
      run--;
      ts[who].aux = i;
      ts[who].record('step');
      made.push(`${who}:${i}`);
    }
    const recs = merged(shm, 3);
    expect(recs.map((r) => `${r.task}:${r.aux}`)).toEqual(made);
    expect(new Set(recs.map((r) => r.seq)).size).toBe(600);
    // reserved blocks leave gaps, never longer than the run of steps before them
    expect(Atomics.load(shm.ctl, CTL.SEQ)).toBeLessThan(2 * 600);
  });

  it('take one add per step while tasks alternate, and start again on a fresh model', () => {
    const { shm, ts } = model(2);
    for (let i = 0; i < 10; i++) ts[i & 1].record('step');
    expect(merged(shm, 2).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    initShm(shm); // controlled mode's next iteration: the same tasks, the model zeroed
    ts[1].record('step');
    ts[1].record('step');
    ts[0].record('step');
    expect(merged(shm, 2).map((r) => [r.task, r.seq])).toEqual([[1, 0], [1, 1], [0, 3]]);
  });

  it('stay in order across the Int32 wrap of CTL.SEQ (reports unwrap them, live readers compare with seqDiff)', () => {
    const { shm, ts } = model(3);
    const start = 0x7fffffff - 300; // 2^31 - 301: the run below takes about 600 numbers
    Atomics.store(shm.ctl, CTL.SEQ, start);
    const r = rng('seq-wrap');
    const made: string[] = [];
    let run = 0, who = 0;
    for (let i = 0; i < 600; i++) {
      if (run === 0) {
        who = Math.floor(r() * 3);
        run = 1 + Math.floor(r() * 40);
      }
      run--;
      ts[who].aux = i;
      ts[who].record('step');
      made.push(`${who}:${i}`);
    }
    expect(Atomics.load(shm.ctl, CTL.SEQ)).toBeLessThan(0); // it did wrap
    // live rings: raw Int32 words, some from before the wrap, some after; seqDiff orders them
    const raw = Array.from({ length: 3 }, (_, t) => decodeFlight(shm, shm.flight, 0, t)).flat();
    expect(raw.some((f) => f.seq < 0) && raw.some((f) => f.seq > 0)).toBe(true);
    raw.sort((a, b) => seqDiff(a.seq, b.seq));
    expect(raw.map((f) => `${f.task}:${f.aux}`)).toEqual(made);
    // a violation reported now: the report's records, merged by their plain numbers, in order,
    // each number once, all before the report's own and counting on from the start
    ts[0].violation('LOCK-EXCL', 0, 1, 0);
    const [v] = readViolations(shm);
    expect(v.flight.map((f) => `${f.task}:${f.aux}`)).toEqual(made);
    expect(new Set(v.flight.map((f) => f.seq)).size).toBe(600);
    expect(v.flight[0].seq).toBe(start);
    expect(v.flight.every((f) => f.seq < v.seq)).toBe(true);
    expect(v.seq).toBeGreaterThan(2 ** 31);
  });
});
