// The interleaving diagram: one column per actor (only actors that did something), one row per
// step, the step's label and values, the violating step marked; the same as a Markdown table.
import { describe, expect, it } from 'vitest';
import { diagramMarkdown, diagramText, cellText } from '../../src/report/diagram.ts';
import type { TraceEvent, Violation } from '../../src/sched/controlled.ts';

const ev = (step: number, task: number, label: string, page = -1, aux = 0, note = ''): TraceEvent => ({ step, task, label, page, aux, op: 0, note });
const trace: TraceEvent[] = [
  ev(1, 0, '(op start)'),
  ev(2, 0, 'PageLocked', 3, 1),
  ev(3, 2, '(op start)'),
  ev(4, 2, 'i_size_write'),
  ev(5, 2, 'unlock_page', 3, 0, 'wakes T0'),
  ev(6, 0, 'set_pte_at', 3, 1),
];
const ops = [[{ kind: 'map_pages', args: [2, 1, 4] }], [], [{ kind: 'truncate', args: [0, 4096] }]];
const roles = ['mapper', 'faulter', 'truncator'];
const v: Violation = { id: 'MAP-EOF', task: 0, op: 0, page: 3, values: [], message: 'PTE beyond EOF' };

describe('diagram', () => {
  it('text: columns per acting actor, one row per step, the violating step marked', () => {
    const lines = diagramText({ trace, roles, ops, violation: v, violationStep: 6 });
    const col2 = lines[0].indexOf('T2 truncator');
    expect(lines[0]).toMatch(/^step  T0 mapper +T2 truncator$/);
    expect(col2).toBeGreaterThan('step  == op 0: map_pages(2, 1, 4)'.length); // wide enough for column 1
    expect(lines[1]).toMatch(/^----  -+ +-+$/);
    expect(lines[1].lastIndexOf(' ') + 1).toBe(col2);
    expect(lines[2]).toBe('   1  == op 0: map_pages(2, 1, 4)');
    expect(lines[3]).toBe('   2  PageLocked  pfn 3 aux 1');
    expect(lines[4]).toBe(`   3${' '.repeat(col2 - 4)}== op 0: truncate(0, 4096)`);
    expect(lines[6]).toBe(`   5${' '.repeat(col2 - 4)}unlock_page  pfn 3  (wakes T0)`);
    expect(lines[7]).toMatch(/^   6  set_pte_at  pfn 3 aux 1 +<== MAP-EOF$/);
    expect(lines[7].indexOf('<==')).toBeGreaterThan(col2 + 'unlock_page  pfn 3  (wakes T0)'.length); // past every column
    expect(lines.at(-1)).toBe('MAP-EOF: PTE beyond EOF');
    expect(lines.join('\n')).not.toMatch(/faulter/); // an actor with no steps has no column
  });

  it('a whole-state finding after the last step gets its own row', () => {
    const lines = diagramText({ trace, roles, ops, violation: { ...v, task: -1 }, violationStep: 7 });
    expect(lines.filter((l) => l.includes('<=='))).toHaveLength(1);
    expect(lines.find((l) => l.includes('<=='))).toMatch(/^ +<== MAP-EOF \(whole-state check at the end\)$/);
  });

  it('markdown: a table with the same rows', () => {
    const md = diagramMarkdown({ trace, roles, ops, violation: v, violationStep: 6 });
    expect(md[0]).toBe('| step | T0 mapper | T2 truncator |');
    expect(md[1]).toBe('|---:|---|---|');
    expect(md[2]).toBe('| 1 | *== op 0: map_pages(2, 1, 4)* |  |');
    expect(md[6]).toBe('| 5 |  | `unlock_page`  pfn 3  (wakes T0) |');
    expect(md[7]).toBe('| 6 | **`set_pte_at`  pfn 3 aux 1** <== MAP-EOF |  |');
    expect(md.at(-1)).toBe('**MAP-EOF**: PTE beyond EOF');
  });

  it('cells: no page, no aux, notes in parentheses', () => {
    expect(cellText(ev(1, 0, 'inode_lock'), ops)).toBe('inode_lock');
    expect(cellText(ev(1, 0, '(woken)', 5), ops)).toBe('(woken)  pfn 5');
  });
});
