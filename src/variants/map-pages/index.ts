// ->map_pages variants: `--map-pages NAME` picks how fault-around maps page-cache pages. Each
// variant is one small file registered here; protocol code finds it through t.options['map-pages'].
//
// A map_pages protocol that changes the handshake with truncation (Linus's and Willy's proposals)
// also brings its truncate side: `truncateFolio`, which src/mm/truncate.ts runs instead of the
// mainline truncate_cleanup_folio() + filemap_remove_folio() when this variant is chosen.
// Self-test mutants (src/variants/mutants/) register here as hidden variants: `--map-pages NAME`
// runs them, listings do not show them.
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
import { v5_9 } from './v5_9.ts';
import { folio } from './folio.ts';
import { linusRecheck } from './linus-recheck.ts';
import { willyUptodate } from './willy-uptodate.ts';
import { mapNoRecheckMapping } from '../mutants/map-norecheck-mapping.ts';
import { mapNoPteRecheck } from '../mutants/map-nopte-recheck.ts';
import { truncateNoUnmap } from '../mutants/truncate-nounmap.ts';
import { linusRecheckStrictDel, willyUptodateStrictDel } from './strict-del.ts';
import { mapLinusRecheckFirst } from '../mutants/map-linus-recheck-first.ts';
import { truncateWillyMappedFirst } from '../mutants/truncate-willy-mapped-first.ts';
// matrix cells the derived ones do not cover well (the handshake window, the grow-back race)
import './cells.ts';

export interface MapPagesVariant {
  name: string;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** why that is the expected outcome, in a sentence or two (matrix cells, reports) */
  reasoning?: string;
  /** vma->vm_ops->map_pages over file indices [start, end), inside one page table. Returns
   * VM_FAULT_NOPAGE if vmf.index got mapped. */
  mapPages(t: Task, vmf: VmFault, start: number, end: number): Step<number>;
  /** The truncate side of the protocol, if it differs from mainline: truncate_cleanup_folio() +
   * filemap_remove_folio() + dropping the page cache's reference, for a page `t` holds locked
   * that is still in `file` (src/mm/truncate.ts truncateInodeFolio() calls it). */
  truncateFolio?(t: Task, pfn: number, file: number): Step;
  /** a self-test mutant or an experiment: accepted by --map-pages, not listed */
  hidden?: boolean;
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

/** Registered variant names; hidden ones (mutants) only when asked. */
export function mapPagesNames(o: { hidden?: boolean } = {}): string[] {
  return [...MAP_PAGES.values()].filter((v) => o.hidden || !v.hidden).map((v) => v.name);
}

/** Only the hidden ones (a scenario option's hiddenChoices). */
export function mapPagesHiddenNames(): string[] {
  return [...MAP_PAGES.values()].filter((v) => v.hidden).map((v) => v.name);
}

/** The variant this task runs: t.options['map-pages'] (the scenario flag --map-pages lands in
 * cfg.extra, which drivers pass as task options) or t.options.mapPages; default mainline. */
export function mapPagesOf(t: Task): MapPagesVariant {
  return mapPagesVariant(String(t.options['map-pages'] ?? t.options.mapPages ?? DEFAULT_MAP_PAGES));
}

// (the variants whose modules sit in the import cycle through src/mm/memory.ts are functions:
// see linus-recheck.ts)
registerMapPages(mainline);
registerMapPages(patch4);
registerMapPages(v5_9);
registerMapPages(folio);
registerMapPages(linusRecheck());
registerMapPages(willyUptodate());
registerMapPages(mapNoRecheckMapping);
registerMapPages(mapNoPteRecheck);
registerMapPages(truncateNoUnmap);
registerMapPages(mapLinusRecheckFirst());
registerMapPages(truncateWillyMappedFirst());
registerMapPages(linusRecheckStrictDel());
registerMapPages(willyUptodateStrictDel());
