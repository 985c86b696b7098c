// struct vm_fault and the VM_FAULT_* codes (include/linux/mm_types.h, mm.h).
export const VM_FAULT_OOM = 0x0001;
export const VM_FAULT_SIGBUS = 0x0002;
export const VM_FAULT_NOPAGE = 0x0100;
export const VM_FAULT_LOCKED = 0x0200;
export const VM_FAULT_RETRY = 0x0400;
/** do_set_pmd(): the folio cannot be mapped by the PMD; the caller maps it by PTEs (6.6: 0x000800) */
export const VM_FAULT_FALLBACK = 0x0800;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS;

// enum fault_flag (include/linux/mm_types.h, 6.6): how the caller of handle_mm_fault() lets the
// fault path behave. The model has the ones the page-lock protocol depends on.
export const FAULT_FLAG_WRITE = 1 << 0;
/** the fault may drop the mmap lock and return VM_FAULT_RETRY (lock_folio_maybe_drop_mmap()) */
export const FAULT_FLAG_ALLOW_RETRY = 1 << 2;
/** with ALLOW_RETRY: do not wait at all, return VM_FAULT_RETRY with the mmap lock still held */
export const FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
/** the page-lock wait is killable (__folio_lock_killable()) */
export const FAULT_FLAG_KILLABLE = 1 << 4;
/** a retry: maybe_unlock_mmap_for_io() no longer drops the mmap lock (fault_flag_allow_retry_first()) */
export const FAULT_FLAG_TRIED = 1 << 5;
export const FAULT_FLAG_USER = 1 << 6;

/** fault_flag_allow_retry_first(): the first attempt of a fault that may retry. */
export function faultFlagAllowRetryFirst(flags: number): boolean {
  return (flags & FAULT_FLAG_ALLOW_RETRY) !== 0 && (flags & FAULT_FLAG_TRIED) === 0;
}

export interface VmFault {
  vma: number;
  /** vma->vm_file */
  file: number;
  /** the faulting file page index (vmf->pgoff) */
  index: number;
  /** vmf->flags (FAULT_FLAG_*); absent: 0, a fault that may neither retry nor be killed */
  flags?: number;
  /** vmf->prealloc_pte: a PTE table page taken before the page lock (do_fault_around(),
   * __do_fault()) for finish_fault() to install; absent or NIL: none */
  preallocPte?: number;
}

/** What ->fault returns: the code, and the page (referenced; locked with VM_FAULT_LOCKED). */
export interface FaultResult {
  ret: number;
  pfn: number;
}

export function faultName(ret: number): string {
  const n: string[] = [];
  if (ret & VM_FAULT_OOM) n.push('OOM');
  if (ret & VM_FAULT_SIGBUS) n.push('SIGBUS');
  if (ret & VM_FAULT_NOPAGE) n.push('NOPAGE');
  if (ret & VM_FAULT_LOCKED) n.push('LOCKED');
  if (ret & VM_FAULT_RETRY) n.push('RETRY');
  return n.length ? n.join('|') : '0';
}
