// The test runner's settings, for the 2-core CI machine (.ci/run) above all.
//
// - Two test files at a time: vitest's default on N cores is N - 1, one file at a time on 2 cores,
//   where most files wait on child processes, worker threads or wall-clock bounds (step timeouts,
//   signals) and leave the other core idle.
// - Forks (a process per worker): the CLI tests send signals and read process state.
// - Two projects. `isolated`: a fresh module graph per file, for the files that register into the
//   process-wide registries (registerLock, registerVariant, registerCell, registerScenario), load
//   plug-ins in this process (loadPlugins, an in-process `--plugin`) or set process.env. `shared`:
//   every other file, in a worker that keeps its modules from one file to the next (isolate:
//   false), which spares each file the ~0.4 s of CPU of importing the model again. A file of
//   `shared` that leaves a registration behind fails (test/helpers/registry-guard.ts): move it to
//   ISOLATED.
import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

const ISOLATED = [
  'test/plugin/**/*.test.ts',
  'test/locks/locks.test.ts',
  'test/locks/reach.test.ts',
  'test/matrix/matrix.test.ts',
  'test/mm/migrate.test.ts',
  'test/sched/direct-form.test.ts',
  'test/stress/soak.test.ts',
  'test/variants/reach-tables.test.ts',
  'test/variants/reach-workers.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    // a test's own bound unless it sets one: vitest's 5 s default was hit by an in-process CLI test
    // (test/stress/cli.test.ts, 0.5 s alone) while the machine ran other work at load ~10
    testTimeout: 20_000,
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: 'isolated', include: ISOLATED, isolate: true } },
      {
        extends: true,
        test: {
          name: 'shared', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...ISOLATED], isolate: false,
          setupFiles: ['test/helpers/registry-guard.ts'],
        },
      },
    ],
  },
});
