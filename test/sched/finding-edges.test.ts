// Edges of the finding pipeline and the shrinker (issue 13, item 5): a find that does not replay
// is kept as found with a note (never a stack trace from explore), a schedule of hundreds of
// thousands of decisions shrinks without running out of stack, and the replay line is absolute,
// names the loaded plug-ins and quotes what a shell would split.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/sched/explore.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { reproFileName } from '../../src/sched/repro.ts';
import { DEFAULT_CLI, replayLine, shellQuote, toolCliPath, writeFinding } from '../../src/run/finding.ts';
import { main } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { testContext } from '../helpers/cli-context.ts';
import { cfgFor, counterScenario, testLock } from './controlled.fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'finding-edges-'));

describe('the finding pipeline', () => {
  it('a find that does not replay is written as found, with a note instead of a shrink', () => {
    const cfg = cfgFor('test-counter', { workers: 3, lock: 'test-futex', seed: '7' });
    const res = explore({ scenario: counterScenario, cfg, lock: testLock(), strategies: strategySpecs('pct', 2), iterations: 500, opsPerActor: 3, seed: '7' });
    const f = res.finds[0];
    // the same schedule, claimed to break another invariant: it cannot reproduce that one
    const wrong = { ...f, violation: { ...f.violation, id: 'MAP-EOF' as const } };
    const d = mkdtempSync(join(dir, 'noreplay-'));
    const w = writeFinding({ find: wrong, scenario: counterScenario, cfg, lock: testLock() }, {
      path: (r) => join(d, reproFileName(r)), shrink: { budgetMs: 5_000 }, markdown: { title: 't' }, diagramTail: 50, shown: (p) => p,
    });
    expect(w.shrunk).toBeNull();
    expect(w.shrinkError).toMatch(/does not reproduce its MAP-EOF violation/);
    expect(w.diagram[0]).toMatch(/^note: not shrunk, kept as found: the file does not reproduce its MAP-EOF violation/);
    expect(w.replayPath).toBe(w.path);
    expect(readdirSync(d).sort()).toEqual([reproFileName(w.repro), reproFileName(w.repro).replace(/\.json$/, '.md')].sort());
  });

  it('the replay line: node and the compiled CLI, the repro absolute, every loaded plug-in, shell-quoted', () => {
    expect(toolCliPath()).toMatch(/[\\/]dist[\\/]stress[\\/]cli\.js$/);
    expect(DEFAULT_CLI).toBe(`node ${toolCliPath()}`);
    expect(replayLine('/r/x.json', 'pagelock-stress', [])).toBe('replay: pagelock-stress replay /r/x.json');
    expect(replayLine('/r/my finds/x.json', 'pagelock-stress', ['/p/a.ts', "/p/it's.mjs"]))
      .toBe(`replay: pagelock-stress replay '/r/my finds/x.json' --plugin /p/a.ts --plugin '/p/it'\\''s.mjs'`);
    expect(replayLine('rel/x.json', 'c', [])).toBe(`replay: c replay ${join(process.cwd(), 'rel', 'x.json')}`);
    expect(shellQuote('a-b_c.d/e:f')).toBe('a-b_c.d/e:f');
  });
});

describe('shrinking a long schedule', () => {
  it('hundreds of thousands of decisions: no stack overflow, a one-line result', async () => {
    const c = testContext();
    c.registry = buildRegistry();
    const code = await main(['explore', '--scenario', 'locks', '--lock', 'busted-nowake', '--workers', '3', '--pages', '2', '--iterations', '200', '--seed', '1', '--no-shrink', '--threads', '1'], c);
    expect(code).toBe(1);
    const name = readdirSync(c.dir).find((f) => f.startsWith('repro-') && f.endsWith('.json'))!;
    const g = JSON.parse(readFileSync(join(c.dir, name), 'utf8'));
    // a lock that works, 40,000 operations per actor and a step bound: HUNG after 320,000 decisions
    g.config.lock = 'v5.9-rc6';
    g.actors = g.actors.map((a: object) => ({ ...a, ops: Array.from({ length: 40_000 }, (_, i) => ({ kind: 'lock', args: [i % 2, 1] })) }));
    Object.assign(g, { schedule: '', decisions: 0, maxSteps: 400_000, violation: { id: 'HUNG', task: -1, op: -1, page: -1, message: 'the step bound' } });
    writeFileSync(join(c.dir, 'long.json'), JSON.stringify(g));
    c.stdout.length = 0;
    c.stderr.length = 0;
    const s = await main(['shrink', 'long.json', '--runs', '3', '--budget', '20s'], c);
    expect(c.stderr, c.stderr.join('\n')).toEqual([]);
    expect(s).toBe(1);
    expect(c.stdout[0]).toMatch(/^--- shrink: long\.json: /); // the start line, then the result
    expect(c.stdout[1]).toMatch(/^shrinking: the file reproduces HUNG/);
    expect(c.stdout[2]).toMatch(/^shrunk HUNG: 400000 -> \d+ steps, 320000 -> \d+ decisions/);
    expect(c.stdout.at(-1)).toBe(`replay: ${DEFAULT_CLI} replay ${join(c.dir, 'long.min.json')}`);
  }, 120_000);
});
