// A fresh model: empty wait queues, every page unmapped (_mapcount -1) and on the free list.
import { CTL } from './layout.ts';
import { NIL, PG_free, type Shm } from './shm.ts';

export function initShm(shm: Shm): void {
  new Int32Array(shm.sab).fill(0);
  shm.bucketHead.fill(NIL);
  shm.bucketTail.fill(NIL);
  shm.wqNext.fill(NIL);
  shm.wqPrev.fill(NIL);
  shm.wqPage.fill(NIL);
  shm.taskWaitPage.fill(NIL);
  shm.mapcount.fill(-1);
  shm.index.fill(NIL);
  // free list: every page, lowest pfn first
  const P = shm.sizes.pages;
  for (let pfn = 0; pfn < P; pfn++) shm.freeNext[pfn] = pfn + 1 < P ? pfn + 1 : NIL;
  shm.flags.fill(PG_free);
  shm.ctl[CTL.FREE_HEAD] = P > 0 ? 0 : NIL;
  shm.ctl[CTL.FREE_COUNT] = P;
}
