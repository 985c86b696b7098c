// The file-fault handlers of mm/memory.c — do_read_fault(), do_cow_fault(), do_shared_fault() and
// their helper __do_fault() — with patches 1-3 of "[PATCH 0/4] Some more lock_page work.."
// (Linus Torvalds, 13 Oct 2020, Msg-ID CAHk-=wicH=FaLOeum9_f7Vyyz9Fe4MWmELT7WKR_UbfY37yX-Q@mail.gmail.com;
// kernel-protocols §1.1) applied or not. The series is cumulative: patch 2 and 3 apply on top of 1.
//
//   patch 1  "mm: move final page locking out of __do_fault() helper into callers": the
//            `if (!(ret & VM_FAULT_LOCKED)) lock_page(); else VM_BUG_ON_PAGE(!PageLocked)` tail
//            of __do_fault() moves into the three callers, unchanged.
//   patch 2  "mm: don't lock the page, only to immediately unlock it again for do_page_mkwrite()":
//            do_shared_fault() unlocks only if ->fault returned the page locked, and locks it
//            after do_page_mkwrite() only if that did not.
//   patch 3  "mm: do_cow_fault() does not need the source page to be locked": no lock for the
//            copy; "unlock if it was locked" right after copying, BEFORE finish_fault().
//
// Every VM_FAULT_LOCKED hand-over asserts VM_BUG_ON_PAGE(!PageLocked) (FAULT-LOCKED). The mainline
// handlers (no patch) are src/mm/memory.ts's; this file has the patched ones. As in mainline, every
// call to another kernel function goes through the running configuration's tables: ->fault is
// t.ops.vmOps.fault, and __do_fault(), do_fault_around(), finish_fault(), do_page_mkwrite() and
// fault_dirty_shared_page() are t.ops.fault's. A variant with patch 1 applied also replaces
// __do_fault() (__doFaultPatch1 below: ->fault without the final locking).
import { allocPage, putPage } from '../../mm/page_alloc.ts';
import { MAPPING_ANON, SetPageUptodate } from '../../shm/page.ts';
import { NIL } from '../../shm/shm.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';
import {
  VM_FAULT_ERROR, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY, type FaultResult, type VmFault,
} from '../../kernel/fault.ts';
import { faultAroundPages } from '../../mm/memory.ts';
import { vmFaultLockedCheck } from '../../mm/writeback.ts';

/** vma->vm_ops->fault */
export type FaultHandler = (t: Task, vmf: VmFault) => Step<FaultResult>;

/** Which of patches 1-3 are applied. The ->fault is the configuration's (t.ops.vmOps.fault), reached
 * through its __do_fault() (t.ops.fault.__doFault). */
export interface FaultPatches {
  patch1: boolean;
  patch2: boolean;
  patch3: boolean;
}

const FAILED = VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY;

/** The tail patch 1 moved out of __do_fault(): lock the page unless ->fault returned it locked,
 * and then it must be (VM_BUG_ON_PAGE(!PageLocked(vmf->page), vmf->page)). */
function* lockFaultPage(t: Task, r: FaultResult): Step<void> {
  t.page = r.pfn;
  if (!(r.ret & VM_FAULT_LOCKED)) yield* t.ops.lock.lockPage(t, r.pfn);
  else vmFaultLockedCheck(t, r.pfn);
}

/** __do_fault() with patch 1 applied: ->fault, and the final locking is the caller's
 * (lockFaultPage). A variant with patch 1 installs it as its fault.__doFault; the handlers below
 * call whichever __do_fault() the table has (mainline's returns the page locked, with
 * VM_FAULT_LOCKED, which lockFaultPage accepts as well). */
export function* __doFaultPatch1(t: Task, vmf: VmFault): Step<FaultResult> {
  return yield* t.ops.vmOps.fault(t, vmf);
}

/** do_read_fault(): fault-around first; then __do_fault(), (patch 1: lock here), finish_fault(),
 * unlock_page(); the reference went to the PTE unless finish_fault() failed. */
export function* doReadFault(t: Task, vmf: VmFault, p: FaultPatches): Step<number> {
  if (faultAroundPages(t) > 1) {
    const ret = yield* t.ops.fault.doFaultAround(t, vmf);
    if (ret) return ret;
  }
  const r = yield* t.ops.fault.__doFault(t, vmf);
  if (r.ret & FAILED) return r.ret;
  if (p.patch1) yield* lockFaultPage(t, r);
  const ret = r.ret | (yield* t.ops.fault.finishFault(t, vmf, r.pfn));
  yield* t.ops.lock.unlockPage(t, r.pfn);
  if (ret & FAILED) yield* putPage(t, r.pfn);
  return ret;
}

/** copy_user_highpage() + __SetPageUptodate() of the COW copy, and what
 * page_add_new_anon_rmap() sets (an anonymous page at the faulting index). */
function* copyUserHighpage(t: Task, cow: number, src: number, index: number): Step {
  const shm = t.shm;
  t.page = src;
  yield 'copy_user_highpage';
  shm.stampFile[cow] = shm.stampFile[src];
  shm.stampIndex[cow] = shm.stampIndex[src];
  SetPageUptodate(shm, cow);
  Atomics.store(shm.index, cow, index);
  Atomics.store(shm.mapping, cow, MAPPING_ANON);
}

/**
 * do_cow_fault(): allocate the copy first (no allocation under a page lock), __do_fault(),
 * copy, map the copy (PTE_ANON | PTE_WRITE). Before patch 3 the source page stays locked from
 * __do_fault() until after finish_fault(); patch 3 drops it right after the copy, so the copy is
 * mapped with nothing serialising it against truncation of the source page (see patch1-3.ts).
 */
export function* doCowFault(t: Task, vmf: VmFault, p: FaultPatches): Step<number> {
  const cow = yield* allocPage(t);
  if (cow === NIL) return VM_FAULT_OOM;
  const r = yield* t.ops.fault.__doFault(t, vmf);
  if (r.ret & FAILED) {
    yield* putPage(t, cow); // uncharge_out:
    return r.ret;
  }
  if (p.patch1 && !p.patch3) yield* lockFaultPage(t, r);
  yield* copyUserHighpage(t, cow, r.pfn, vmf.index);
  let ret = r.ret;
  if (p.patch3) {
    if (ret & VM_FAULT_LOCKED) yield* t.ops.lock.unlockPage(t, r.pfn); // "unlock if it was locked"
    ret |= yield* t.ops.fault.finishFault(t, vmf, cow, true);
  } else {
    ret |= yield* t.ops.fault.finishFault(t, vmf, cow, true);
    yield* t.ops.lock.unlockPage(t, r.pfn);
  }
  yield* putPage(t, r.pfn);
  if (ret & FAILED) yield* putPage(t, cow); // uncharge_out:
  return ret;
}

/**
 * do_shared_fault(): a write fault on a shared mapping. __do_fault(); ->page_mkwrite
 * (filemap_page_mkwrite: lock, check page->mapping is still the file's, set dirty, return
 * locked) wants the page unlocked; finish_fault() maps it writable under the page lock;
 * fault_dirty_shared_page() dirties and unlocks. Before patch 2 the page is locked (by
 * __do_fault, or after patch 1 by the caller) only to be unlocked again for do_page_mkwrite().
 */
export function* doSharedFault(t: Task, vmf: VmFault, p: FaultPatches): Step<number> {
  const r = yield* t.ops.fault.__doFault(t, vmf);
  let ret = r.ret;
  if (ret & FAILED) return ret;
  const pfn = r.pfn;
  if (p.patch1 && !p.patch2) yield* lockFaultPage(t, r);
  // vma->vm_ops->page_mkwrite is filemap_page_mkwrite for every file mapping of the model
  if (p.patch2) {
    // "do_page_mkwrite() wants the page unlocked"
    if (ret & VM_FAULT_LOCKED) {
      yield* t.ops.lock.unlockPage(t, pfn);
      ret &= ~VM_FAULT_LOCKED;
    }
  } else {
    yield* t.ops.lock.unlockPage(t, pfn);
  }
  const tmp = yield* t.ops.fault.doPageMkwrite(t, vmf, pfn);
  if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
    yield* putPage(t, pfn);
    return tmp;
  }
  if (p.patch2) {
    ret |= tmp & VM_FAULT_LOCKED; // "Did do_page_mkwrite() lock the page again?"
    yield* lockFaultPage(t, { ret, pfn });
  }
  ret |= yield* t.ops.fault.finishFault(t, vmf, pfn, false, true);
  if (ret & FAILED) {
    yield* t.ops.lock.unlockPage(t, pfn);
    yield* putPage(t, pfn);
    return ret;
  }
  ret |= yield* t.ops.fault.faultDirtySharedPage(t, pfn);
  return ret;
}
