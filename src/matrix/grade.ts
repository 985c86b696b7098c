// Grading a cell's run against its expected outcome, the way jcstress grades outcomes
// (TestGrading.java: an outcome nobody declared fails) and locktorture's busted lock proves the
// checker works. A pure function of data, so the whole truth table is unit-tested.
//
//   expected      run showed                         verdict
//   clean         nothing                            PASS
//   clean         anything                           FAIL  (a violation in a protocol declared safe)
//   breaks [L]    an id in L (maybe others too)      PASS  (others noted)
//   breaks [L]    only ids outside L                 FAIL  (caught as the wrong thing)
//   breaks [L]    nothing within the budget          FAIL  (the detector regressed)
//   open          anything or nothing                OPEN  (findings reported)
//   any           CRASH, unless L lists it           FAIL  (a worker threw: the run proves nothing)
//   any           the run could not be made/finish   FAIL  (error)
//   any           interrupted before a conclusion    SKIPPED
//
// Why a known-bad cell caught only as an undeclared id FAILS rather than passing with a note: the
// cell exists to prove that the named invariant's detector works. If the mutant now surfaces only
// as something else (a HUNG instead of LOCK-EXCL, say), that detector may have gone blind and the
// other check is catching a downstream symptom, which is exactly the regression the cell guards;
// and a CRASH or a HUNG can be the harness breaking rather than the checker working. The cost is
// that a declaration must list every id the bug can surface as first, which its author knows
// (free mode keeps collecting for a moment after the first violation, so the consequences of one
// race usually arrive together). When an expected id IS caught, extra ids are consequences of
// the same bug in the same run and only get a note: failing on them would make the grade depend
// on which check happened to fire first.
import type { InvariantId } from '../kernel/invariants.ts';
import type { RunResult } from '../report/result.ts';
import { expectedText, isBreaks, type Expected } from './cells.ts';

export type Verdict = 'PASS' | 'FAIL' | 'OPEN' | 'SKIPPED';

/** What one run of a cell showed. */
export interface Observation {
  /** invariant ids the run reported, each once, in the order first seen (HUNG included) */
  found: readonly InvariantId[];
  /** the run could not be set up, or its engine failed: one line */
  error?: string;
  /** stopped by a signal before its budget was spent */
  interrupted?: boolean;
}

export interface Grade {
  verdict: Verdict;
  /** one line: why this verdict */
  reason: string;
  /** expected ids that were caught */
  caught: InvariantId[];
  /** ids seen that the expectation does not list (for clean: every id seen) */
  unexpected: InvariantId[];
  notes: string[];
}

const list = (ids: readonly string[]) => ids.join(', ');

export function grade(expected: Expected, o: Observation): Grade {
  const found = [...new Set(o.found)];
  const listed = isBreaks(expected) ? expected.breaks : [];
  const caught = found.filter((id) => listed.includes(id));
  const unexpected = found.filter((id) => !listed.includes(id));
  const g = (verdict: Verdict, reason: string, notes: string[] = []): Grade => ({ verdict, reason, caught, unexpected, notes });

  if (o.error) return g('FAIL', `error: ${o.error}`);
  if (found.includes('CRASH') && !listed.includes('CRASH'))
    return g('FAIL', `a worker threw (CRASH): the run says nothing about the protocol${found.length > 1 ? `; also showed ${list(found.filter((x) => x !== 'CRASH'))}` : ''}`);

  if (expected === 'clean') {
    if (found.length) return g('FAIL', `declared clean but showed ${list(found)}`);
    return o.interrupted ? g('SKIPPED', 'interrupted before its budget was spent (nothing seen so far)') : g('PASS', 'clean: nothing seen');
  }
  if (expected === 'open') {
    if (o.interrupted && !found.length) return g('SKIPPED', 'interrupted before its budget was spent (nothing seen so far)');
    return g('OPEN', found.length ? `showed ${list(found)}` : 'showed nothing within its budget');
  }
  if (caught.length) {
    const notes = unexpected.length ? [`also showed ${list(unexpected)} (not in its list: a consequence of the same bug?)`] : [];
    return g('PASS', `caught ${list(caught)}`, notes);
  }
  if (o.interrupted) return g('SKIPPED', 'interrupted before the bug was caught');
  if (found.length) return g('FAIL', `expected to break ${list(listed)} but showed only ${list(found)}: caught as the wrong invariant`);
  return g('FAIL', `${expectedText(expected)} was not caught within its budget: the detector regressed`);
}

/** The invariant ids a free-mode run reported, in the order first seen. */
export function runFound(r: RunResult): InvariantId[] {
  const ids: InvariantId[] = [];
  for (const v of r.violations) if (!ids.includes(v.id)) ids.push(v.id);
  if (r.hung.length && !ids.includes('HUNG')) ids.push('HUNG');
  // a crash the ring could not record (a worker that died before reporting)
  if (r.endReason === 'crash' && !ids.includes('CRASH')) ids.push('CRASH');
  return ids;
}
