// junit.xml: one testcase per invariant the run checked, plus HUNG (the watchdog always runs).
// A testcase fails with the first violation's message; its body holds each violation's
// interleaving (up to MAX_DETAILED), so a CI page shows what raced without opening run.json.
import { endStateOf, type RunResult } from './result.ts';
import { INVARIANTS, type InvariantId } from '../kernel/invariants.ts';
import { interleavingText, pageFlagNames, violationLine } from './interleaving.ts';
import { reproductionOf } from './diagram.ts';

const MAX_DETAILED = 5;

/** XML 1.0 cannot carry most control characters even as references: show them as \xNN text.
 * Unpaired surrogates and U+FFFE/U+FFFF are not XML characters either. */
function clean(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function xmlText(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values keep tabs and newlines (as references: a parser would normalise them). */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

const attrs = (o: Record<string, string | number>) =>
  Object.entries(o).map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`).join('');

export function junitXml(r: RunResult): string {
  const roleOf = (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
  const ids = new Set<string>(r.invariantsChecked);
  ids.add('HUNG');
  for (const v of r.violations) ids.add(v.id);
  if (r.endReason === 'crash') ids.add('CRASH');

  const suite = `pagelock-stress.${r.config.scenario}.${r.config.lock}`;
  const secs = (r.elapsedMs / 1000).toFixed(3);
  const cases: string[] = [];
  let failures = 0, errors = 0;
  for (const id of ids) {
    const vs = r.violations.filter((v) => v.id === id);
    const head = `    <testcase${attrs({ classname: suite, name: id, time: secs })}>`;
    const desc = INVARIANTS[id as InvariantId] ?? '';
    let body = '';
    if (id === 'HUNG' && r.hung.length) {
      failures++;
      const first = r.hung[0];
      const msg = `task ${first.task} (${first.role}) op ${first.op}: ${first.state}` + (r.hung.length > 1 ? ` (and ${r.hung.length - 1} more)` : '');
      const text = r.hung.map((h) => `task ${h.task} (${h.role}) op ${h.op}: ${h.state}\n  page ${h.waitPage} flags ${pageFlagNames(h.pageFlags)}, owner ${h.owner < 0 ? 'none' : `task ${h.owner}`}${h.ownerState && !h.state.includes(h.ownerState) ? `: ${h.ownerState}` : ''}`).join('\n');
      body = `      <failure${attrs({ type: 'HUNG', message: msg })}>${xmlText(`${desc}\n\n${text}`)}</failure>\n`;
    } else if (id === 'CRASH' && (r.endReason === 'crash' || vs.length)) {
      errors++;
      const msg = vs.length ? violationLine(vs[0], roleOf) : r.notes.find((n) => /crash/i.test(n)) ?? 'a worker crashed';
      body = `      <error${attrs({ type: 'CRASH', message: msg })}>${xmlText(r.notes.join('\n'))}</error>\n`;
    } else if (vs.length) {
      failures++;
      const more = r.violationCount > r.violations.length || vs.length > 1 ? ` (${vs.length} recorded)` : '';
      const text = vs.slice(0, MAX_DETAILED).map((v) => `${violationLine(v, roleOf)}\n\n${interleavingText(v, roleOf)}`).join('\n\n');
      const rep = reproductionOf(r);
      const repText = rep && rep.violation === id && (rep.replay || rep.diagram?.length)
        ? `\n\nReproduced under the controlled driver:${rep.replay ? `\n${rep.replay}` : ''}${rep.diagram?.length ? `\n\n${rep.diagram.join('\n')}` : ''}` : '';
      body = `      <failure${attrs({ type: id, message: violationLine(vs[0], roleOf) + more })}>${xmlText(`${desc}\n\n${text}${repText}`)}</failure>\n`;
    }
    cases.push(body ? `${head}\n${body}    </testcase>` : head.replace(/>$/, '/>'));
  }
  // an unfinished run is not green: one error case says it did not run to its end
  const state = endStateOf(r);
  if (state === 'INTERRUPTED' || state === 'INCOMPLETE') {
    errors++;
    ids.add('END-STATE');
    const msg = state === 'INTERRUPTED' ? 'INTERRUPTED: stopped by a signal before its end' : 'INCOMPLETE: a checkpoint of a run that had not ended';
    cases.push(`    <testcase${attrs({ classname: suite, name: 'END-STATE', time: secs })}>\n      <error${attrs({ type: state, message: msg })}>${xmlText(msg)}</error>\n    </testcase>`);
  }
  const props = [
    ['seed', r.config.seed], ['commit', r.tool.commit], ['version', r.tool.version], ['node', r.tool.node],
    ['mode', r.mode], ['cores', String(r.cores)], ['workers', String(r.config.workers)], ['endReason', r.endReason],
    ['outcome', r.outcome], ['endState', state], ['config', JSON.stringify(r.config)],
  ].map(([k, v]) => `      <property${attrs({ name: k, value: v })}/>`);
  const counts = { tests: ids.size, failures, errors, skipped: 0, time: secs };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'pagelock-stress', ...counts })}>`,
    `  <testsuite${attrs({ name: suite, ...counts, timestamp: r.startedAt.replace(/Z$/, ''), hostname: 'localhost' })}>`,
    '    <properties>', ...props, '    </properties>',
    ...cases,
    `    <system-out>${xmlText(r.notes.join('\n'))}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
