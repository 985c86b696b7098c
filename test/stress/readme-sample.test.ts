// Issue 13 item 11: README's sample output comes from the default scenario (it was `locks` while
// the default is `map-truncate`); the example nightly workflow runs `matrix` with no fallback
// "until `matrix` exists".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRegistry } from '../../stress/commands/context.ts';

const root = join(import.meta.dirname, '..', '..');

describe('docs match the tool (issue 13 item 11)', () => {
  it("README's sample output is a run of the default scenario", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const sample = readme.slice(readme.indexOf('## Reading the output')).match(/```\n([\s\S]*?)```/)![1];
    const def = buildRegistry().defaultScenario;
    expect(sample).toMatch(new RegExp(`^--- Start of test: scenario=${def} `, 'm'));
    expect(sample).toMatch(new RegExp(`^${def}-torture: t=`, 'm'));
    expect(sample).toMatch(new RegExp(`^--- reports: reports/\\d{8}T\\d{6}Z-${def}-s1/`, 'm'));
  });

  it('the example nightly workflow runs matrix, with no pre-matrix fallback', () => {
    const yml = readFileSync(join(root, 'docs', 'examples', 'github-actions-nightly.yml'), 'utf8');
    expect(yml).not.toMatch(/until `matrix` exists/);
    expect(yml).not.toMatch(/help matrix/);
    expect(yml).toMatch(/stress -- matrix --shard/);
  });
});
