// The checker's vocabulary: stable ids used by reports, tests and expected outcomes.
export const INVARIANTS = {
  'LOCK-EXCL': 'at most one owner of a page lock (shadow owner set on acquire, checked on release)',
  'LOCK-UNLOCK': 'unlock only of a locked page, only by its owner',
  'LOCK-LEAK': 'no task finishes an operation still holding a page lock it took',
  'LOCK-WAKE': 'no lost wakeup: a waiter sleeps on a page lock only while queued and the page is locked or a wake-up is owed to its waiters (exact accounting); backstop: queued on an unlocked page, not woken, beyond a bound',
  'LOCK-WAITERS': 'PG_waiters clear => no waiter for that page in its bucket (checked under the bucket lock)',
  'LOCK-FAIR': 'no starvation: in one lock attempt a waiter woken without the lock is overtaken (sleeps again while another holds it) at most k + 1 times (k = sysctl_page_lock_unfairness), whatever the algorithm',
  'LOCK-ORDER': 'page locks (and the PTL, and writeback waits) are taken in one global order',
  'MAP-CACHE': 'every file PTE maps a page that is in the page cache at that file and index',
  'MAP-EOF': 'no PTE (file or COW copy) at an index >= ceil(i_size / PAGE) once no truncate is in flight, and no huge PMD mapping a page there',
  'MAP-COUNT': 'mapcount == number of PTEs mapping the page (quiescent), never negative; a folio\'s _entire_mapcount == the PMDs mapping it',
  'REF-COUNT': 'refcount == page-cache ref + PTE refs + transient pins, never negative; 0 => free',
  'DEL-LOCKED': 'a page leaves the page cache only while locked and unmapped',
  'FAULT-SIGBUS': 'a fault beyond i_size returns SIGBUS and maps nothing',
  'DATA-STAMP': 'what a task reads through a PTE belongs to that file and index (no stale or reused page)',
  'FREE-BAD': 'a freed page is unmapped, unlocked, detached, refcount 0',
  'FAULT-LOCKED': 'VM_FAULT_LOCKED hand-over: the page is locked when a fault path says it is',
  'COLLAPSE-MAPPED': "collapse_file: a locked page that was unmapped stays unmapped (Hugh's VM_BUG_ON_PAGE(page_mapped))",
  'WB-WAIT': 'a writeback wait (filemap_fdatawait_range, folio_wait_writeback) returns only after the writeback I/O in flight when it began has completed',
  'RECLAIM-DIRTY': 'a page reclaim frees carries no data that was not written back: clean once its refcount is frozen, with no dirty PTE or huge PMD left (nothing maps it)',
  'FAULT-RETRY': 'a fault that returns VM_FAULT_RETRY holds no page lock (out_retry unlocked and put the page; the retry starts over)',
  'EOF-ZERO': 'what a read through a PTE sees of the last page beyond i_size is zeros (truncate_inode_partial_folio zeroed the tail)',
  'PTE-TABLE': 'a PTE is set only in an installed PTE table (pte_alloc() / pmd_install() first, never under a none or huge PMD), and a present PTE lives in one',
  DEADLOCK: 'no cycle in the wait-for graph; no task blocks on a page lock it holds',
  HUNG: 'every task makes progress within the hung-task bound',
  CRASH: 'a worker threw an exception (harness or protocol bug)',
  'MIGRATE-ENTRY': 'a migration entry names a page that is locked and not free while it exists, and none survives its migration; a task that met one ends up mapping the new page, the old page back (failed migration) or nothing (it faults again), never the old page once it left the page cache',
  'WB-MKCLEAN': 'when writeback clears a folio\'s PG_dirty for I/O (folio_clear_dirty_for_io(), folio locked) no PTE or huge PMD maps it writable or dirty: folio_mkclean() write-protected and cleaned them, so a later store faults and dirties it again',
} as const;

export type InvariantId = keyof typeof INVARIANTS;
export const INVARIANT_IDS = Object.keys(INVARIANTS) as InvariantId[];
export const invariantCode = (id: InvariantId): number => INVARIANT_IDS.indexOf(id) + 1;
export const invariantFromCode = (code: number): InvariantId => INVARIANT_IDS[code - 1] ?? 'CRASH';

/**
 * What the numbers a violation record carries mean, per invariant: one list of names per shape
 * the reporting sites use (t.violation(id, page, ...values) in src/mm, src/locks, the watchdog),
 * chosen by how many values came; a list shorter than the values names the leading ones. Used by
 * the one message formatter (src/check/describe.ts violationMessage): `file 1, index 4, vma 3`.
 * Names with a meaning the formatter knows: 'flags' (page flags), 'owner' / 'taker' (a task id,
 * -1 none), 'shadow owner' (task id + 1, 0 none), 'mapping' (file + 1, 0 NULL).
 * Not named: FAULT-LOCKED (two sites send two values that mean different things).
 */
export const INVARIANT_VALUES: { readonly [K in InvariantId]?: readonly (readonly string[])[] } = {
  'LOCK-EXCL': [['owner', 'taker']],
  'LOCK-UNLOCK': [['flags', 'owner']],
  'LOCK-LEAK': [['flags', 'owner']],
  'LOCK-WAKE': [['stuck ms', 'bit'], ['sleeper', 'flags', 'queued']],
  'LOCK-FAIR': [['overtaken', 'bound']],
  'MAP-CACHE': [['file', 'index', 'vma']],
  'MAP-EOF': [['file', 'index', 'i_size', 'COW']],
  'MAP-COUNT': [['mapcount']],
  'REF-COUNT': [['refcount']],
  'DEL-LOCKED': [['shadow owner'], ['flags', 'mapcount', 'shadow owner']],
  'FAULT-SIGBUS': [['file', 'index', 'i_size', 'fault ret']],
  // the PTE's file and index, then what the page holds (its data stamp) or, for a stale page, what
  // the page cache has there now
  'DATA-STAMP': [['file', 'index', 'page cache pfn'], ['file', 'index', 'stamp file', 'stamp index']],
  'FAULT-LOCKED': [['file', 'index']],
  'FREE-BAD': [['allocated while not free'], ['file', 'index', 'generation'], ['flags', 'refcount', 'mapcount', 'mapping']],
  'COLLAPSE-MAPPED': [['mapcount', 'file', 'index']],
  'FAULT-RETRY': [['file', 'index']],
  'EOF-ZERO': [['file', 'index', 'i_size', 'data end']],
  'PTE-TABLE': [['vma', 'index']],
  'WB-WAIT': [['file', 'index', 'wb seq at start', 'wb seq at return']],
  'RECLAIM-DIRTY': [['file', 'index', 'flags']],
  'MIGRATE-ENTRY': [['file', 'index', 'vma']],
  'WB-MKCLEAN': [['file', 'index', 'vma']],
  HUNG: [['steps'], ['stuck ms', 'owner', 'flags']],
};

/** The names of a record's values: the shape with exactly that many names, else the longest
 * shape that names a prefix (the rest unnamed). */
export function valueNames(id: InvariantId, count: number): readonly string[] {
  const shapes = INVARIANT_VALUES[id] ?? [];
  const exact = shapes.find((s) => s.length === count);
  if (exact) return exact;
  const longer = shapes.filter((s) => s.length > count).sort((a, b) => a.length - b.length)[0];
  if (longer) return longer.slice(0, count);
  return shapes.filter((s) => s.length < count).sort((a, b) => b.length - a.length)[0] ?? [];
}
