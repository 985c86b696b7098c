// explore / replay / shrink through the command line (in process, real registries): determinism
// of the output and the repro files, exact replay, LOCK-WAKE for a lock that never wakes, exit
// codes, and one-line reasons for bad input.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { testContext, type TestCtx } from '../helpers/cli-context.ts';
import { DEFAULT_CLI } from '../../src/run/finding.ts';

function ctx(): TestCtx {
  const c = testContext();
  c.registry = buildRegistry();
  return c;
}

async function cli(c: TestCtx, argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  c.stdout.length = 0;
  c.stderr.length = 0;
  const code = await main(argv, c);
  return { code, out: [...c.stdout], err: [...c.stderr] };
}

const BUSTED = ['explore', '--scenario', 'locks', '--lock', 'busted-nowake', '--workers', '3', '--pages', '2', '--iterations', '200', '--seed', '1'];
/** everything but the wall-clock line, with the run's directory (in the absolute replay line) as DIR */
const stable = (lines: string[], dir = '') => lines.filter((l) => !l.startsWith('speed: ')).map((l) => (dir ? l.replaceAll(dir, 'DIR') : l));
const files = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('repro-')).sort();

/** One run of a command, shared by the tests that read what it wrote (an exploration is
 * deterministic: each would write the same files); started by the first test that needs it. */
function shared(argv: string[]): () => Promise<{ c: TestCtx; r: { code: number; out: string[]; err: string[] } }> {
  let p: Promise<{ c: TestCtx; r: { code: number; out: string[]; err: string[] } }> | null = null;
  return () => (p ??= (async () => {
    const c = ctx();
    return { c, r: await cli(c, argv) };
  })());
}
const explored = shared(BUSTED);
const exploredNoShrink = shared([...BUSTED, '--no-shrink']);
/** A fresh context whose directory holds a copy of the --no-shrink find; its file name. */
async function withFind(): Promise<{ c: TestCtx; name: string }> {
  const { c: from } = await exploredNoShrink();
  const name = files(from.dir).find((f) => f.endsWith('.json'))!;
  const c = ctx();
  copyFileSync(join(from.dir, name), join(c.dir, name));
  return { c, name };
}

describe('explore', () => {
  it('the same command twice: identical output and identical repro files; LOCK-WAKE naming the stranded waiter', async () => {
    const { c: a, r: ra } = await explored();
    const b = ctx();
    const rb = await cli(b, BUSTED);
    expect(ra.code).toBe(1);
    expect(rb.code).toBe(1);
    expect(stable(rb.out, b.dir)).toEqual(stable(ra.out, a.dir));
    // the rates are over the exploration; the total, with start-up and the shrink of the find, is apart
    expect(ra.out.find((l) => l.startsWith('speed: '))).toMatch(/^speed: [\d.]+ s exploring \([\d.]+ s in all, with start-up, shrinking and reports\), [\d,]+ iterations\/s/);
    expect(files(a.dir)).toEqual(files(b.dir));
    expect(files(a.dir).length).toBe(3); // the find, its shrunk version, the shrunk diagram (.md)
    for (const f of files(a.dir)) expect(readFileSync(join(b.dir, f), 'utf8').replaceAll(b.dir, 'DIR')).toBe(readFileSync(join(a.dir, f), 'utf8').replaceAll(a.dir, 'DIR'));
    // the find: a waiter that sleeps forever on an unlocked page, with whom it waits on
    const found = ra.out.find((l) => l.startsWith('!!! FOUND'))!;
    // the owed wake-up accounting reports the lost wake-up as the waiter sleeps (before a DEADLOCK)
    expect(found).toMatch(/^!!! FOUND LOCK-WAKE: no lost wakeup: .*: task \d+ \(locker\) op \d+, page \d+ \[flags [^\]]*PG_waiters[^\]]*\]/);
    // exactly one line says how to replay, and names the shrunk file
    const replay = ra.out.filter((l) => l.startsWith('replay: '));
    expect(replay).toEqual([`replay: ${DEFAULT_CLI} replay ${join(a.dir, files(a.dir).find((f) => f.endsWith('.min.json'))!)}`]);
    expect(ra.out.at(-1)).toBe('End of exploration: FAILURE');
    expect(ra.out.some((l) => /<== LOCK-WAKE/.test(l))).toBe(true);
  }, 60_000);

  // each replay runs in a fresh worker thread (from the sources here: slow to start), so 5 runs
  it('replay reproduces 5 times out of 5, the trace byte-identical', async () => {
    const { c } = await explored();
    for (const f of files(c.dir).filter((x) => x.endsWith('.json'))) {
      const traces = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = await cli(c, ['replay', f, '--trace']);
        expect(r.code).toBe(1);
        expect(r.out.some((l) => l.startsWith('REPRODUCED LOCK-WAKE'))).toBe(true);
        traces.add(r.out.join('\n'));
      }
      expect(traces.size).toBe(1);
    }
    const md = await cli(c, ['replay', files(c.dir).find((f) => f.endsWith('.min.json'))!, '--markdown']);
    expect(md.out.some((l) => /^\| step \| T\d locker \| T\d locker \|/.test(l))).toBe(true);
  }, 60_000);

  it('a clean exploration exits 0 and says what PCT guarantees', async () => {
    const c = ctx();
    const r = await cli(c, ['explore', '--scenario', 'locks', '--workers', '2', '--pages', '2', '--iterations', '50', '--seed', '2']);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toBe('End of exploration: SUCCESS');
    expect(r.out.find((l) => l.startsWith('explore: '))).toMatch(/^explore: 50 iterations, [\d,]+ schedule points, [\d,]+ decisions .*, 0 finds$/);
    expect(r.out.some((l) => /pct\(d=3\): n=2 actors, k=\d+ .*95% confidence .* needs [\d,]+ iterations/.test(l))).toBe(true);
    expect(files(c.dir)).toEqual([]);
  }, 30_000);

  it('--no-shrink writes only the find; --threads 2 finds it too', async () => {
    const { c, r } = await exploredNoShrink();
    expect(r.code).toBe(1);
    expect(files(c.dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(r.out.filter((l) => l.startsWith('replay: '))).toEqual([`replay: ${DEFAULT_CLI} replay ${join(c.dir, files(c.dir).find((f) => f.endsWith('.json'))!)}`]);
    const t = ctx();
    const rt = await cli(t, [...BUSTED, '--threads', '2', '--no-shrink']);
    expect(rt.code).toBe(1);
    expect(rt.out.some((l) => l.startsWith('!!! FOUND LOCK-WAKE'))).toBe(true);
    expect(rt.out.find((l) => l.startsWith('speed: '))).toMatch(/on 2 threads/);
  }, 60_000);

  it.each([
    [['--perturb', 'high'], /--perturb does not apply to explore/],
    [['--strategy', 'dfs'], /--strategy: 'dfs' is not one of pct, random, portfolio/],
    [['--depth', '0'], /--depth must be between 1 and 20/],
    [['--bogus'], /unknown flag --bogus for 'explore'/],
    [['--lock', 'nope'], /--lock: 'nope' is not one of/],
    [['--threads', '99'], /--threads must be between 1 and 16/],
  ])('usage error %j: exit 2, one line', async (args, why) => {
    const c = ctx();
    const r = await cli(c, ['explore', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(why);
  });
});

describe('replay and shrink of repro files', () => {
  it('bad files: exit 2 with a one-line reason, never a stack trace', async () => {
    const { c, name } = await withFind();
    const good = JSON.parse(readFileSync(join(c.dir, name), 'utf8'));
    const text = JSON.stringify(good);
    const bad: [string, string, RegExp][] = [
      ['truncated.json', text.slice(0, text.length / 2), /not valid JSON/],
      ['version.json', JSON.stringify({ ...good, version: 2 }), /version 2 is not supported/],
      ['scenario.json', JSON.stringify({ ...good, scenario: 'nonsense' }), /unknown scenario 'nonsense'/],
      ['sizes.json', JSON.stringify({ ...good, sizes: { ...good.sizes, pages: -5 } }), /sizes.pages must be a whole number >= 0/],
      ['tasks.json', JSON.stringify({ ...good, schedule: `${good.schedule} 17` }), /task 17 does not exist/],
      ['empty.json', '', /not valid JSON/],
    ];
    for (const [name, body, why] of bad) {
      writeFileSync(join(c.dir, name), body);
      for (const cmd of ['replay', 'shrink']) {
        const r = await cli(c, [cmd, name]);
        expect(r.code, `${cmd} ${name}`).toBe(2);
        expect(r.err, `${cmd} ${name}`).toHaveLength(1);
        expect(r.err[0], `${cmd} ${name}`).toMatch(why);
        expect(r.err[0]).not.toMatch(/\n|    at /);
      }
    }
    for (const args of [['replay'], ['replay', 'a.json', 'b.json'], ['replay', 'missing.json'], ['shrink']]) {
      const r = await cli(c, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  }, 60_000);

  it('a file that no longer fails: replay says NOT REPRODUCED and exits 0; shrink has nothing to do', async () => {
    const { c, name } = await withFind();
    const good = JSON.parse(readFileSync(join(c.dir, name), 'utf8'));
    // the same schedule with a lock that wakes its waiters
    writeFileSync(join(c.dir, 'fixed.json'), JSON.stringify({ ...good, config: { ...good.config, lock: 'v5.9-rc6' } }));
    const r = await cli(c, ['replay', 'fixed.json']);
    expect(r.code).toBe(0);
    expect(r.out.some((l) => l.startsWith('NOT REPRODUCED: the run ended clean'))).toBe(true);
    expect(r.out.some((l) => l.startsWith('note: --lock v4.10 is now'))).toBe(false);
    // a file naming v4.10 that does not replay as written says what the name meant before
    writeFileSync(join(c.dir, 'old.json'), JSON.stringify({ ...good, config: { ...good.config, lock: 'v4.10' } }));
    const o = await cli(c, ['replay', 'old.json']);
    expect(o.out.some((l) => l.startsWith('NOT REPRODUCED'))).toBe(true);
    expect(o.out.filter((l) => l.startsWith('note: --lock v4.10 is now 4.10 as shipped (62906027091f)'))).toHaveLength(1);
    const s = await cli(c, ['shrink', 'fixed.json']);
    expect(s.code).toBe(0);
    expect(s.out[0]).toMatch(/^--- shrink: fixed\.json: .* expect=LOCK-WAKE /);
    expect(s.out[1]).toMatch(/^NOT REPRODUCED .*nothing to shrink/);
    // shrinking the real one writes *.min.json and keeps the invariant
    const m = await cli(c, ['shrink', name]);
    expect(m.code).toBe(1);
    expect(m.out[1]).toMatch(/^shrinking: the file reproduces LOCK-WAKE/);
    expect(m.out[2]).toMatch(/^shrunk LOCK-WAKE: \d+ -> \d+ steps/);
    expect(existsSync(join(c.dir, name.replace(/\.json$/, '.min.json')))).toBe(true);
    expect(m.out.at(-1)).toBe(`replay: ${DEFAULT_CLI} replay ${join(c.dir, name.replace(/\.json$/, '.min.json'))}`);
  }, 60_000);
});
