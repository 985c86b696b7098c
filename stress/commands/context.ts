// The real environment of a command: the process's streams and signals, the scenario and lock
// registries, the free-mode engine, git.
import os from 'node:os';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { DEFAULT_LOCK, lockInfo, lockNames } from '../../src/locks/index.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { INVARIANTS } from '../../src/kernel/invariants.ts';
import { gitInfo, toolVersion } from '../../src/run/gitinfo.ts';
import type { Registry } from '../../src/run/validate.ts';
import type { Context } from './types.ts';

/** The registries as validation sees them. The default scenario is DEFAULTS.scenario when it is
 * registered, else `locks`. Self-test locks are accepted by --lock but not listed. */
export function buildRegistry(): Registry {
  const scenarios = [...SCENARIOS.values()];
  const names = scenarios.map((s) => s.name);
  const defaultScenario = names.includes(DEFAULTS.scenario) ? DEFAULTS.scenario : names.includes('locks') ? 'locks' : names[0];
  const locks = lockNames({ hidden: true }).map((name) => {
    const i = lockInfo(name)!;
    return { name, description: i.description, hidden: i.hidden };
  });
  return { scenarios, locks, defaultScenario, defaultLock: DEFAULT_LOCK };
}

export function realContext(): Context {
  let signals = 0;
  // `pagelock-stress ... | head`: once the reader is gone, keep running (the reports still get
  // written) and stop writing to it
  const closed = { out: false, err: false };
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') closed.out = true; else throw e; });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') closed.err = true; else throw e; });
  return {
    io: {
      out: (l) => { if (!closed.out) process.stdout.write(`${l}\n`); },
      err: (l) => { if (!closed.err) process.stderr.write(`${l}\n`); },
      errIsTTY: process.stderr.isTTY === true,
      errStream: process.stderr,
    },
    registry: buildRegistry(),
    invariants: INVARIANTS,
    runStress,
    git: () => gitInfo(),
    version: toolVersion(),
    cores: os.availableParallelism(),
    cwd: process.cwd(),
    now: () => new Date(),
    onSignal(stop) {
      const h = (sig: NodeJS.Signals) => {
        // the first signal stops the run and writes the reports; a second one means now
        if (++signals > 1) {
          process.stderr.write(`${sig} again: exiting without waiting for the reports\n`);
          process.exit(130);
        }
        stop(sig);
      };
      process.on('SIGINT', h);
      process.on('SIGTERM', h);
      return () => {
        process.off('SIGINT', h);
        process.off('SIGTERM', h);
      };
    },
  };
}
