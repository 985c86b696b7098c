// ->map_pages variants: `--map-pages NAME` picks how fault-around maps page-cache pages. Each
// variant is one small file registered here; protocol code finds it through t.options.mapPages.
//
// A variant says what the tester must show for it (DESIGN.md "Variants and expected outcomes"):
// 'clean' (no violation allowed), the invariant ids a known-bad protocol is expected to break
// (the run fails if none of them is caught), or 'open'.
import type { InvariantId } from '../../check/invariants.ts';
import type { VmFault } from '../../mm/fault.ts';
import type { Step } from '../../sched/step.ts';
import type { Task } from '../../sched/task.ts';
import { mainline } from './mainline.ts';
import { patch4 } from './patch4.ts';

export interface MapPagesVariant {
  name: string;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** vma->vm_ops->map_pages over file indices [start, end), inside one page table. Returns
   * VM_FAULT_NOPAGE if vmf.index got mapped. */
  mapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number>;
}

export const DEFAULT_MAP_PAGES = 'mainline';
export const MAP_PAGES = new Map<string, MapPagesVariant>();

export function registerMapPages(v: MapPagesVariant): void {
  if (MAP_PAGES.has(v.name)) throw new Error(`map-pages variant '${v.name}' registered twice`);
  MAP_PAGES.set(v.name, v);
}

export function mapPagesVariant(name: string): MapPagesVariant {
  const v = MAP_PAGES.get(name);
  if (!v) throw new Error(`unknown --map-pages '${name}' (known: ${mapPagesNames().join(', ')})`);
  return v;
}

export function mapPagesNames(): string[] {
  return [...MAP_PAGES.keys()];
}

/** The variant this task runs: t.options['map-pages'] (the scenario flag --map-pages lands in
 * cfg.extra, which drivers pass as task options) or t.options.mapPages; default mainline. */
export function mapPagesOf(t: Task): MapPagesVariant {
  return mapPagesVariant(String(t.options['map-pages'] ?? t.options.mapPages ?? DEFAULT_MAP_PAGES));
}

registerMapPages(mainline);
registerMapPages(patch4);
