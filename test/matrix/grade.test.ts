// Grading: the jcstress-style truth table, and the cells derived from the registries.
import { describe, expect, it } from 'vitest';
import { grade, runFound, type Observation } from '../../src/matrix/grade.ts';
import { defaultWeight, deriveCells, expectedText, makeCell, toExpected, type CellSources, type Expected } from '../../src/matrix/cells.ts';
import { result } from '../helpers/cli-context.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import type { InvariantId } from '../../src/kernel/invariants.ts';

const obs = (found: InvariantId[], o: Partial<Observation> = {}): Observation => ({ found, ...o });
const BAD: Expected = { breaks: ['LOCK-EXCL', 'LOCK-UNLOCK'] };

describe('grade: the truth table', () => {
  const table: [string, Expected, Observation, string, RegExp][] = [
    ['clean, nothing seen', 'clean', obs([]), 'PASS', /clean: nothing seen/],
    ['clean, a violation', 'clean', obs(['MAP-EOF']), 'FAIL', /declared clean but showed MAP-EOF/],
    ['clean, a hang', 'clean', obs(['HUNG']), 'FAIL', /showed HUNG/],
    ['known-bad, caught', BAD, obs(['LOCK-EXCL']), 'PASS', /caught LOCK-EXCL/],
    ['known-bad, caught with consequences', BAD, obs(['LOCK-UNLOCK', 'LOCK-WAITERS']), 'PASS', /caught LOCK-UNLOCK$/],
    ['known-bad, caught only as something else', BAD, obs(['HUNG']), 'FAIL', /showed only HUNG: caught as the wrong invariant/],
    ['known-bad, not caught', BAD, obs([]), 'FAIL', /not caught within its budget: the detector regressed/],
    ['open, nothing', 'open', obs([]), 'OPEN', /showed nothing/],
    ['open, findings', 'open', obs(['MAP-COUNT', 'REF-COUNT']), 'OPEN', /showed MAP-COUNT, REF-COUNT/],
    ['clean, crash', 'clean', obs(['CRASH']), 'FAIL', /CRASH/],
    ['open, crash', 'open', obs(['CRASH']), 'FAIL', /a worker threw \(CRASH\)/],
    ['known-bad caught, but also a crash', BAD, obs(['LOCK-EXCL', 'CRASH']), 'FAIL', /CRASH.*also showed LOCK-EXCL/],
    ['known-bad that lists CRASH', { breaks: ['CRASH'] }, obs(['CRASH']), 'PASS', /caught CRASH/],
    ['error, whatever was expected', 'open', obs([], { error: 'unknown lock' }), 'FAIL', /error: unknown lock/],
    ['error on a known-bad cell', BAD, obs(['LOCK-EXCL'], { error: 'explorer died' }), 'FAIL', /error: explorer died/],
    ['interrupted clean, nothing yet', 'clean', obs([], { interrupted: true }), 'SKIPPED', /interrupted/],
    ['interrupted clean, a violation already', 'clean', obs(['LOCK-EXCL'], { interrupted: true }), 'FAIL', /declared clean/],
    ['interrupted known-bad, caught already', BAD, obs(['LOCK-EXCL'], { interrupted: true }), 'PASS', /caught/],
    ['interrupted known-bad, not caught yet', BAD, obs([], { interrupted: true }), 'SKIPPED', /interrupted before the bug was caught/],
    ['interrupted open with findings', 'open', obs(['MAP-EOF'], { interrupted: true }), 'OPEN', /showed MAP-EOF/],
  ];
  it.each(table)('%s', (_name, expected, o, verdict, reason) => {
    const g = grade(expected, o);
    expect(g.verdict).toBe(verdict);
    expect(g.reason).toMatch(reason);
  });

  it('notes what a caught known-bad cell showed beyond its list, and splits caught from unexpected', () => {
    const g = grade(BAD, obs(['LOCK-WAITERS', 'LOCK-EXCL', 'LOCK-WAITERS']));
    expect(g.caught).toEqual(['LOCK-EXCL']);
    expect(g.unexpected).toEqual(['LOCK-WAITERS']);
    expect(g.notes.join()).toMatch(/also showed LOCK-WAITERS/);
    expect(grade('clean', obs(['MAP-EOF'])).unexpected).toEqual(['MAP-EOF']);
  });

  it('reads what a free run found: violation ids in order, HUNG, a crash nothing recorded', () => {
    const cfg = { ...DEFAULTS, extra: {} };
    const v = (id: InvariantId) => ({ id, task: 0, op: 1, page: 2, seq: 1, values: [], message: '', flight: [] });
    expect(runFound(result(cfg, { violations: [v('MAP-EOF'), v('MAP-CACHE'), v('MAP-EOF')] as any }))).toEqual(['MAP-EOF', 'MAP-CACHE']);
    expect(runFound(result(cfg, { hung: [{ task: 1 } as any] }))).toEqual(['HUNG']);
    expect(runFound(result(cfg, { endReason: 'crash' }))).toEqual(['CRASH']);
    expect(runFound(result(cfg))).toEqual([]);
  });
});

describe('expected outcomes', () => {
  it('accepts the registry forms and rejects what is not an outcome', () => {
    expect(toExpected('clean', 'x')).toBe('clean');
    expect(toExpected(['MAP-EOF', 'MAP-EOF'], 'x')).toEqual({ breaks: ['MAP-EOF'] });
    expect(toExpected({ breaks: ['HUNG'] }, 'x')).toEqual({ breaks: ['HUNG'] });
    expect(() => toExpected('dirty', 'v')).toThrow(/v: expected outcome must be/);
    expect(() => toExpected([], 'v')).toThrow(/names no invariant/);
    expect(() => toExpected(['LOCK-NOPE'], 'v')).toThrow(/'LOCK-NOPE' is not an invariant id/);
    expect(expectedText({ breaks: ['A' as InvariantId, 'B' as InvariantId] })).toBe('breaks A,B');
  });

  it('a cell says why, has a name of the right shape, and known-bad cells weigh more', () => {
    expect(() => makeCell({ name: 'locks/x', scenario: 'locks', expected: 'clean', reasoning: ' ' }, 't')).toThrow(/reasoning/);
    expect(() => makeCell({ name: 'bad name', scenario: 'locks', expected: 'clean', reasoning: 'r' }, 't')).toThrow(/scenario\/variant/);
    expect(() => makeCell({ name: 'a/b', scenario: 'locks', expected: 'clean', reasoning: 'r', modes: [] }, 't')).toThrow(/modes/);
    expect([defaultWeight('clean'), defaultWeight('open'), defaultWeight({ breaks: ['HUNG'] })]).toEqual([1, 2, 3]);
  });
});

describe('cells derived from the registries', () => {
  const explicit = makeCell({ name: 'locks/busted', scenario: 'locks', cfg: { lock: 'busted' }, expected: { breaks: ['LOCK-EXCL'] }, reasoning: 'two owners' }, 'cell');
  const src: CellSources = {
    scenarios: [{ name: 'locks' }, { name: 'map-truncate' }, { name: 'fuse' }],
    mapPages: [
      { name: 'mainline', summary: 'landed', source: 'f9ce0be71d1f', expected: 'clean' },
      { name: 'patch4', summary: 'no lock', source: 'Msg-ID x', expected: ['MAP-EOF'] },
      { name: 'mutant', summary: 'bug', source: '', expected: ['MAP-CACHE'], hidden: true },
      { name: 'broken', summary: 'no outcome', source: '', expected: undefined },
    ],
    locks: [
      { name: 'v5.9', description: 'fair', hidden: false },
      { name: 'busted', description: 'self-test', hidden: true },
      { name: 'quiet', description: 'self-test', hidden: true },
    ],
    explicit: [explicit],
  };
  const cells = deriveCells(src);
  const by = new Map(cells.map((c) => [c.name, c]));

  it('every map-pages variant x map-truncate, every lock x locks, an open cell for an uncovered scenario', () => {
    expect(cells.map((c) => c.name)).toEqual([
      'fuse/default', 'locks/busted', 'locks/quiet', 'locks/v5.9',
      'map-truncate/broken', 'map-truncate/mainline', 'map-truncate/mutant', 'map-truncate/patch4',
    ]);
    expect(by.get('map-truncate/patch4')).toMatchObject({ scenario: 'map-truncate', cfg: { extra: { 'map-pages': 'patch4' } }, expected: { breaks: ['MAP-EOF'] }, weight: 3 });
    expect(by.get('map-truncate/mutant')!.hidden).toBe(true);
    expect(by.get('locks/v5.9')).toMatchObject({ cfg: { lock: 'v5.9' }, expected: 'clean', weight: 1 });
    expect(by.get('fuse/default')).toMatchObject({ expected: 'open', origin: 'derived:scenario' });
  });

  it('an explicit cell replaces the derived one of its name; a hidden lock nobody declared is open', () => {
    expect(by.get('locks/busted')).toBe(explicit);
    expect(by.get('locks/quiet')).toMatchObject({ expected: 'open', hidden: true });
    expect(by.get('locks/quiet')!.reasoning).toMatch(/register a cell 'locks\/quiet'/);
  });

  it('a variant with no valid outcome becomes a cell carrying the error, not an exception', () => {
    expect(by.get('map-truncate/broken')!.error).toMatch(/expected outcome must be/);
    expect(by.get('map-truncate/mainline')!.error).toBeUndefined();
  });

  it('the live registries: every map-pages variant and lock has a cell, none invalid, names unique', async () => {
    const { matrixCells } = await import('../../src/matrix/extra-cells.ts');
    const { mapPagesNames } = await import('../../src/variants/map-pages/index.ts');
    const { lockNames } = await import('../../src/locks/index.ts');
    const live = matrixCells();
    const names = live.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of mapPagesNames({ hidden: true })) expect(names).toContain(`map-truncate/${v}`);
    for (const l of lockNames({ hidden: true })) expect(names).toContain(`locks/${l}`);
    expect(live.filter((c) => c.error).map((c) => `${c.name}: ${c.error}`)).toEqual([]);
    expect(live.find((c) => c.name === 'locks/busted-noexcl')!.expected).toEqual({ breaks: ['LOCK-EXCL', 'LOCK-UNLOCK'] });
  });
});
