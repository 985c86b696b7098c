// Issue 13 item 10: a violation's report shows the race. Every task whose recent steps touched
// the page (in the reporter's operation, or its last operation on the page) is merged from all
// flight rings into one interleaving, the partner's key step kept in a busy run;
// run --reproduce's replay command and shrunk diagram are in index.html and summary.md; messages
// name their values and do not say the reporter twice.
import { describe, expect, it } from 'vitest';
import type { FlightRecord, ViolationRecord } from '../../src/check/violations.ts';
import { valuesText } from '../../src/check/describe.ts';
import { INVARIANT_IDS, INVARIANT_VALUES, valueNames } from '../../src/kernel/invariants.ts';
import { MAX_VALS } from '../../src/shm/violations.ts';
import { renderHtml } from '../../src/report/html.ts';
import { summaryMarkdown } from '../../src/report/markdown.ts';
import { junitXml } from '../../src/report/junit.ts';
import { reproductionOf } from '../../src/report/diagram.ts';
import {
  interleaving, involvedTasks, keptFlight, MAX_ROWS, pageFlagNames, raceWindowStart, violationLine, wrappedRings,
} from '../../src/report/interleaving.ts';
import { flightEntriesFor } from '../../src/run/validate.ts';
import { PG_uptodate } from '../../src/shm/shm.ts';
import type { Reproduction, RunResult } from '../../src/report/result.ts';
import { fixtureRun } from '../helpers/report-fixture.ts';

const ROLES = ['mapper', 'faulter', 'truncator', 'reclaimer'];
const roleOf = (t: number) => ROLES[t] ?? '';

/** A patch4-shaped MAP-CACHE: task 0 maps page 22 after task 2 deleted it from the cache. */
function race(o: { partnerOnPage: boolean }): ViolationRecord {
  const steps: [number, string, number][] = [
    [0, 'PageLocked', 22], [0, 'folio_try_get', 22], [0, 'i_size_read', 22], [1, 'xas_load', -1],
    ...(o.partnerOnPage
      ? [[2, 'trylock_page', 22], [2, 'page_cache_delete', 22]] as [number, string, number][]
      : [[2, 'i_size_write', -1], [2, 'pte_offset_map_lock', -1]] as [number, string, number][]),
    [0, 'pte_offset_map_lock', 22], [0, 'set_pte_at', 22],
  ];
  const flight: FlightRecord[] = steps.map(([task, label, page], i) => ({ task, seq: 500 + i, label, page, aux: 6, op: 70 + task }));
  // task 3 ran long before: its ring ends before the window opens
  flight.unshift({ task: 3, seq: 100, label: 'shrink_page_list', page: 5, aux: 0, op: 9 });
  if (!o.partnerOnPage) flight.unshift({ task: 2, seq: 495, label: 'inode_lock', page: -1, aux: 6, op: 72 }); // before the window
  return {
    id: 'MAP-CACHE', task: 0, op: 70, page: 22, seq: 508,
    page_state: { flags: PG_uptodate, refcount: 1, mapcount: 0, mapping: 0, index: 6, owner: 0 },
    values: [0, 6, 2],
    message: 'every file PTE maps a page that is in the page cache at that file and index: task 0 (mapper) op 70, page 22 [flags PG_uptodate, refcount 1, mapcount 0, mapping 0, index 6, owner none]; file 0, index 6, vma 2',
    flight: flight.sort((a, b) => a.seq - b.seq),
  };
}

const DIAGRAM = [
  'step  T0 mapper              T2 truncator',
  '----  -------------------    ------------------',
  '   1  == op 0: map_pages(2, 2, 7)',
  '   2                         == op 0: truncate(0, 7750)',
  '   3                         page_cache_delete  pfn 4 aux 2',
  '   4  set_pte_at  pfn 4 aux 2                     <== MAP-CACHE',
];

function runWith(v: ViolationRecord, reproduction?: Reproduction): RunResult {
  const r = fixtureRun();
  r.config = { ...r.config, scenario: 'map-truncate' };
  r.tasks = r.tasks.slice(0, 4).map((t, i) => ({ ...t, task: i, role: ROLES[i] }));
  r.violations = [v];
  r.violationCount = 1;
  if (reproduction) r.reproduction = reproduction;
  return r;
}

const REPRO: Reproduction = {
  violation: 'MAP-CACHE', reproduced: true, repro: 'r/repro-free-x.min.json',
  replay: 'pagelock-stress replay r/repro-free-x.min.json', diagram: DIAGRAM, elapsedMs: 2700,
  lines: ['reproduce: MAP-CACHE reproduced ...', 'replay: pagelock-stress replay r/repro-free-x.min.json'],
};

describe('the report shows the race (issue 13 item 10)', () => {
  it('merges both tasks of a two-task race from all flight rings, in step order', () => {
    const v = race({ partnerOnPage: true });
    // 1 ran in the window but not on the page, 3 long before: neither is involved
    expect(involvedTasks(v)).toEqual([0, 2]);
    const rows = interleaving(v);
    expect(rows.map((f) => f.seq)).toEqual([...rows.map((f) => f.seq)].sort((a, b) => a - b));
    expect(rows.some((f) => f.task === 2 && f.label === 'page_cache_delete')).toBe(true);
    const html = renderHtml(runWith(v));
    const table = html.match(/<table class="flight-records">[\s\S]*?<\/table>/)![0];
    expect(table).toContain('<td>0 (mapper)</td>');
    expect(table).toContain('<td>2 (truncator)</td>');
    expect(table).toContain('page_cache_delete');
    const diagram = html.match(/<pre class="diagram">([\s\S]*?)<\/pre>/)![1];
    expect(diagram).toMatch(/T0 mapper .*T2 truncator/);
    expect(wrappedRings(v)).toEqual([]); // no ring is full: nothing was overwritten
  });

  it('says which rings no longer reach back to the window (a partner whose step on the page is gone)', () => {
    const v = race({ partnerOnPage: false });
    expect(involvedTasks(v)).toEqual([0]); // nobody else's step on the page is held
    expect(wrappedRings(v)).toEqual([]); // task 2's ring reaches back to #495, before the window
    // full rings (as long as the fullest one), task 2's starting inside the window: its step on the page is gone
    const pad = (t: number, n: number): FlightRecord[] => Array.from({ length: n }, (_, i) => ({ task: t, seq: 504 + i * 0.01, label: 'xas_load', page: -1, aux: 0, op: 72 }));
    const v2 = { ...v, flight: [...v.flight.filter((f) => f.seq !== 495 && f.task !== 2), ...pad(2, 5)].sort((a, b) => a.seq - b.seq) };
    expect(wrappedRings(v2)).toEqual([[2, 504]]);
    const md = summaryMarkdown(runWith(v2));
    expect(md).toMatch(/task 2 \(truncator\)'s ring holds its steps from #\d+ only/);
    expect(renderHtml(runWith(v2))).toContain('class="legend-note wrapped"');
  });

  it('a busy run: the reporter preempted for thousands of steps; the partner\'s page_cache_delete is shown, the noise is not', () => {
    // patch4's window: the mapper checks page->mapping, is preempted; the truncator deletes the
    // page and runs on for 3000 steps, the others churn on other pages and on this one long before
    const flight: FlightRecord[] = [];
    let seq = 1000;
    const step = (task: number, label: string, page: number, op: number) => flight.push({ task, seq: seq++, label, page, aux: 6, op });
    for (let i = 0; i < 2000; i++) step(i % 4, i % 3 ? 'xas_load' : 'PageLocked', i % 3 ? -1 : 22, 1 + Math.floor(i / 40)); // old history on the page
    for (const l of ['PageLocked', 'folio_try_get', 'xas_reload', 'PageUptodate', 'page->mapping', 'i_size_read']) step(0, l, 22, 70);
    for (let i = 0; i < 1500; i++) step(1 + (i % 3), 'xas_load', -1, 100 + Math.floor(i / 30));
    for (const l of ['folio_try_get', 'trylock_page', 'page_cache_delete', 'put_page']) step(2, l, 22, 200);
    for (let i = 0; i < 9000; i++) step(1 + (i % 3), i % 2 ? 'xas_load' : 'pte_offset_map_lock', -1, 300 + Math.floor(i / 30));
    step(0, 'pte_offset_map_lock', 22, 70);
    step(0, 'set_pte_at', 22, 70);
    const v: ViolationRecord = { ...race({ partnerOnPage: true }), seq: seq - 1, flight };
    expect(raceWindowStart(v)).toBe(3000); // the mapper's operation, not the first step on the page (#1000)
    expect(involvedTasks(v)).toEqual([0, 1, 2, 3]); // each touched the page in its last operation on it
    const rows = interleaving(v);
    expect(rows.length).toBeLessThanOrEqual(MAX_ROWS);
    expect(rows.some((f) => f.task === 2 && f.label === 'page_cache_delete')).toBe(true);
    for (const l of ['PageLocked', 'page->mapping', 'set_pte_at']) expect(rows.some((f) => f.task === 0 && f.op === 70 && f.label === l), l).toBe(true);
    expect(rows.filter((f) => f.page !== 22).length).toBeLessThanOrEqual(4 * 3); // only the last steps of each partner
    // what a violation keeps (run.json): bounded, and the same report from it
    const kept = keptFlight(v);
    expect(kept.length).toBeLessThan(400);
    const k: ViolationRecord = { ...v, flight: kept };
    expect(interleaving(k)).toEqual(rows);
    expect(involvedTasks(k)).toEqual(involvedTasks(v));
    expect(wrappedRings(k)).toEqual(wrappedRings(v));
    // rings: thousands of entries for a few tasks, bounded in total for many
    expect(flightEntriesFor(5)).toBe(4096);
    expect(flightEntriesFor(9)).toBe(2048); // a power of two (the ring wraps with a mask)
    expect(flightEntriesFor(257) * 257).toBeLessThanOrEqual(32_768 + 64 * 257);
    expect(flightEntriesFor(10_000)).toBe(64);
  });

  it('shows the shrunk diagram and the replay command from run --reproduce', () => {
    const r = runWith(race({ partnerOnPage: true }), REPRO);
    const html = renderHtml(r);
    const shrunk = html.match(/<pre class="diagram shrunk" id="shrunk-diagram">([\s\S]*?)<\/pre>/)![1];
    expect(shrunk).toContain('T0 mapper');
    expect(shrunk).toContain('T2 truncator');
    expect(shrunk).toContain('&lt;== MAP-CACHE');
    expect(html).toContain('<pre class="replay" id="replay-command">pagelock-stress replay r/repro-free-x.min.json</pre>');
    // inside the violation's own section
    const section = html.match(/<section class="violation" id="violation-0">[\s\S]*?<\/section>\n<\/section>/)![0];
    expect(section).toContain('id="shrunk-diagram"');
    const md = summaryMarkdown(r);
    expect(md).toContain('#### Reproduction (run --reproduce)');
    expect(md).toContain('pagelock-stress replay r/repro-free-x.min.json');
    expect(md).toContain(DIAGRAM[5]);
    expect(md).not.toContain('### reproduction'); // not repeated as raw JSON under Extra
    const xml = junitXml(r);
    expect(xml).toContain('Reproduced under the controlled driver:\npagelock-stress replay r/repro-free-x.min.json');
    expect(xml).toContain('&lt;== MAP-CACHE');
  });

  it('reads the reproduction older run.json files keep in extra (the replay line from what was printed)', () => {
    const r = runWith(race({ partnerOnPage: true }));
    r.extra = { reproduction: { violation: 'MAP-CACHE', reproduced: true, repro: 'x.min.json', lines: ['reproduce: ok', 'replay: npm run stress -- replay x.min.json'] } };
    expect(reproductionOf(r)?.replay).toBe('npm run stress -- replay x.min.json');
    r.extra.reproduction = { violation: 'MAP-CACHE', reproduced: true, replay: 'replay: node /x/cli.js replay x.min.json' };
    expect(reproductionOf(r)?.replay).toBe('node /x/cli.js replay x.min.json'); // the command, not the terminal line
    r.extra.reproduction = { violation: 'MAP-CACHE', reproduced: true, repro: 'x.min.json', lines: ['reproduce: ok', 'replay: npm run stress -- replay x.min.json'] };
    const html = renderHtml(r);
    expect(html).toContain('id="replay-command">npm run stress -- replay x.min.json</pre>');
    expect(html).not.toContain('id="shrunk-diagram"');
    expect(reproductionOf({ extra: {} })).toBeNull();
  });

  it('a report written while the reproduction runs says so, not "not reproduced"', () => {
    const r = runWith(race({ partnerOnPage: true }));
    r.extra = { reproduction: { violation: 'MAP-CACHE', reproduced: false, status: 'running', budgetMs: 30_000 } };
    const html = renderHtml(r);
    expect(html).toContain('was still running when this report was written (at most 30 s)');
    expect(html).not.toContain('was not reproduced');
    expect(summaryMarkdown(r)).toContain('was still running when this report was written');
    r.extra = { reproduction: { violation: 'MAP-CACHE', reproduced: false, status: 'interrupted', lines: ['reproduce: interrupted by SIGINT before a schedule was found'] } };
    expect(renderHtml(r)).toContain('reproduce: interrupted by SIGINT before a schedule was found');
  });

  it('without a reproduction there is no reproduction block', () => {
    expect(renderHtml(runWith(race({ partnerOnPage: true })))).not.toContain('id="reproduction"');
  });
});

describe('violation messages name their values (issue 13 item 10)', () => {
  it('names values per invariant: file, index, vma', () => {
    expect(valuesText('MAP-CACHE', [1, 4, 3])).toBe('file 1, index 4, vma 3');
    expect(valuesText('MAP-CACHE', [1, 4])).toBe('file 1, index 4');
    expect(valuesText('LOCK-EXCL', [2, 1])).toBe('owner task 2, taker task 1');
    expect(valuesText('LOCK-UNLOCK', [0, -1])).toBe('flags 0, owner none');
    expect(valuesText('DEL-LOCKED', [1, -1, 3])).toBe('flags PG_locked, mapcount -1, shadow owner task 2');
    expect(valuesText('DEL-LOCKED', [0])).toBe('shadow owner none');
    expect(valuesText('DATA-STAMP', [1, 4, -1, -1])).toBe('file 1, index 4, stamp file -1, stamp index -1');
    expect(valuesText('DATA-STAMP', [1, 4, 7])).toBe('file 1, index 4, page cache pfn 7');
    expect(valuesText('FAULT-LOCKED', [3, 0])).toBe('file 3, index 0');
    expect(valuesText('CRASH', [])).toBe('');
  });

  it('every named shape fits the violation record', () => {
    for (const id of INVARIANT_IDS) {
      for (const shape of INVARIANT_VALUES[id] ?? []) {
        expect(shape.length).toBeLessThanOrEqual(MAX_VALS);
        expect(valueNames(id, shape.length)).toEqual(shape);
      }
    }
  });

  it('a line says the reporter once', () => {
    const v = race({ partnerOnPage: true });
    const line = violationLine(v, roleOf);
    expect(line.match(/task 0 \(mapper\) op 70/g)).toHaveLength(1);
    expect(line).toMatch(/^MAP-CACHE: every file PTE .*; file 0, index 6, vma 2$/);
    // a record without a message: the values still have names
    expect(violationLine({ ...v, message: '' }, roleOf)).toBe(`MAP-CACHE by task 0 (mapper) op 70: page 22 flags ${pageFlagNames(PG_uptodate)}, owner none; file 0, index 6, vma 2`);
    // a message that does not name the reporter keeps the 'by task' prefix
    expect(violationLine({ ...v, message: 'page 22 mapped after its deletion' }, roleOf)).toBe('MAP-CACHE by task 0 (mapper) op 70: page 22 mapped after its deletion');
    const html = renderHtml(runWith(v));
    const p = html.match(/<p class="message">([\s\S]*?)<\/p>/)![1];
    expect(p.match(/task 0 \(mapper\) op 70/g)).toHaveLength(1);
    expect(p).not.toContain('every file PTE'); // the heading says what the invariant means
  });
});
