// Exploration, repro files, replay and shrinking on the small fixture scenarios.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explore, opsFor } from '../../src/sched/explore.ts';
import { ControlledDriver } from '../../src/sched/controlled.ts';
import { opRng } from '../../src/kernel/rng.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { iterationsFor, pctBound, strategySpecs } from '../../src/sched/strategies/index.ts';
import {
  decodeSchedule, encodeSchedule, loadedRepro, readRepro, reproFileName, reproFromFind, runRepro, validateRepro, writeRepro, ReproError,
  type Resolver,
} from '../../src/sched/repro.ts';
import { DEFAULT_CLI, writeFinding } from '../../src/run/finding.ts';
import { shrink, shrunkRepro } from '../../src/sched/shrink.ts';
import { diagramMarkdown, diagramText } from '../../src/report/diagram.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import { cfgFor, counterScenario, miniLocksScenario, testLock } from './controlled.fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'explore-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenarios = new Map<string, Scenario>([[counterScenario.name, counterScenario], [miniLocksScenario.name, miniLocksScenario]]);
const resolver: Resolver = {
  scenario: (n) => scenarios.get(n),
  scenarioNames: () => [...scenarios.keys()],
  lock: (cfg) => (cfg.lock === 'test-futex' ? testLock() : cfg.lock === 'test-busted-nowake' ? testLock({ wake: false }) : undefined),
  lockNames: () => ['test-futex', 'test-busted-nowake'],
};

function exploreCounter(seed: string, kind: 'pct' | 'random' | 'portfolio' = 'pct') {
  const cfg = cfgFor('test-counter', { workers: 3, lock: 'test-futex', seed });
  return {
    cfg,
    res: explore({ scenario: counterScenario, cfg, lock: testLock(), strategies: strategySpecs(kind, 2), iterations: 500, opsPerActor: 3, seed }),
  };
}

describe('opsFor', () => {
  it("gives each actor opRng's operations (one stream per actor, reseeded per operation)", () => {
    const scenario = getScenario('map-truncate');
    const cfg = { ...DEFAULTS, scenario: 'map-truncate', extra: {} };
    for (const seed of ['1.0', '1.7', 'bench.12345'])
      expect(opsFor(scenario, cfg, seed, 6)).toEqual(ControlledDriver.opsFor(scenario, cfg, seed, 6, opRng));
  });
});

describe('explore', () => {
  it('finds the lost update and is deterministic', () => {
    const a = exploreCounter('7');
    const b = exploreCounter('7');
    expect(a.res.finds.length).toBe(1);
    expect(a.res.finds[0].violation.id).toBe('LOCK-EXCL');
    const strip = (x: typeof a.res) => ({ ...x, stats: { ...x.stats, elapsedMs: 0, driverMs: 0 } });
    expect(strip(b.res)).toEqual(strip(a.res));
    // PCT's first iteration only measures k; the bound line says how many iterations to run
    expect(a.res.stats.strategies[0]).toMatch(/^pct\(d=2\): n=3 actors, k=\d+ decisions .* 95% confidence/);
  });

  it('every strategy finds it, and keepGoing counts finds per invariant', () => {
    for (const kind of ['random', 'portfolio'] as const) expect(exploreCounter('1', kind).res.finds[0]?.violation.id).toBe('LOCK-EXCL');
    const cfg = cfgFor('test-counter', { workers: 2, lock: 'test-futex' });
    const r = explore({ scenario: counterScenario, cfg, lock: testLock(), strategies: strategySpecs('random', 2), iterations: 200, opsPerActor: 2, seed: '3', keepGoing: true });
    expect(r.stats.iterations).toBe(200);
    expect(r.finds.length).toBe(1);
    expect(r.stats.findsById['LOCK-EXCL']).toBeGreaterThan(1);
  });

  it('a correct lock: nothing found, every op done', () => {
    const cfg = cfgFor('test-locks', { workers: 3, pages: 2, lock: 'test-futex' });
    const r = explore({ scenario: miniLocksScenario, cfg, lock: testLock(), strategies: strategySpecs('portfolio', 3), iterations: 300, opsPerActor: 4, seed: '1' });
    expect(r.finds).toEqual([]);
    expect(r.stats.iterations).toBe(300);
  });

  it('PCT bound arithmetic', () => {
    expect(pctBound(3, 4, 10)).toBeCloseTo(1 / 400);
    expect(iterationsFor(1 / 400, 0.95)).toBe(Math.ceil(Math.log(0.05) / Math.log(1 - 1 / 400)));
    expect(iterationsFor(1)).toBe(1);
  });
});

describe('repro files, replay, shrink', () => {
  const { cfg, res } = exploreCounter('7');
  const find = res.finds[0];
  const path = join(dir, 'repro-counter.json');
  writeRepro(path, reproFromFind(find, { scenario: counterScenario, cfg, seed: '7' }));

  it('schedule encoding round-trips', () => {
    const c = [0, 0, 0, 1, 2, 2, 0];
    expect(encodeSchedule(c)).toBe('0*3 1 2*2 0');
    expect(decodeSchedule('0*3 1 2*2 0', 3)).toEqual(c);
    expect(() => decodeSchedule('0*3 7', 3)).toThrow(/task 7 does not exist/);
  });

  it('replay reproduces 10/10 with a byte-identical trace', () => {
    const l = readRepro(path, resolver);
    const traces = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = runRepro(l, { trace: true });
      expect(r.reproduced).toBe(true);
      expect(r.diverged).toBe(0);
      expect(r.beyond).toBe(0);
      traces.add(diagramText({ trace: r.result.trace!, roles: l.scenario.roles(l.cfg), ops: l.ops, violation: r.result.violation, violationStep: r.result.violationStep }).join('\n'));
    }
    expect(traces.size).toBe(1);
  });

  it('bad files are one-line ReproErrors', () => {
    const good = JSON.parse(readFileSync(path, 'utf8'));
    const cases: [string, (j: any) => unknown, RegExp][] = [
      ['truncated', () => null, /not valid JSON/],
      ['version', (j) => ({ ...j, version: 99 }), /version 99 is not supported/],
      ['scenario', (j) => ({ ...j, scenario: 'nope' }), /unknown scenario 'nope'/],
      ['negative size', (j) => ({ ...j, sizes: { ...j.sizes, pages: -3 } }), /sizes.pages must be a whole number >= 0/],
      ['negative pages', (j) => ({ ...j, config: { ...j.config, pages: -1 } }), /config.pages must be a whole number >= 1/],
      ['task', (j) => ({ ...j, schedule: '0*2 9' }), /task 9 does not exist/],
      ['schedule text', (j) => ({ ...j, schedule: 'zero' }), /'zero' is not a choice/],
      ['decisions', (j) => ({ ...j, decisions: 1 }), /does not match/],
      ['actors', (j) => ({ ...j, actors: j.actors.slice(1) }), /lists 2 tasks but scenario test-counter has 3/],
      ['lock', (j) => ({ ...j, config: { ...j.config, lock: 'nope' } }), /unknown lock 'nope'/],
      ['violation', (j) => ({ ...j, violation: { ...j.violation, id: 'BOGUS' } }), /not an invariant id/],
      ['op args', (j) => ({ ...j, actors: j.actors.map((a: any) => ({ ...a, ops: [{ kind: 'inc', args: ['x'] }] })) }), /actors\[0\]\.ops\[0\]\.args\[0\] must be a whole number from -1 .*\(got "x"\)/],
      ['not an object', () => [1, 2], /top level is not a JSON object/],
    ];
    for (const [name, edit, why] of cases) {
      const p = join(dir, `bad-${name.replace(/ /g, '-')}.json`);
      const e = edit(good);
      writeFileSync(p, e === null ? JSON.stringify(good).slice(0, 100) : JSON.stringify(e));
      let err: unknown;
      try {
        readRepro(p, resolver);
      } catch (x) {
        err = x;
      }
      expect(err, name).toBeInstanceOf(ReproError);
      expect((err as Error).message, name).toMatch(why);
      expect((err as Error).message, name).not.toMatch(/\n/);
    }
    expect(() => readRepro(join(dir, 'missing.json'), resolver)).toThrow(/cannot read .*ENOENT/);
  });

  it('shrink keeps the invariant id and makes the schedule no longer', () => {
    const l = readRepro(path, resolver);
    const s = shrink(l);
    expect(s.result.violation?.id).toBe('LOCK-EXCL');
    expect(s.after.steps).toBeLessThanOrEqual(s.before.steps);
    expect(s.after.decisions).toBeLessThanOrEqual(s.before.decisions);
    // the lost update needs two increments and one switch between a load and a store
    expect(s.after.ops).toBe(2);
    const again = shrink(l);
    expect(again.choices).toEqual(s.choices); // deterministic
    const min = join(dir, 'repro-counter.min.json');
    writeRepro(min, shrunkRepro(l, s, 'repro-counter.json'));
    const lm = readRepro(min, resolver);
    const r = runRepro(lm, { trace: true });
    expect(r.reproduced).toBe(true);
    expect(r.diverged + r.beyond).toBe(0);
    const text = diagramText({ trace: r.result.trace!, roles: lm.scenario.roles(lm.cfg), ops: lm.ops, violation: r.result.violation, violationStep: r.result.violationStep });
    expect(text.join('\n')).toMatch(/<== LOCK-EXCL \(whole-state check/);
    const md = diagramMarkdown({ trace: r.result.trace!, roles: lm.scenario.roles(lm.cfg), ops: lm.ops, violation: r.result.violation, violationStep: r.result.violationStep });
    expect(md[0]).toMatch(/^\| step \| T\d inc \| T\d inc \|$/);
  });
});

describe('the finding pipeline (src/run/finding.ts)', () => {
  const { cfg, res } = exploreCounter('7');
  const find = res.finds[0];

  it('a repro built in memory loads as its file would, without a trip through JSON', () => {
    const repro = reproFromFind(find, { scenario: counterScenario, cfg, seed: '7' });
    const mem = loadedRepro(repro, counterScenario, testLock());
    const file = validateRepro(JSON.parse(JSON.stringify(repro)), resolver);
    expect({ ...mem, lock: null }).toEqual({ ...file, lock: null });
  });

  it('find -> repro -> shrunk repro beside it -> diagram -> one replay line; what it wrote reads back and replays', () => {
    const d = mkdtempSync(join(dir, 'finding-'));
    const written: string[] = [];
    const w = writeFinding({ find, scenario: counterScenario, cfg, lock: testLock() }, {
      path: (r) => join(d, reproFileName(r)), shrink: { budgetMs: 30_000 }, markdown: { title: 'lost update (shrunk)' }, diagramTail: 200,
      shown: (p) => basename(p), onWritten: (p) => written.push(p),
    });
    expect(written).toEqual([w.path]);
    expect(w.shrunk!.path).toBe(w.path.replace(/\.json$/, '.min.json'));
    expect(w.replayPath).toBe(w.shrunk!.path);
    expect(w.kept).toBe(w.shrunk!.repro);
    expect(w.replayLine).toBe(`replay: ${DEFAULT_CLI} replay ${w.shrunk!.path}`); // absolute: works from any directory
    expect(w.shrunk!.repro.shrunk?.from).toBe(basename(w.path));
    expect(w.shrunk!.summary.after.ops).toBe(2);
    expect(w.markdownPath).toBe(w.shrunk!.path.replace(/\.json$/, '.md'));
    expect(readFileSync(w.markdownPath!, 'utf8')).toMatch(/^# lost update \(shrunk\)\n\n```\nreplay: node \/\S+\/dist\/stress\/cli\.js replay \/\S+\.min\.json\n```\n/);
    expect(w.diagram.join('\n')).toMatch(/<== LOCK-EXCL/);
    expect(readdirSync(d).sort()).toEqual([basename(w.path), basename(w.shrunk!.path), basename(w.markdownPath!)].sort());
    expect(readRepro(w.path, resolver).file).toEqual(w.repro);
    const min = readRepro(w.shrunk!.path, resolver);
    expect(min.file).toEqual(w.shrunk!.repro);
    const r = runRepro(min);
    expect(r.reproduced).toBe(true);
    expect(r.result.steps).toBe(w.shrunk!.summary.after.steps);
  });

  it('one file (shrunk over the find, as the matrix keeps it), or the find alone with no diagram', () => {
    const d = mkdtempSync(join(dir, 'finding-'));
    const over = writeFinding({ find, scenario: counterScenario, cfg, lock: testLock() }, {
      path: join(d, 'repro.json'), shrink: { budgetMs: 30_000, to: 'over', bestEffort: true },
      markdown: { title: 't', path: join(d, 'diagram.md') }, shown: (p) => basename(p), cli: 'pagelock-stress',
    });
    expect(over.replayPath).toBe(join(d, 'repro.json'));
    expect(readRepro(over.replayPath, resolver).file).toEqual(over.kept);
    expect(over.kept.shrunk).toBeDefined();
    expect(over.replayLine).toBe(`replay: pagelock-stress replay ${join(d, 'repro.json')}`);
    expect(readdirSync(d).sort()).toEqual(['diagram.md', 'repro.json']);
    const e = mkdtempSync(join(dir, 'finding-'));
    const plain = writeFinding({ find, scenario: counterScenario, cfg, lock: testLock() }, {
      path: (r) => join(e, reproFileName(r)), shrink: null, markdown: null, shown: (p) => p,
    });
    expect(plain.shrunk).toBeNull();
    expect(plain.kept).toBe(plain.repro);
    expect(plain.diagram).toEqual([]);
    expect(plain.markdownPath).toBeNull();
    expect(existsSync(plain.path)).toBe(true);
    expect(readdirSync(e)).toEqual([basename(plain.path)]);
  });
});
