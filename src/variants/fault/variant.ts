// What a fault-path variant declares (the older, path-specific form of a Variant: src/variants/registry.ts;
// index.ts turns it into a partial table).
import type { InvariantId } from '../../kernel/invariants.ts';
import type { FaultResult, VmFault } from '../../kernel/fault.ts';
import type { Step } from '../../kernel/step.ts';
import type { Task } from '../../kernel/task.ts';

export interface FaultPathVariant {
  name: string;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** share of the matrix budget (default by expectation, see src/variants/registry.ts) */
  weight?: number;
  /** why that is the expected outcome */
  reasoning: string;
  /** do_read_fault(): a read access (or a write to a private mapping's present PTE) */
  doReadFault(t: Task, vmf: VmFault): Step<number>;
  /** do_cow_fault(): a write to a private mapping */
  doCowFault(t: Task, vmf: VmFault): Step<number>;
  /** do_shared_fault(): a write to a shared mapping */
  doSharedFault(t: Task, vmf: VmFault): Step<number>;
  /** __do_fault(), if the variant changes it too (patch 1 moves its final locking into the
   * callers); mainline's otherwise */
  __doFault?(t: Task, vmf: VmFault): Step<FaultResult>;
  /** a self-test mutant: accepted by --fault-path, not listed */
  hidden?: boolean;
}
