// A small map-truncate world for the mm tests: the shared model from the scenario's sizes and
// init, and tasks with the default page lock. Everything runs in the test's thread.
import { configVariants, kernelOps } from '../../src/variants/index.ts';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import { Task } from '../../src/kernel/task.ts';
import { LabelTable } from '../../src/shm/labels.ts';
import { makeLock } from '../../src/locks/index.ts';
import { mapTruncateScenario } from '../../src/scenarios/map-truncate.ts';
import { Stepper } from './stepper.ts';
import type { Step } from '../../src/kernel/step.ts';

export function mmConfig(extra: Record<string, number | string | boolean> = {}, over: Partial<RunConfig> = {}): RunConfig {
  return { ...DEFAULTS, scenario: 'map-truncate', workers: 4, pages: 64, buckets: 16, extra: { ...extra }, ...over };
}

export interface MmWorld {
  shm: Shm;
  cfg: RunConfig;
  /** a task; options default to cfg.extra (as the drivers do), and its tables are mainline with the
   * variants those options choose (--map-pages, --fault-path), as the drivers compose them */
  task(id: number, options?: Record<string, unknown>): Task;
}

/** Build the model as the orchestrator does (64 flight entries per task, as it has): initShm,
 * then the scenario's init. `tasks` slots. */
export function mmWorld(cfg: RunConfig = mmConfig(), tasks = 5): MmWorld {
  const shm = new Shm({ ...mapTruncateScenario.sizes(cfg), tasks, flightEntries: 64, violationSlots: 16 });
  initShm(shm);
  mapTruncateScenario.init(shm, cfg);
  const labels = new LabelTable(shm);
  const lock = makeLock('v5.9-rc6', { unfairness: 5 });
  return {
    shm, cfg,
    task: (id, options) => {
      const extra = { ...cfg.extra, ...options } as RunConfig['extra'];
      return new Task({ id, shm, ops: kernelOps({ lock, variants: configVariants({ extra }) }), labels, options: extra });
    },
  };
}

/** Run a generator to its end in this thread (it must not block). */
export function run<T>(gen: Step<T>): T {
  return new Stepper(gen).runToEnd();
}
