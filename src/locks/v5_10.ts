// lock_page as 5.9 and 5.10 released it: the bounded-unfairness algorithm of 5ef64cc8987a
// (src/locks/v5_9_rc6.ts, merged for 5.9-rc6) with what those releases had around it and mainline
// no longer has: the wake walk's bookmarks (2554db916586 / 11a19c7b099f, removed in 2022, see
// src/locks/bookmark.ts) and wait_on_page_writeback() waiting once. With 2a9127fcf229's "woken ==
// done" shared waits that single wait can return with PG_writeback set again, which c2407cf7d22d
// "mm: make wait_on_page_writeback() wait for multiple pending writebacks" (5.11-rc3) fixed by
// looping. 5.11 .. 5.17 (the loop, still bookmarks) is not a separate lock.
import { lockTable, PAGE_LOCK_COMMON } from './common.ts';
import { WAIT_ON_WRITEBACK_ONCE, bookmarkWalk } from './bookmark.ts';
import type { LockOptions } from './types.ts';
import { v5_9_rc6, type PageLockV5_9_rc6 } from './v5_9_rc6.ts';

/** The 5.9 / 5.10 release lock table (name 'v5.10'). */
export function lockV5_10(o: LockOptions = {}): PageLockV5_9_rc6 {
  return lockTable<PageLockV5_9_rc6>(PAGE_LOCK_COMMON, { ...v5_9_rc6(o), name: 'v5.10', ...bookmarkWalk(o), ...WAIT_ON_WRITEBACK_ONCE });
}
