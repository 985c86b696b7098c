// Words for what a task or a page is doing, read from shared memory. Used by the watchdog, the
// wait-for graph and violation messages; works on a stuck or dead worker's slots too.
import { decodeFlight, type ViolationRecord } from './violations.ts';
import { lockOrderMessage } from './lockdep.ts';
import { INVARIANTS, valueNames, type InvariantId } from '../kernel/invariants.ts';
import {
  PG_dirty, PG_free, PG_locked, PG_readahead, PG_uptodate, PG_waiters, PG_writeback,
  TASK_DONE, TASK_PARKED, TASK_RUNNING, TASK_WAITING, type Shm,
} from '../shm/shm.ts';

const FLAG_NAMES: [number, string][] = [
  [PG_locked, 'PG_locked'], [PG_uptodate, 'PG_uptodate'], [PG_dirty, 'PG_dirty'],
  [PG_writeback, 'PG_writeback'], [PG_readahead, 'PG_readahead'], [PG_waiters, 'PG_waiters'], [PG_free, 'free'],
];

/** 'PG_locked|PG_waiters', or '0'. */
export function flagsText(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join('|') : '0';
}

export const STATE_NAMES: Record<number, string> = {
  [TASK_RUNNING]: 'running', [TASK_WAITING]: 'waiting', [TASK_PARKED]: 'parked', [TASK_DONE]: 'done',
};

/** The task's most recent schedule point, from its flight ring. */
export function lastStep(shm: Shm, task: number): { label: string; page: number; op: number } | null {
  const rec = decodeFlight(shm, shm.flight, 0, task);
  const last = rec[rec.length - 1];
  return last ? { label: last.label, page: last.page, op: last.op } : null;
}

/** Shadow owner of a page lock: task id, or -1. */
export function pageOwner(shm: Shm, pfn: number): number {
  return pfn >= 0 && pfn < shm.sizes.pages ? Atomics.load(shm.owner, pfn) - 1 : -1;
}

/** taskWaitBit of a sleeper on a reader/writer semaphore (PageObserver.onBlock), with the lock's
 * number (the mm, the file) in taskWaitPage; a page wait has its bit (>= 0) there, -1 is a wait
 * about no page. */
export const WAIT_MMAP_LOCK = -2;
export const WAIT_I_MMAP = -3;
export const isRwsemWait = (bit: number): boolean => bit === WAIT_MMAP_LOCK || bit === WAIT_I_MMAP;

/** 'the mmap_lock of mm 0', 'the i_mmap_rwsem of file 1'. */
export const rwsemText = (bit: number, index: number): string =>
  bit === WAIT_MMAP_LOCK ? `the mmap_lock of mm ${index}` : `the i_mmap_rwsem of file ${index}`;

/** 'waiting on page 17 bit 0 (PG_locked|PG_waiters) in op 812, last step 'io_schedule''. */
export function taskStateText(shm: Shm, task: number): string {
  const state = Atomics.load(shm.taskState, task);
  const op = Atomics.load(shm.opNo, task);
  const step = lastStep(shm, task);
  const at = step ? `, last step '${step.label}'${step.page >= 0 ? ` on page ${step.page}` : ''}` : '';
  if (state === TASK_WAITING) {
    const page = Atomics.load(shm.taskWaitPage, task), bit = Atomics.load(shm.taskWaitBit, task);
    const what = isRwsemWait(bit) ? `waiting on ${rwsemText(bit, page)}`
      : bit >= 0 && page >= 0 && page < shm.sizes.pages
        ? `waiting on page ${page} bit ${bit} (${flagsText(Atomics.load(shm.flags, page))})`
        : `waiting${page >= 0 ? ` (about page ${page})` : ''}`;
    return `${what} in op ${op}${at}`;
  }
  if (state === TASK_RUNNING) return `running op ${op}${at}`;
  return `${STATE_NAMES[state] ?? `state ${state}`} after op ${op}${at}`;
}

/** '[flags PG_locked|PG_waiters, refcount 2, mapcount 1, mapping 3, index 7, owner task 1]': the
 * page as the violation ring saw it when the violation was reported. */
export function pageStateText(ps: NonNullable<ViolationRecord['page_state']>): string {
  return `[flags ${flagsText(ps.flags)}, refcount ${ps.refcount}, mapcount ${ps.mapcount}, mapping ${ps.mapping}, `
    + `index ${ps.index}, owner ${ps.owner ? `task ${ps.owner - 1}` : 'none'}]`;
}

/**
 * The one message of a violation record, in both modes: what the invariant says, who broke it,
 * the page as it was, the values the check saw, each with its name:
 *   'at most one owner of a page lock (...): task 1 (locker) op 3, page 0 [flags ..., owner task 2]; owner task 2, taker task 1'
 * The id is not repeated (every display puts it in front). LOCK-ORDER records say which orders
 * met (src/check/lockdep.ts). `roleOf(task)` names a task's role.
 */
export function violationMessage(shm: Shm, r: Pick<ViolationRecord, 'id' | 'task' | 'op' | 'page' | 'page_state' | 'values'>, roleOf: (task: number) => string): string {
  if (r.id === 'LOCK-ORDER') return lockOrderMessage(shm, r.values, roleOf);
  const who = r.task >= 0 ? `task ${r.task} (${roleOf(r.task)}) op ${r.op}` : 'checker';
  const page = r.page >= 0 ? `, page ${r.page}${r.page_state ? ` ${pageStateText(r.page_state)}` : ''}` : '';
  const vals = valuesText(r.id, r.values);
  return `${INVARIANTS[r.id]}: ${who}${page}${vals ? `; ${vals}` : ''}`;
}

/** One value as its name says: flags by name, tasks as 'task N' or 'none', a mapping as a file. */
function valueText(name: string, v: number): string {
  switch (name) {
    case 'flags': return flagsText(v);
    case 'owner': case 'taker': return v < 0 ? 'none' : `task ${v}`;
    case 'shadow owner': return v <= 0 ? 'none' : `task ${v - 1}`;
    case 'mapping': return v <= 0 ? 'NULL' : `file ${v - 1}`;
    default: return String(v);
  }
}

/**
 * A record's values with their names (src/kernel/invariants.ts INVARIANT_VALUES):
 * 'file 1, index 4, vma 3'; values no name covers follow as 'values -1 -1'; '' when none.
 */
export function valuesText(id: InvariantId, values: readonly number[]): string {
  if (values.length === 0) return '';
  const names = valueNames(id, values.length);
  const named = names.map((n, i) => `${n} ${valueText(n, values[i])}`);
  const rest = values.slice(names.length);
  return [...named, ...(rest.length ? [`value${rest.length === 1 ? '' : 's'} ${rest.join(' ')}`] : [])].join(', ');
}
