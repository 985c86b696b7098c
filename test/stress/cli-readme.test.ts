// README.md must stay true: its quick start is exactly the two commands, and it documents every
// command and every common flag of `run` that the parser accepts (and no flag it does not).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { allRunFlags } from '../../src/run/validate.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README.md', () => {
  it('quick start: exactly npm ci && npm run stress, then npm ci && npm test', () => {
    const quick = readme.split(/^## /m).find((s) => s.startsWith('Quick start'))!;
    const cmds = [...quick.matchAll(/```sh\n([^`]*)```/g)].map((m) => m[1].trim());
    expect(cmds).toEqual(['npm ci && npm run stress', 'npm ci && npm test']);
  });

  it('lists every command', () => {
    for (const name of Object.keys(COMMANDS)) expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });

  it("documents exactly run's common flags", () => {
    const { common } = allRunFlags(buildRegistry());
    const table = readme.split(/^Flags of `run`/m)[1].split(/^## /m)[0];
    const documented = new Set([...table.matchAll(/^\| `--([a-z-]+)/gm)].map((m) => m[1]));
    const accepted = new Set(common.map((f) => f.name).filter((n) => n !== 'help'));
    expect([...documented].sort()).toEqual([...accepted].sort());
  });
});
