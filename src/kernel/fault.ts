// struct vm_fault and the VM_FAULT_* codes (include/linux/mm_types.h, mm.h).
export const VM_FAULT_OOM = 0x0001;
export const VM_FAULT_SIGBUS = 0x0002;
export const VM_FAULT_NOPAGE = 0x0100;
export const VM_FAULT_LOCKED = 0x0200;
export const VM_FAULT_RETRY = 0x0400;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS;

export interface VmFault {
  vma: number;
  /** vma->vm_file */
  file: number;
  /** the faulting file page index (vmf->pgoff) */
  index: number;
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
