// A RunResult with non-trivial data for report tests: samples over time, wait histograms, several
// tasks and roles, one violation with flight records, one hung task.
import { DEFAULTS } from '../../src/kernel/config.ts';
import type { RunResult, StatsSample, TaskSummary } from '../../src/report/result.ts';
import { STAT_NAMES, HIST_BUCKETS, type StatName } from '../../src/shm/layout.ts';
import type { FlightRecord } from '../../src/check/violations.ts';

function stats(o: Partial<Record<StatName, number>>): Record<StatName, number> {
  return Object.fromEntries(STAT_NAMES.map((n) => [n, o[n] ?? 0])) as Record<StatName, number>;
}

function hist(peak: number, scale: number): number[] {
  const h = new Array<number>(HIST_BUCKETS).fill(0);
  for (let i = 0; i < 30; i++) h[i] = Math.round(scale * Math.exp(-((i - peak) ** 2) / 18));
  h[34] = 2; // a tail
  return h;
}

export function fixtureRun(over: Partial<RunResult> = {}): RunResult {
  const tasks: TaskSummary[] = [
    { task: 0, role: 'locker', ops: 5200, stats: stats({ ops: 5200, acquisitions: 5100, contended: 900, overtaken: 12, handoffs: 300, steals: 40, maxWaitUs: 4100 }), waitHist: hist(14, 80) },
    { task: 1, role: 'locker', ops: 4700, stats: stats({ ops: 4700, acquisitions: 4650, contended: 1100, overtaken: 30, handoffs: 410, steals: 22, maxWaitUs: 5200 }), waitHist: hist(15, 95) },
    { task: 2, role: 'locker', ops: 2500, stats: stats({ ops: 2500, acquisitions: 2480, contended: 1300, overtaken: 51, handoffs: 520, steals: 9, maxWaitUs: 9800 }), waitHist: hist(17, 110) },
    { task: 3, role: 'signaller', ops: 800, stats: stats({ ops: 800, signalsSent: 800, acquisitions: 120, contended: 40, maxWaitUs: 700, eintr: 3 }), waitHist: hist(10, 10) },
  ];
  const samples: StatsSample[] = [];
  let acq = 0, cont = 0, lock = 0, sig = 0, ovt = 0;
  for (let i = 1; i <= 12; i++) {
    const rate = 1000 + 250 * Math.sin(i / 2);
    lock += Math.round(rate); sig += 65 + (i % 3) * 5; acq += Math.round(rate * 0.98); cont += Math.round(rate * 0.25); ovt += i % 4;
    samples.push({ t: i * 1000, opsByRole: { locker: lock, signaller: sig }, acquisitions: acq, contended: cont, maxWaitUs: 800 + ((i * 937) % 9000), overtaken: ovt, violations: i >= 9 ? 1 : 0 });
  }
  const flight: FlightRecord[] = [];
  const steps: [number, string, number][] = [
    [0, 'trylock_page', 7], [1, 'lock_page', 7], [1, 'wait_on_page_bit_common', 7], [0, 'unlock_page', 7],
    [1, 'wake_page_function', 7], [2, 'trylock_page', 7], [1, 'page_lock_acquired', 7], [2, 'page_lock_acquired', 7],
    [3, 'send_sig_kill', 1], [0, 'lock_page', 3],
  ];
  steps.forEach(([task, label, page], i) => flight.push({ task, seq: 100 + i, label, page, aux: i % 3, op: 40 + task }));
  return {
    tool: { name: 'pagelock-stress', version: '0.1.0', commit: 'abc1234', node: 'v20.20.2' },
    runId: '20250101-000000-locks-v5.9-rc6-1',
    config: { ...DEFAULTS, scenario: 'locks', lock: 'v5.9-rc6', durationMs: 12_000, workers: 4, pages: 16, extra: { lockers: 3, signallers: 1 } },
    mode: 'free',
    cores: 2,
    oversubscribed: true,
    memoryBytes: 1_234_567,
    startedAt: '2025-01-01T00:00:00.000Z',
    elapsedMs: 12_050,
    endReason: 'violation',
    outcome: 'FAILURE',
    invariantsChecked: ['LOCK-EXCL', 'LOCK-UNLOCK', 'LOCK-LEAK', 'LOCK-FAIR'],
    violations: [{
      id: 'LOCK-EXCL', task: 2, op: 42, page: 7, seq: 107,
      page_state: { flags: 0x81, refcount: 1, mapcount: -1, mapping: 0, index: 0, owner: 2 },
      values: [2, 3], message: 'task 2 acquired page 7 while task 1 owns it', flight,
    }],
    violationCount: 1,
    hung: [{
      task: 1, role: 'locker', op: 41, state: 'waiting on page 3 (PG_locked|PG_waiters), owner task 0 (running op 40)',
      waitPage: 3, pageFlags: 0x81, owner: 0, ownerState: 'running op 40',
    }],
    tasks,
    samples,
    notes: ['??? max/2 > min acquisitions (task 2 got 2480, task 0 got 5100)'],
    extra: { lockdep: { edges: 3 } },
    ...over,
  };
}

/** A graded matrix record (run.json of a `matrix` report directory), two rows failing one. */
export function fixtureMatrix(over: Record<string, unknown> = {}) {
  return {
    format: 'pagelock-stress-matrix', version: 1,
    tool: { name: 'pagelock-stress', version: '0.1.0', commit: 'abc1234', node: 'v20.20.2' },
    runId: '20250101T000000Z-matrix-s7-shard2of4', startedAt: '2025-01-01T00:00:00.000Z', elapsedMs: 600_000, outcome: 'FAILURE',
    config: { scenario: 'matrix', lock: '-', seed: '7', budgetMs: 600_000, modes: ['free', 'controlled'], cells: null, shard: '2/4', plugins: [], maxIterations: 1000, extra: {} },
    cellsTotal: 12, cellsSelected: 3, counts: { PASS: 1, FAIL: 1, OPEN: 0, SKIPPED: 0 },
    rows: [
      { cell: 'locks/busted-nowake', scenario: 'locks', mode: 'free', expected: 'breaks HUNG', verdict: 'PASS', reason: 'caught HUNG', notes: [], found: ['HUNG'], detectMs: 5200, detectIterations: null, budgetMs: 60_000, wallMs: 6000, work: 1000, firstViolation: 'HUNG task 1', command: 'pagelock-stress run --lock busted-nowake', report: 'cells/locks_busted-nowake.free' },
      { cell: 'map-truncate/mainline', scenario: 'map-truncate', mode: 'controlled', expected: 'clean', verdict: 'FAIL', reason: 'clean cell showed MAP-EOF <x>', notes: [], found: ['MAP-EOF'], detectMs: 800, detectIterations: 42, budgetMs: 60_000, wallMs: 900, work: 42, firstViolation: 'MAP-EOF by task 0', command: 'pagelock-stress replay x.json', report: null },
    ],
    notes: [], mode: 'matrix', endReason: 'matrix', violations: [], violationCount: 0, hung: [], tasks: [], samples: [], invariantsChecked: [], extra: {},
    cores: 2, oversubscribed: false, memoryBytes: 0,
    ...over,
  };
}
