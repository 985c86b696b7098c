// The checker's vocabulary: stable ids used by reports, tests and expected outcomes.
export const INVARIANTS = {
  'LOCK-EXCL': 'at most one owner of a page lock (shadow owner set on acquire, checked on release)',
  'LOCK-UNLOCK': 'unlock only of a locked page, only by its owner',
  'LOCK-LEAK': 'no task finishes an operation still holding a page lock it took',
  'LOCK-WAKE': 'no lost wakeup: a waiter queued on an unlocked page with no wake in flight, beyond a bound',
  'LOCK-WAITERS': 'PG_waiters clear => no waiter for that page in its bucket (checked under the bucket lock)',
  'LOCK-FAIR': 'with bounded unfairness k, a queued waiter is overtaken at most k (+1) times',
  'LOCK-ORDER': 'page locks (and the PTL, and writeback waits) are taken in one global order',
  'MAP-CACHE': 'every file PTE maps a page that is in the page cache at that file and index',
  'MAP-EOF': 'no PTE (file or COW copy) at an index >= ceil(i_size / PAGE) once no truncate is in flight',
  'MAP-COUNT': 'mapcount == number of PTEs mapping the page (quiescent), never negative',
  'REF-COUNT': 'refcount == page-cache ref + PTE refs + transient pins, never negative; 0 => free',
  'DEL-LOCKED': 'a page leaves the page cache only while locked and unmapped',
  'FAULT-SIGBUS': 'a fault beyond i_size returns SIGBUS and maps nothing',
  'DATA-STAMP': 'what a task reads through a PTE belongs to that file and index (no stale or reused page)',
  'FREE-BAD': 'a freed page is unmapped, unlocked, detached, refcount 0',
  'FAULT-LOCKED': 'VM_FAULT_LOCKED hand-over: the page is locked when a fault path says it is',
  'COLLAPSE-MAPPED': "collapse_file: a locked page that was unmapped stays unmapped (Hugh's VM_BUG_ON_PAGE(page_mapped))",
  DEADLOCK: 'no cycle in the wait-for graph; no task blocks on a page lock it holds',
  HUNG: 'every task makes progress within the hung-task bound',
  CRASH: 'a worker threw an exception (harness or protocol bug)',
} as const;

export type InvariantId = keyof typeof INVARIANTS;
export const INVARIANT_IDS = Object.keys(INVARIANTS) as InvariantId[];
export const invariantCode = (id: InvariantId): number => INVARIANT_IDS.indexOf(id) + 1;
export const invariantFromCode = (code: number): InvariantId => INVARIANT_IDS[code - 1] ?? 'CRASH';
