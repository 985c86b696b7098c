// The mainline operation tables: every replaceable kernel function of src/mm, as the kernel has it
// (mm/filemap.c, mm/memory.c, mm/rmap.c, mm/truncate.c, mm/vmscan.c, mm/page-writeback.c,
// mm/khugepaged.c, fs/fuse/file.c, mm/migrate.c). The lock table is chosen by name (src/locks); variants
// replace entries (src/variants).
import type { KernelOps, PageLockOps } from '../kernel/task.ts';
import {
  deleteFromPageCache, filemapAddFolio, filemapFault, filemapMapPages, filemapMapFolioRange, setPteRange, filemapRemoveFolio, findGetPage, lockFolioMaybeDropMmap,
  nextUptodatePage, pageCacheDelete, readPage,
} from './filemap.ts';
import {
  __doFault, doCowFault, doFaultAround, doReadFault, doSetPte, doSharedFault, doUserAddrFault, doWpPage, finishFault,
  handleMmFault, unmapMappingFolio, unmapMappingRange, wpPageCopy, zapPteRange,
} from './memory.ts';
import { doSetPmd } from './memory.ts';
import { zapHugePmd } from './huge_memory.ts';
import { doSwapPage } from './memory.ts';
import {
  folioMigrateMapping, migratePages, migrationEntryWait, moveToNewFolio, removeMigrationPtes, tryToMigrate, pmdMigrationEntryWait,
} from './migrate.ts';
import { pageAddRmap, pageRemoveRmap, tryToUnmap, zapPte } from './rmap.ts';
import { pmdInstall, pteAlloc } from './pgtable.ts';
import { freePgtables, mmapRegion } from './mmap.ts';
import {
  truncateCleanupFolio, truncateInodeFolio, truncateInodePagesRange, truncateInodePartialFolio, truncatePagecache, truncateSetsize, splitFolio, splitFreeze,
} from './truncate.ts';
import { removeMapping, shrinkPage, tryToFreePages } from './vmscan.ts';
import {
  clearPageDirtyForIo, doPageMkwrite, doWpPageShared, faultDirtySharedPage, filemapPageMkwrite, pageMkclean, setPageDirty,
  writebackPage,
} from './writeback.ts';
import { pageVmaMkcleanPmd } from './writeback.ts';
import { filemapFdatawaitRange, filemapWriteAndWaitRange, getUserPage, putUserPageDirty, writeCachePages } from './writeback.ts';
import { collapseFile, collapseFileFolio, collapseFinish, retractPageTables } from './khugepaged.ts';
import {
  fuseFillWritePages, fusePerformWrite, fuseSendWritePages, grabCachePageWriteBegin, iovIterCopyFromUserAtomic,
  iovIterFaultInReadable,
} from './fuse.ts';

/** The tables of src/mm, frozen: a variant never edits them, it composes over them. */
export const MAINLINE_MM: Omit<KernelOps, 'lock'> = Object.freeze({
  pagecache: Object.freeze({ findGetPage, filemapAddFolio, pageCacheDelete, filemapRemoveFolio, deleteFromPageCache, readPage, lockFolioMaybeDropMmap }),
  vmOps: Object.freeze({ fault: filemapFault, mapPages: filemapMapPages, nextUptodatePage, pageMkwrite: filemapPageMkwrite, filemapMapFolioRange, setPteRange }),
  fault: Object.freeze({
    handleMmFault, doFaultAround, __doFault, doReadFault, doCowFault, doSharedFault, finishFault, doSetPte, doPageMkwrite,
    faultDirtySharedPage, doWpPageShared, doWpPage, wpPageCopy, doUserAddrFault, doSwapPage,
    pteAlloc, pmdInstall,
    doSetPmd,
  }),
  rmap: Object.freeze({ zapPteRange, unmapMappingRange, unmapMappingFolio, zapPte, pageAddRmap, pageRemoveRmap, tryToUnmap, zapHugePmd, mmapRegion, freePgtables }),
  truncate: Object.freeze({
    truncateSetsize, truncatePagecache, truncateInodePagesRange, truncateInodeFolio, truncateCleanupFolio, truncateInodePartialFolio, splitFolio, splitFreeze,
  }),
  reclaim: Object.freeze({ shrinkPage, removeMapping, tryToFreePages }),
  writeback: Object.freeze({
    setPageDirty, pageMkclean, clearPageDirtyForIo, writebackPage,
    writeCachePages, filemapFdatawaitRange, filemapWriteAndWaitRange, getUserPage, putUserPageDirty,
    pageVmaMkcleanPmd,
  }),
  collapse: Object.freeze({ collapseFile, collapseFileFolio, collapseFinish, retractPageTables }),
  fuse: Object.freeze({
    fusePerformWrite, fuseFillWritePages, fuseSendWritePages, grabCachePageWriteBegin, iovIterFaultInReadable, iovIterCopyFromUserAtomic,
  }),
  migrate: Object.freeze({ migratePages, tryToMigrate, moveToNewFolio, folioMigrateMapping, removeMigrationPtes, migrationEntryWait, pmdMigrationEntryWait }),
});

/** Mainline with lock algorithm `lock`. */
export function mainlineOps(lock: PageLockOps): KernelOps {
  return { ...MAINLINE_MM, lock };
}
