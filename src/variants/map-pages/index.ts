// ->map_pages variants: `--map-pages NAME` picks how fault-around maps page-cache pages. Each
// variant is one small file registered here as a partial table (src/variants/registry.ts): the
// entries it really changes — vma->vm_ops->map_pages, or only next_uptodate_page() when the loop is
// mainline's (patch 4) — and, for a protocol that changes the handshake with truncation (Linus's
// and Willy's proposals), its truncate side as the truncate and page-cache entries it changes
// (truncate_cleanup_folio(), filemap_remove_folio()).
// Self-test mutants (src/variants/mutants/) register here as hidden variants: `--map-pages NAME`
// runs them, listings do not show them.
//
// The older path-specific form, MapPagesVariant (a whole mapPages and optionally a whole
// `truncateFolio` in place of truncate_inode_folio()'s tail), is what plug-ins register through
// registerMapPages(); mapPagesOps() turns it into a partial table.
//
// A variant says what the tester must show for it (DESIGN.md "Variants and expected outcomes"):
// 'clean' (no violation allowed), the invariant ids a known-bad protocol is expected to break
// (the run fails if none of them is caught), or 'open'.
import type { MapPagesVariant } from './variant.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import { pageInFile } from '../../mm/truncate.ts';
import { registerVariant, variantNames, variants, type Variant } from '../registry.ts';
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

export type { MapPagesVariant } from './variant.ts';

export const DEFAULT_MAP_PAGES = 'mainline';

/** `--map-pages mainline`: the landed filemap_map_pages() (5.12+, f9ce0be71d1f; current
 * next_uptodate_folio() order): every page is trylocked, and mapping / uptodate / i_size are
 * re-checked under the page lock. It replaces nothing. */
export const MAINLINE_MAP_PAGES: Variant = {
  name: DEFAULT_MAP_PAGES,
  kind: 'map-pages',
  summary: 'filemap_map_pages as landed in 5.12+: trylock each page, re-check mapping, uptodate and i_size under the page lock',
  source: 'f9ce0be71d1f "mm: Cleanup faultaround and finish_fault() codepaths"; mm/filemap.c next_uptodate_folio()',
  expected: 'clean',
  reasoning: 'what runs today: the trylock + mapping/uptodate/i_size re-checks under the page lock serialise every PTE install with truncation (kernel-protocols §4.3)',
  ops: () => ({}),
};

/** A ->map_pages variant as a partial table: its mapPages, and its truncate side in place of
 * truncate_inode_folio()'s tail (after the mapping re-check). */
export function mapPagesOps(v: MapPagesVariant): Variant {
  const { mapPages, truncateFolio } = v;
  return {
    name: v.name, kind: 'map-pages', summary: v.summary, source: v.source, expected: v.expected, reasoning: v.reasoning,
    hidden: v.hidden,
    ops: () => ({
      vmOps: { mapPages },
      ...(truncateFolio
        ? {
          truncate: {
            *truncateInodeFolio(t: Task, pfn: number, file: number, index: number): Step {
              if (pageInFile(t, pfn, file, index)) yield* truncateFolio(t, pfn, file);
            },
          },
        }
        : {}),
    }),
  };
}

export function registerMapPages(v: MapPagesVariant): void {
  registerVariant(mapPagesOps(v));
}

/** Registered variant names, mainline first; hidden ones (mutants) only when asked. */
export function mapPagesNames(o: { hidden?: boolean } = {}): string[] {
  return [DEFAULT_MAP_PAGES, ...variantNames({ kind: 'map-pages', hidden: o.hidden })];
}

/** Only the hidden ones (a scenario option's hiddenChoices). */
export function mapPagesHiddenNames(): string[] {
  return variants({ kind: 'map-pages', hidden: true }).filter((v) => v.hidden).map((v) => v.name);
}

registerVariant(patch4);
registerVariant(v5_9);
registerVariant(folio);
registerVariant(linusRecheck);
registerVariant(willyUptodate);
registerVariant(mapNoRecheckMapping);
registerVariant(mapNoPteRecheck);
registerVariant(truncateNoUnmap);
registerVariant(mapLinusRecheckFirst);
registerVariant(truncateWillyMappedFirst);
registerVariant(linusRecheckStrictDel);
registerVariant(willyUptodateStrictDel);
