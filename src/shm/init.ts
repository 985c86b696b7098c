// A fresh model: empty wait queues, every page unmapped (_mapcount -1) and on the free list.
import { CTL } from './layout.ts';
import { NIL, PG_free, type Shm } from './shm.ts';

export interface InitShmOptions {
  /** leave the label table's region as it is (controlled mode's reset between iterations: the
   * driver's LabelTable keeps the same slots, and the region is 64 KB of a ~100 KB model, most of
   * what zeroing the buffer cost in every iteration) */
  keepLabels?: boolean;
}

export function initShm(shm: Shm, o: InitShmOptions = {}): void {
  const all = new Int32Array(shm.sab);
  if (o.keepLabels) {
    const from = shm.labels.byteOffset >> 2;
    all.fill(0, 0, from);
    all.fill(0, from + shm.labels.length);
  } else all.fill(0);
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
