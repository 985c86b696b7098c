// OpStream is alea reseeded in place: it must give exactly seedrandom's numbers for the op
// stream's seed string, or free mode's op streams (and every seed quoted anywhere) change.
import { describe, expect, it } from 'vitest';
import seedrandom from 'seedrandom';
import { OpStream, opRng } from '../../src/kernel/rng.ts';

const reference = (seed: string | number, task: number, op: number) => seedrandom.alea(`${seed}:op:${task}:${op}`);

describe('OpStream', () => {
  // '\uffff': the largest char code
  const seeds: (string | number)[] = [1, '1', 'bench-0', '', 'x'.repeat(40), 'sé€d', 123456789, '1~shrink', '\uffff'.repeat(40)];
  const ops = [0, 1, 9, 10, 99, 100, 12345, 2 ** 31, 10 ** 12 + 7, Number.MAX_SAFE_INTEGER];

  it('draws exactly what seedrandom.alea draws for the same seed string', () => {
    for (const seed of seeds)
      for (const task of [0, 3, 17])
        for (const op of ops) {
          const s = new OpStream(seed, task), ref = reference(seed, task, op);
          const r = s.at(op);
          for (let i = 0; i < 20; i++) expect(r()).toBe(ref());
          expect(r.int32()).toBe(ref.int32());
        }
  });

  it('reseeds in place: any order of operations, the same streams', () => {
    const s = new OpStream('7', 2);
    for (const op of [5, 1000, 5, 0, 999999, 1000]) {
      const ref = reference('7', 2, op), r = s.at(op);
      expect(r).toBe(s.r);
      expect([r(), r(), r()]).toEqual([ref(), ref(), ref()]);
    }
    expect(opRng('7', 2, 44)()).toBe(reference('7', 2, 44)());
  });

  it('walked forward (seeded four at a time) or back, the same streams', () => {
    for (const seed of [1, 'bench-0', 'sé€d', '\uffff'.repeat(40)]) {
      const s = new OpStream(seed, 5);
      // across digit-count boundaries (9 -> 10, 99 -> 100, 9999 -> 10000), a step back into and
      // out of a batch, and a jump
      const walk = [...Array.from({ length: 130 }, (_, i) => i), 7, 126, 127, 128, ...Array.from({ length: 20 }, (_, i) => 9990 + i), 2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2];
      for (const op of walk) {
        const ref = reference(seed, 5, op), r = s.at(op);
        expect([r(), r(), r(), r.int32()]).toEqual([ref(), ref(), ref(), ref.int32()]);
      }
    }
  });

  it('refuses an operation number that is not a whole number', () => {
    expect(() => new OpStream(1, 0).at(-1)).toThrow(/operation number/);
    expect(() => new OpStream(1, 0).at(1.5)).toThrow(/operation number/);
  });
});
