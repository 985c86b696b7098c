// The global step numbers of flight records (Task.recordId, CTL.SEQ): unique across tasks and in
// the order the points happened, however the tasks take turns; a task running alone reserves
// them in blocks, and a gap left by a dropped block is never longer than the run before it.
import { describe, expect, it } from 'vitest';
import { makeLock } from '../../src/locks/index.ts';
import { CTL } from '../../src/shm/layout.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { kernelOps } from '../../src/variants/index.ts';
import { decodeFlight } from '../../src/check/violations.ts';
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
});
