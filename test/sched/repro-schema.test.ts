// Repro files are checked against a schema (zod) and then against the scenario they name: every
// malformed file is one line and exit 2 from replay and shrink, never a run that "finds" a CRASH.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { testContext, type TestCtx } from '../helpers/cli-context.ts';
import { reproSchemaError } from '../../src/sched/repro.ts';

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

const BUSTED = ['explore', '--scenario', 'locks', '--lock', 'busted-nowake', '--workers', '3', '--pages', '2', '--iterations', '200', '--seed', '1', '--no-shrink'];

describe('repro file schema', () => {
  it('names the first bad field, its value, in one line', () => {
    expect(reproSchemaError({ format: 'pagelock-stress-repro', version: 1 })).toBe('scenario is missing');
    expect(reproSchemaError(null)).toMatch(/^the file: .*expected object.*\(got null\)$/);
    expect(reproSchemaError({ format: 'pagelock-stress-repro', version: 1, scenario: 'locks', config: [] })).toMatch(/^config must be an object/);
  });

  it('malformed files: replay and shrink exit 2 with one line (unknown op kind, bad fields)', async () => {
    const c = ctx();
    expect((await cli(c, BUSTED)).code).toBe(1);
    const name = readdirSync(c.dir).find((f) => f.startsWith('repro-') && f.endsWith('.json'))!;
    const good = JSON.parse(readFileSync(join(c.dir, name), 'utf8'));
    const withOp = (kind: unknown) => ({ ...good, actors: good.actors.map((a: { ops: unknown[] }, i: number) => (i === 0 ? { ...a, ops: [{ kind, args: [0, 1] }, ...a.ops.slice(1)] } : a)) });
    const bad: [string, unknown, RegExp][] = [
      ['kind.json', withOp('frobnicate'), /^pagelock-stress: actors\[0\]\.ops\[0\]\.kind 'frobnicate' is not an operation of a locker in scenario locks \(its operations: .*lock.*\)$/],
      ['kindnum.json', withOp(7), /actors\[0\]\.ops\[0\]\.kind must be an operation name \(got 7\)/],
      ['workers.json', { ...good, config: { ...good.config, workers: 300 } }, /config\.workers must be a whole number from 1 to 256 \(got 300\)/],
      ['lock.json', { ...good, config: { ...good.config, lock: 5 } }, /config\.lock must be a string \(got 5\)/],
      ['id.json', { ...good, violation: { ...good.violation, id: 'NOPE' } }, /violation\.id is not an invariant id \(got "NOPE"\)/],
      ['args.json', { ...good, actors: [{ ...good.actors[0], ops: [{ kind: 'lock', args: ['x'] }] }, ...good.actors.slice(1)] }, /actors\[0\]\.ops\[0\]\.args\[0\] must be a whole number/],
      ['actors.json', { ...good, actors: {} }, /actors must be a list/],
      ['nofield.json', { ...good, steps: undefined }, /steps is missing/],
    ];
    for (const [file, body, why] of bad) {
      writeFileSync(join(c.dir, file), JSON.stringify(body));
      for (const cmd of ['replay', 'shrink']) {
        const r = await cli(c, [cmd, file]);
        expect(r.code, `${cmd} ${file}: ${r.out.join('\n')}`).toBe(2);
        expect(r.err, `${cmd} ${file}`).toHaveLength(1);
        expect(r.err[0], `${cmd} ${file}`).toMatch(why);
        expect(r.err[0]).not.toMatch(/\n|    at /);
      }
    }
    // a real but rare kind is never refused: every kind the role runs replays
    const ok = await cli(c, ['replay', name]);
    expect(ok.code).toBe(1);
    expect(ok.out.some((l) => l.startsWith('REPRODUCED '))).toBe(true);
  }, 120_000);
});
