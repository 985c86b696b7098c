// docs/writing-a-variant.md "11. One example per table", literally: its blocks, pasted into one
// plug-in's register(api) (with the `calls` counter the section says they share), load through the
// plug-in loader, register one variant each, and explore clean on the scenarios that run them, all
// composed at once; the counting ones count.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPlugins } from '../../src/plugin/plugin.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { findVariant } from '../../src/variants/index.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GUIDE = readFileSync(join(ROOT, 'docs', 'writing-a-variant.md'), 'utf8');
const HEADING = '\n## 11. One example per table';
const tmp = mkdtempSync(join(tmpdir(), 'pls-guide-tables-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sectionBlocks(): string[] {
  const start = GUIDE.indexOf(HEADING);
  expect(start).toBeGreaterThan(0);
  const end = GUIDE.indexOf('\n## ', start + 1);
  const section = GUIDE.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const CALLS = Symbol.for('pagelock-stress.guide-calls');

/** A scenario's option defaults, as validateRun fills cfg.extra. */
function cfgFor(scenario: string, variants: string[], roles?: string): RunConfig {
  const s = getScenario(scenario);
  const extra: RunConfig['extra'] = {};
  for (const o of s.options ?? []) extra[o.name] = o.default;
  if (roles) extra.roles = roles;
  return { ...DEFAULTS, scenario, workers: 3, extra, variants };
}

describe('docs/writing-a-variant.md: one example per table', () => {
  const blocks = sectionBlocks();
  const names = blocks.map((b) => /name: '([^']+)'/.exec(b)?.[1] ?? '');

  it('has one short block per table but lock, each registering one variant', async () => {
    expect(blocks).toHaveLength(10);
    for (const b of blocks) expect(b.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    const tables = blocks.map((b) => /ops: \([a-z]*\) => \(\{ ([a-zA-Z]+):/.exec(b)?.[1]);
    expect(tables).toEqual(['pagecache', 'vmOps', 'fault', 'rmap', 'truncate', 'reclaim', 'writeback', 'collapse', 'fuse', 'migrate']);
    const file = join(tmp, 'my-variants.ts');
    writeFileSync(file, [
      `import type { PluginApi } from ${JSON.stringify(join(ROOT, 'src', 'plugin', 'plugin.ts'))};`,
      'export default function register(api: PluginApi): void {',
      '  let calls = 0;',
      `  (globalThis as Record<symbol, unknown>)[Symbol.for('pagelock-stress.guide-calls')] = () => calls;`,
      ...blocks,
      '}',
      '',
    ].join('\n'));
    await loadPlugins([file]);
    for (const n of names) expect(findVariant(n)?.kind, n).toBe('variant');
  }, 60_000);

  const runs: [string, string[], string?][] = [
    ['map-truncate', ['count-find-get-page', 'late-fault', 'mainline-finish-fault', 'slow-zap', 'count-truncate-folio', 'count-reclaimed']],
    ['writeback', ['late-clean-for-io']],
    ['collapse', ['count-collapses']],
    ['fuse-write', ['count-fill-write-pages']],
    ['map-truncate', ['count-migrated'], 'mapper,faulter,migrator'],
  ];
  for (const [scenario, variants, roles] of runs) {
    it(`${scenario}${roles ? ` (${roles})` : ''} explores clean with ${variants.join(', ')}`, () => {
      const calls = (globalThis as Record<symbol, () => number>)[CALLS];
      expect(calls, 'the plug-in loaded').toBeTypeOf('function');
      const before = calls();
      const cfg = cfgFor(scenario, variants, roles);
      const r = explore({
        scenario: getScenario(scenario), cfg, lock: makeLock(cfg.lock), strategies: [{ kind: 'pct', depth: 3 }],
        iterations: 60, opsPerActor: 4, seed: '1',
      });
      expect(r.finds.map((f) => `${f.violation.id}: ${f.violation.message}`)).toEqual([]);
      if (scenario === 'map-truncate' || scenario === 'fuse-write') expect(calls()).toBeGreaterThan(before);
    }, 30_000);
  }
});
