// Fault-path variants: `--fault-path NAME` picks the do_read_fault() / do_cow_fault() /
// do_shared_fault() (and, with patch 1, the __do_fault()) that handle_mm_fault() (src/mm/memory.ts)
// runs for a none PTE. Each variant is one small file registered here as a partial table of the
// fault paths (t.ops.fault); a mutant may replace another entry instead (fault-nolock: ->fault).
//
// The variants are the fault paths before and after patches 1-3 of the seed thread (Linus
// Torvalds, 13 Oct 2020, Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com;
// the code is in paths.ts). Each says what the tester must show for it (DESIGN.md "Variants and
// expected outcomes"): 'clean', the invariant ids a known-bad protocol must break, or 'open'.
// Self-test mutants register here as hidden variants: accepted by --fault-path, not listed.
import type { FaultPathVariant } from './variant.ts';
import { registerVariant, variantNames, variants, type Variant } from '../registry.ts';
import { patch1 } from './patch1.ts';
import { patch1to2 } from './patch1-2.ts';
import { patch1to3 } from './patch1-3.ts';
import { faultNolock } from './mutant-fault-nolock.ts';
import { faultKilledLocked } from './mutant-fault-killed-locked.ts';
import { wpCopyNoPteSame } from '../mutants/wp-copy-nopte-same.ts';
import { truncateNoZero } from '../mutants/truncate-nozero.ts';

export type { FaultPathVariant } from './variant.ts';

export const DEFAULT_FAULT_PATH = 'mainline';

/** `--fault-path mainline`: the fault paths of src/mm/memory.ts, as in 5.9 and, for what the seed
 * thread touched, still in mainline (patches 1-3 were not merged in that form, kernel-protocols
 * §0.2). It replaces nothing. */
export const MAINLINE_FAULT_PATH: Variant = {
  name: DEFAULT_FAULT_PATH,
  kind: 'fault-path',
  summary: '5.9 / mainline fault paths: __do_fault() returns the page locked; the COW source is locked across the copy and finish_fault()',
  source: 'mm/memory.c (5.9): __do_fault, do_read_fault, do_cow_fault, do_shared_fault',
  expected: 'clean',
  reasoning: 'the shipped protocol: a file PTE (and a COW copy of a file page) is installed only under the page lock, after the '
    + 'mapping and i_size were checked under it, which is what truncation relies on (kernel-protocols §4.3)',
  ops: () => ({}),
};

/** A fault-path variant as a partial table: do_read_fault(), do_cow_fault(), do_shared_fault(), and
 * __do_fault() if it brings one. */
export function faultPathOps(v: FaultPathVariant): Variant {
  const { doReadFault, doCowFault, doSharedFault, __doFault } = v;
  return {
    name: v.name, kind: 'fault-path', summary: v.summary, source: v.source, expected: v.expected, reasoning: v.reasoning,
    weight: v.weight, hidden: v.hidden,
    ops: () => ({ fault: { doReadFault, doCowFault, doSharedFault, ...(__doFault ? { __doFault } : {}) } }),
  };
}

export function registerFaultPath(v: FaultPathVariant): void {
  registerVariant(faultPathOps(v));
}

/** Registered names, mainline first; hidden ones (mutants) only when asked. */
export function faultPathNames(o: { hidden?: boolean } = {}): string[] {
  return [DEFAULT_FAULT_PATH, ...variantNames({ kind: 'fault-path', hidden: o.hidden })];
}

export function faultPathHiddenNames(): string[] {
  return variants({ kind: 'fault-path', hidden: true }).filter((v) => v.hidden).map((v) => v.name);
}

registerFaultPath(patch1);
registerFaultPath(patch1to2);
registerFaultPath(patch1to3);
registerVariant(faultNolock);
// the self-tests of the fault retry, COW-of-a-present-PTE and partial-last-page paths (--variant;
// their cells are map-truncate's, src/scenarios/map-truncate.ts)
registerVariant(faultKilledLocked);
registerVariant(wpCopyNoPteSame);
registerVariant(truncateNoZero);
