// The control words' cache lines (src/shm/layout.ts CTL): what every task reads between operations
// shares its line with no word written while the tasks run (the allocator's, the truncation
// counters, SEQ), or each of those writes makes every other task's next read miss.
import { describe, expect, it } from 'vitest';
import { CTL } from '../../src/shm/layout.ts';
import { MAX_FOLIO_ORDER } from '../../src/shm/page.ts';

const line = (w: number): number => Math.floor(w / 16);

describe('control words', () => {
  const read = [CTL.STOP, CTL.EPOCH, CTL.STUTTER];
  const allocator = [CTL.ALLOC_LOCK, CTL.FREE_HEAD, CTL.FREE_COUNT, CTL.ALLOC_GEN, ...Array.from({ length: MAX_FOLIO_ORDER }, (_, k) => CTL.FREE_HEADS + k + 1)];
  const truncation = [CTL.TRUNCATING, CTL.TRUNC_SEQ];

  it('each word has its own index inside the region', () => {
    const words = Object.entries(CTL).filter(([k]) => k !== 'WORDS' && k !== 'FREE_HEADS').map(([, v]) => v as number);
    words.push(...Array.from({ length: MAX_FOLIO_ORDER }, (_, k) => CTL.FREE_HEADS + k + 1)); // the heads of orders 1..MAX
    expect(new Set(words).size).toBe(words.length);
    for (const w of words) expect(w >= 0 && w < CTL.WORDS).toBe(true);
    expect(CTL.FREE_HEAD).toBe(CTL.FREE_HEADS); // order 0's head is FREE_HEADS + 0
  });

  it('no word written while the tasks run shares the line the tasks read between operations', () => {
    const readLine = new Set(read.map(line));
    expect(readLine.size).toBe(1);
    for (const w of [CTL.SEQ, ...allocator, ...truncation]) expect(readLine.has(line(w)), `word ${w}`).toBe(false);
  });

  it('SEQ is alone on its line; the allocator and the truncation counters are on lines of their own', () => {
    const others = Object.entries(CTL).filter(([k]) => k !== 'WORDS' && k !== 'SEQ').map(([, v]) => v as number);
    expect(others.some((w) => line(w) === line(CTL.SEQ))).toBe(false);
    const allocLines = new Set(allocator.map(line)), truncLines = new Set(truncation.map(line));
    expect(allocLines.size).toBe(1);
    expect(truncLines.size).toBe(1);
    expect([...allocLines][0]).not.toBe([...truncLines][0]);
  });
});
