// Fault-path variants: `--fault-path NAME` picks the do_read_fault() / do_cow_fault() /
// do_shared_fault() that handle_mm_fault() (src/mm/memory.ts) runs for a none PTE. Each variant is
// one small file registered here; protocol code finds it through t.options['fault-path'].
//
// The variants are the fault paths before and after patches 1-3 of the seed thread (Linus
// Torvalds, 13 Oct 2020, Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com;
// the code is in paths.ts). Each says what the tester must show for it (DESIGN.md "Variants and
// expected outcomes"): 'clean', the invariant ids a known-bad protocol must break, or 'open'.
// Self-test mutants register here as hidden variants: accepted by --fault-path, not listed.
import type { InvariantId } from '../../check/invariants.ts';
import type { VmFault } from '../../mm/fault.ts';
import type { Step } from '../../sched/step.ts';
import type { Task } from '../../sched/task.ts';
import { mainline } from './mainline.ts';
import { patch1 } from './patch1.ts';
import { patch1to2 } from './patch1-2.ts';
import { patch1to3 } from './patch1-3.ts';
import { faultNolock } from './mutant-fault-nolock.ts';

export interface FaultPathVariant {
  name: string;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** share of the matrix budget (default by expectation, see src/variants/registry.ts) */
  weight?: number;
  /** why that is the expected outcome */
  reasoning: string;
  /** do_read_fault(): a read access (or a write to a private mapping's present PTE) */
  doReadFault(t: Task, vmf: VmFault): Step<number>;
  /** do_cow_fault(): a write to a private mapping */
  doCowFault(t: Task, vmf: VmFault): Step<number>;
  /** do_shared_fault(): a write to a shared mapping */
  doSharedFault(t: Task, vmf: VmFault): Step<number>;
  /** a self-test mutant: accepted by --fault-path, not listed */
  hidden?: boolean;
}

export const DEFAULT_FAULT_PATH = 'mainline';
export const FAULT_PATHS = new Map<string, FaultPathVariant>();

export function registerFaultPath(v: FaultPathVariant): void {
  if (FAULT_PATHS.has(v.name)) throw new Error(`fault-path variant '${v.name}' registered twice`);
  FAULT_PATHS.set(v.name, v);
}

export function faultPathVariant(name: string): FaultPathVariant {
  const v = FAULT_PATHS.get(name);
  if (!v) throw new Error(`unknown --fault-path '${name}' (known: ${faultPathNames({ hidden: true }).join(', ')})`);
  return v;
}

/** Registered names; hidden ones (mutants) only when asked. */
export function faultPathNames(o: { hidden?: boolean } = {}): string[] {
  return [...FAULT_PATHS.values()].filter((v) => o.hidden || !v.hidden).map((v) => v.name);
}

export function faultPathHiddenNames(): string[] {
  return [...FAULT_PATHS.values()].filter((v) => v.hidden).map((v) => v.name);
}

/** The variant this task runs: t.options['fault-path'] (the scenario flag lands in cfg.extra,
 * which the drivers pass as task options); default mainline. */
export function faultPathOf(t: Task): FaultPathVariant {
  return faultPathVariant(String(t.options['fault-path'] ?? DEFAULT_FAULT_PATH));
}

registerFaultPath(mainline);
registerFaultPath(patch1);
registerFaultPath(patch1to2);
registerFaultPath(patch1to3);
registerFaultPath(faultNolock);
