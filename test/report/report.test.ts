import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, ensureWritableDir } from '../../src/report/atomic.ts';
import { junitXml, xmlAttr, xmlText } from '../../src/report/junit.ts';
import { summaryMarkdown } from '../../src/report/markdown.ts';
import { interleaving, involvedTasks, pageFlagNames } from '../../src/report/interleaving.ts';
import { writeReports } from '../../src/report/write.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { result, violation } from '../helpers/cli-context.ts';

/** A strict well-formedness check for the XML we write: one root, balanced tags, quoted
 * attributes, only the five entities and numeric references, no characters XML 1.0 forbids. */
function checkXml(xml: string): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(xml);
  if (bad) throw new Error(`forbidden character U+${bad[0].charCodeAt(0).toString(16)}`);
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/y;
  const entities = (text: string) => {
    for (const amp of text.matchAll(/&([^;&]*)(;?)/g))
      if (!amp[2] || !/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(amp[1])) throw new Error(`bad entity ${amp[0]}`);
  };
  const stack: string[] = [];
  let roots = 0;
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === '<') {
      tag.lastIndex = pos;
      const m = tag.exec(body);
      if (!m) throw new Error(`bad markup at ${pos}: ${body.slice(pos, pos + 40)}`);
      entities(m[3]);
      if (m[1]) {
        if (stack.pop() !== m[2]) throw new Error(`unbalanced </${m[2]}>`);
      } else {
        if (!stack.length) roots++;
        if (!m[4]) stack.push(m[2]);
      }
      pos = tag.lastIndex;
    } else {
      const next = body.indexOf('<', pos);
      const text = body.slice(pos, next < 0 ? body.length : next);
      if (!stack.length && text.trim()) throw new Error('text outside the root');
      entities(text);
      pos += text.length;
    }
  }
  if (stack.length) throw new Error(`unclosed ${stack.join(',')}`);
  if (roots !== 1) throw new Error(`${roots} roots`);
}

const cfg = { ...DEFAULTS, scenario: 'locks', extra: { 'map-pages': 'mainline' } };

describe('xml escaping', () => {
  it('escapes markup and quotes, keeps tabs and newlines in attributes', () => {
    expect(xmlText(`a<b>&c"d'e`)).toBe(`a&lt;b&gt;&amp;c"d'e`);
    expect(xmlAttr(`a<b>&c"d'e\tf\ng`)).toBe('a&lt;b&gt;&amp;c&quot;d&apos;e&#9;f&#10;g');
  });
  it('renders characters XML cannot hold as visible text', () => {
    expect(xmlText('x\u0000y\u001bz\uFFFF')).toBe('x\\x00y\\x1bz\\xffff');
    expect(xmlText('lone \uD800 surrogate, pair \uD83D\uDE00 ok')).toBe('lone \\xd800 surrogate, pair \uD83D\uDE00 ok');
  });
  it('the checker itself rejects broken XML (so the tests below can fail)', () => {
    expect(() => checkXml('<a><b></a>')).toThrow();
    expect(() => checkXml('<a x="1 < 2"/>')).toThrow();
    expect(() => checkXml('<a>fish & chips</a>')).toThrow();
    expect(() => checkXml('<a>\u0001</a>')).toThrow();
    expect(() => checkXml('<a/><b/>')).toThrow();
    checkXml('<?xml version="1.0"?>\n<a x="&quot;"><b>t &amp; &#10;</b><c/></a>\n');
  });
});

describe('junit.xml', () => {
  it('one testcase per invariant checked plus HUNG, all passing on a clean run', () => {
    const xml = junitXml(result(cfg));
    checkXml(xml);
    const names = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]);
    expect(names).toEqual(['LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'HUNG']);
    expect(xml).toContain('tests="4" failures="0" errors="0"');
    expect(xml).not.toContain('<failure');
  });

  it('a violation fails its testcase with the message and the interleaving, escaped', () => {
    const nasty = `owner <task 2> & "friends" 'quoted' \u0007bell\u0000nul`;
    const r = result(cfg, {
      outcome: 'FAILURE', endReason: 'violation', violationCount: 2,
      violations: [violation({ message: nasty }), violation({ id: 'LOCK-UNLOCK', message: 'unlock of an unlocked page' })],
    });
    const xml = junitXml(r);
    checkXml(xml);
    expect(xml).toContain('tests="4" failures="2"');
    const excl = /<testcase [^>]*name="LOCK-EXCL"[^>]*>\s*<failure type="LOCK-EXCL" message="([^"]*)">([^<]*)<\/failure>/.exec(xml);
    expect(excl).not.toBeNull();
    expect(excl![1]).toContain('owner &lt;task 2&gt; &amp; &quot;friends&quot; &apos;quoted&apos; \\x07bell\\x00nul');
    expect(excl![2]).toMatch(/seq\s+task\s+op\s+kernel step\s+page\s+aux/);
    expect(excl![2]).toContain('test_and_set_bit_lock');
  });

  it('a hung task fails HUNG naming waiter and owner', () => {
    const r = result(cfg, {
      outcome: 'FAILURE', endReason: 'hung',
      hung: [{ task: 1, role: 'locker', op: 9, state: 'waiting on page 4 (PG_locked|PG_waiters)', waitPage: 4, pageFlags: 0x81, owner: 0, ownerState: 'running op 3' }],
    });
    const xml = junitXml(r);
    checkXml(xml);
    expect(xml).toMatch(/name="HUNG"[^>]*>\s*<failure type="HUNG" message="task 1 \(locker\) op 9: waiting on page 4/);
    expect(xml).toContain('page 4 flags PG_locked|PG_waiters, owner task 0: running op 3');
  });

  it('a crash is an error testcase', () => {
    const xml = junitXml(result(cfg, { outcome: 'FAILURE', endReason: 'crash', notes: ['crash: Error: <boom>'] }));
    checkXml(xml);
    expect(xml).toMatch(/name="CRASH"[^>]*>\s*<error type="CRASH" message="crash: Error: &lt;boom&gt;">/);
    expect(xml).toContain('errors="1"');
  });
});

describe('summary.md and the interleaving', () => {
  it('keeps the steps on the page and the last steps of each involved task', () => {
    const flight = [];
    let seq = 0;
    for (let i = 0; i < 20; i++) flight.push({ task: 0, seq: seq++, label: `far_${i}`, page: 50, aux: 0, op: 1 }); // uninvolved task
    for (let i = 0; i < 10; i++) flight.push({ task: 1, seq: seq++, label: `t1_${i}`, page: i === 2 ? 3 : 60, aux: 0, op: 2 });
    flight.push({ task: 2, seq: seq++, label: 'unlock_page', page: 3, aux: 0, op: 5 });
    const v = violation({ task: 1, page: 3, page_state: { flags: 1, refcount: 1, mapcount: -1, mapping: 0, index: -1, owner: 3 }, flight });
    expect(involvedTasks(v)).toEqual([1, 2]);
    const rows = interleaving(v).map((f) => f.label);
    expect(rows).toEqual(['t1_2', 't1_6', 't1_7', 't1_8', 't1_9', 'unlock_page']);
  });

  it('summary has outcome, parameters, stats per role and task, the interleaving table', () => {
    const md = summaryMarkdown(result(cfg, {
      outcome: 'FAILURE', violationCount: 1, violations: [violation({ message: 'a | pipe' })],
    }));
    expect(md).toMatch(/^# pagelock-stress: FAILURE/);
    expect(md).toContain('| seed | 1 |');
    expect(md).toContain('| durationMs | 5000 ms |');
    expect(md).toContain('| map-pages (scenario) | mainline |');
    expect(md).toContain('## Stats per role');
    expect(md).toMatch(/\| locker \| 2 \| 22 \| 10 \| 12 \| 22 \| 3 \|/);
    expect(md).toContain('| seq | task | op | kernel step | page | aux |');
    expect(md).toContain('| 3 | 2 | 4 | `test_and_set_bit_lock` | 3 | 0 |');
    expect(md).toContain('| LOCK-EXCL | FAILED (1) |');
    expect(md).toContain('a | pipe'); // in prose, not a table cell
  });

  it('names page flags', () => {
    expect(pageFlagNames(0x81)).toBe('PG_locked|PG_waiters');
    expect(pageFlagNames(0)).toBe('0');
  });
});

describe('atomic writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pls-report-'));
  it('writes the whole file and leaves no temporary behind', () => {
    const p = join(dir, 'a.txt');
    writeFileSync(p, 'old');
    writeFileAtomic(p, 'new content');
    expect(readFileSync(p, 'utf8')).toBe('new content');
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });
  it('a failed write throws, keeps the old target and cleans up', () => {
    const target = join(dir, 'isdir');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => writeFileAtomic(target, 'data')).toThrow();
    expect(readdirSync(target)).toEqual(['keep']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(() => writeFileAtomic(join(dir, 'missing', 'x'), 'data')).toThrow();
  });
  it('ensureWritableDir refuses a path under a file', () => {
    writeFileSync(join(dir, 'plain'), 'x');
    expect(() => ensureWritableDir(join(dir, 'plain', 'sub'))).toThrow(/ENOTDIR|EEXIST/);
    ensureWritableDir(join(dir, 'fresh', 'deep'));
    expect(readdirSync(join(dir, 'fresh', 'deep'))).toEqual([]);
  });
  it('writeReports writes run.json, summary.md and junit.xml', () => {
    const out = join(dir, 'run');
    mkdirSync(out);
    const r = result(cfg);
    const { written, errors } = writeReports(out, r);
    expect(errors).toEqual([]);
    expect(written).toEqual(['run.json', 'summary.md', 'junit.xml', 'index.html']);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toEqual(r);
    checkXml(readFileSync(join(out, 'junit.xml'), 'utf8'));
  });
});
