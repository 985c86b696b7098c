// An in-process CLI context for tests: captured IO, a small registry, a stub run engine.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../../stress/commands/types.ts';
import type { Registry } from '../../src/run/validate.ts';
import type { Scenario } from '../../src/kernel/scenario.ts';
import type { RunConfig } from '../../src/kernel/config.ts';
import type { RunResult } from '../../src/report/result.ts';
import type { ViolationRecord } from '../../src/check/violations.ts';
import { INVARIANTS } from '../../src/kernel/invariants.ts';

function stubScenario(name: string, options: Scenario['options'] = []): Scenario {
  return {
    name,
    description: `stub scenario ${name}`,
    options,
    roles: (cfg) => Array.from({ length: cfg.workers }, () => 'locker'),
    sizes: (cfg) => ({ pages: cfg.pages, buckets: cfg.buckets, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1 }),
    init: () => {},
    nextOp: () => ({ kind: 'noop', args: [] }),
    *runOp() {},
  };
}

export function stubRegistry(): Registry {
  return {
    scenarios: [
      stubScenario('alpha', [
        { name: 'map-pages', kind: 'enum', default: 'mainline', choices: ['mainline', 'patch4'], help: 'which filemap_map_pages' },
        { name: 'truncators', kind: 'int', default: 1, min: 0, max: 8, help: 'truncating tasks' },
        { name: 'reclaim', kind: 'bool', default: true, help: 'run reclaim' },
      ]),
      stubScenario('beta'),
    ],
    locks: [
      { name: 'v5.9-rc6', description: 'bounded unfairness' },
      { name: 'v5.9', description: 'fair hand-off' },
      { name: 'v4.10', description: 'wake then race' },
      { name: 'busted-x', description: 'self-test lock', hidden: true },
    ],
    defaultScenario: 'alpha',
    defaultLock: 'v5.9-rc6',
  };
}

export function violation(over: Partial<ViolationRecord> = {}): ViolationRecord {
  return {
    id: 'LOCK-EXCL', task: 1, op: 7, page: 3, seq: 100,
    page_state: { flags: 0x81, refcount: 1, mapcount: -1, mapping: 0, index: -1, owner: 3 },
    values: [3, 2], message: 'page 3 locked by task 1 while task 2 owns it',
    flight: [
      { task: 0, seq: 1, label: 'lock_page', page: 9, aux: 0, op: 1 },
      { task: 1, seq: 2, label: 'trylock_page', page: 3, aux: 0, op: 7 },
      { task: 2, seq: 3, label: 'test_and_set_bit_lock', page: 3, aux: 0, op: 4 },
      { task: 1, seq: 4, label: 'set_owner', page: 3, aux: 1, op: 7 },
    ],
    ...over,
  };
}

export function result(cfg: RunConfig, over: Partial<RunResult> = {}): RunResult {
  return {
    tool: { name: 'pagelock-stress', version: '0.0.0-test', commit: '', node: process.version },
    runId: 'engine-id', config: cfg, mode: 'free', cores: 2, oversubscribed: cfg.workers > 2, memoryBytes: 4096,
    startedAt: '2026-01-27T00:00:00.000Z', elapsedMs: 1234, endReason: 'duration', outcome: 'SUCCESS',
    invariantsChecked: ['LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK'], violations: [], violationCount: 0, hung: [],
    tasks: [
      { task: 0, role: 'locker', ops: 10, stats: { acquisitions: 10 } as any, waitHist: [] },
      { task: 1, role: 'locker', ops: 12, stats: { acquisitions: 12, contended: 3 } as any, waitHist: [] },
    ],
    samples: [], notes: [], extra: {},
    ...over,
  };
}

export interface TestCtx extends Context {
  stdout: string[];
  stderr: string[];
  calls: RunConfig[];
  /** deliver SIGINT to the running command */
  signal(name?: string): void;
  dir: string;
}

export function testContext(engine?: (cfg: RunConfig, signal?: AbortSignal) => Promise<RunResult>, cores = 2): TestCtx {
  const stdout: string[] = [], stderr: string[] = [], calls: RunConfig[] = [];
  let stop: ((s: string) => void) | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'pls-cli-'));
  const ctx: TestCtx = {
    stdout, stderr, calls, dir,
    io: { out: (l) => stdout.push(...l.split('\n')), err: (l) => stderr.push(...l.split('\n')), errIsTTY: false },
    registry: stubRegistry(),
    invariants: INVARIANTS,
    runStress: async (cfg, hooks, signal) => {
      calls.push(structuredClone(cfg));
      hooks?.onStart?.({ memoryBytes: 4096 } as any);
      hooks?.onStats?.({} as any, 'stats: acq/s 10 contended 0 !!! 0');
      return engine ? engine(cfg, signal) : result(cfg);
    },
    git: () => ({ commit: 'a'.repeat(40), short: 'aaaaaaa', dirty: false, label: 'aaaaaaa' }),
    version: '0.0.0-test',
    cores,
    cwd: dir,
    now: () => new Date('2026-01-27T00:41:58.123Z'),
    onSignal: (s) => {
      stop = s;
      return () => { stop = null; };
    },
    signal: (name = 'SIGINT') => stop?.(name),
  };
  return ctx;
}
