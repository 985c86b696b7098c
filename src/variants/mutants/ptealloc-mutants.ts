// PTE tables allocated on demand (--pte-alloc, src/mm/pgtable.ts), allocation falling into direct
// reclaim, GUP's FOLL_NOWAIT fault (FAULT_FLAG_RETRY_NOWAIT): their self-test mutants, registered
// hidden (--variant NAME accepts them), and the matrix cells (PTE_ALLOC_CELLS, registered by
// src/matrix).
import { registerVariant } from '../registry.ts';
import type { CellSpec } from '../../kernel/cells.ts';
import { pteAllocUnderLock } from './pte-alloc-under-lock.ts';
import { pmdInstallNoRecheckMutant } from './pmd-install-norecheck.ts';
import { rmapUnmapStalePte } from './rmap-unmap-stale-pte.ts';

registerVariant(pteAllocUnderLock);
registerVariant(pmdInstallNoRecheckMutant);
registerVariant(rmapUnmapStalePte);

export const PTE_ALLOC_CELLS: readonly CellSpec[] = [];
