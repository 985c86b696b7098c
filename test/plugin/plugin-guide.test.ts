// docs/writing-a-variant.md, followed literally: its plug-in code block is saved where the guide's
// commands expect it, and the guide's own command lines are run with the compiled CLI: list shows
// the variant, run and explore catch it, replay replays the find, the matrix grades it PASS.
import { describe, expect, it, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const GUIDE = readFileSync(join(ROOT, 'docs', 'writing-a-variant.md'), 'utf8');
const CLI = join(ROOT, 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pls-guide-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fenced blocks of one section (from its `## ` heading to the next). */
function blocks(heading: string, lang: string): string[] {
  const start = GUIDE.indexOf(`\n## ${heading}`);
  expect(start, heading).toBeGreaterThan(0);
  const end = GUIDE.indexOf('\n## ', start + 1);
  const section = GUIDE.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** The guide's command lines that use the example plug-in, as argv (the 'pagelock-stress' dropped). */
function commands(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of GUIDE.split('\n')) {
    if (!line.startsWith('pagelock-stress ') || !line.includes('--plugin docs/examples/plugin-patch4-copy.ts')) continue;
    const argv = line.trim().split(/\s+/).slice(1);
    out.set(argv[0], argv);
  }
  return out;
}

interface Ran { code: number | null; stdout: string; stderr: string }
function cli(args: string[], timeoutMs = 90_000): Promise<Ran> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: tmp, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
  });
}

describe('docs/writing-a-variant.md, literally', () => {
  const [code] = blocks('4. The plug-in', 'ts');
  const cmds = commands();
  // where the guide's commands look for it, relative to the directory they are run in
  mkdirSync(join(tmp, 'docs', 'examples'), { recursive: true });
  writeFileSync(join(tmp, 'docs', 'examples', 'plugin-patch4-copy.ts'), code);

  it('the guide shows the example file as it is', () => {
    expect(code).toBe(readFileSync(join(ROOT, 'docs', 'examples', 'plugin-patch4-copy.ts'), 'utf8'));
    expect([...cmds.keys()].sort()).toEqual(['explore', 'list', 'matrix', 'replay', 'run']);
  });

  // the two tests below run at once (each mostly waits for its command lines; neither changes
  // the file the other's commands load)
  it.concurrent('list shows it; run and explore catch it; replay replays the find', async () => {
    const [list, run, explore] = await Promise.all([cli(cmds.get('list')!), cli(cmds.get('run')!), cli(cmds.get('explore')!)]);
    expect(list.code, list.stderr).toBe(0);
    const shown = blocks('6. Run it', '').find((b) => b.includes('Registered by plug-ins'))!.split('\n').filter((l) => l.startsWith('  map-pages'));
    expect(shown).toHaveLength(1);
    expect(list.stdout).toContain(shown[0]);

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^End of test: FAILURE .*(MAP-CACHE|MAP-EOF|DATA-STAMP|DEL-LOCKED)/m);

    expect(explore.code, explore.stdout + explore.stderr).toBe(1);
    expect(explore.stdout).toMatch(/^(MAP-CACHE|MAP-EOF|DATA-STAMP|DEL-LOCKED): /m);
    const repro = /^replay: node \S+ replay (\S+)(?: --plugin \S+)*$/m.exec(explore.stdout)?.[1];
    expect(repro, explore.stdout).toBeDefined();
    // the guide's replay line, with the file this exploration wrote
    const replay = cmds.get('replay')!.map((a) => (a.startsWith('reports/.../') ? repro! : a));
    const r = await cli(replay);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/set_pte_at/);
  }, 120_000);

  it.concurrent('the matrix grades it: the derived cell, and the cell the guide adds with registerCell', async () => {
    const m = await cli(cmds.get('matrix')!);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    expect(m.stdout).toMatch(/\[PASS\] map-truncate\/patch4-copy \(free\): caught (MAP-CACHE|MAP-EOF|DATA-STAMP|DEL-LOCKED)/);
    expect(m.stdout).toMatch(/\[PASS\] map-truncate\/patch4-copy \(controlled\): caught (MAP-CACHE|MAP-EOF|DATA-STAMP|DEL-LOCKED)/);
    expect(m.stdout).toMatch(/^End of matrix: SUCCESS \(2 PASS, 0 OPEN, 0 FAIL\)/m);

    // section 8's registerCell snippet, added to the plug-in's register function (in a copy of
    // its own, so the commands of the test above still load the guide's file as it is)
    const snippet = blocks('8. Add it to the matrix', 'ts').find((b) => b.includes('api.registerCell('))!;
    const withCell = code.replace(/\n}\n$/, `\n${snippet}}\n`);
    expect(withCell).not.toBe(code);
    writeFileSync(join(tmp, 'docs', 'examples', 'plugin-patch4-copy-cell.ts'), withCell);
    const c = await cli(['matrix', '--plugin', 'docs/examples/plugin-patch4-copy-cell.ts', '--cells', 'map-truncate/patch4-copy-1vma', '--mode', 'controlled', '--budget', '5s', '--regressions', 'none']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(c.stdout).toMatch(/\[PASS\] map-truncate\/patch4-copy-1vma \(controlled\): clean: nothing seen/);
  }, 120_000);
});
