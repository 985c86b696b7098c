// Parallel exploration on a long workload: the same iterations (map-truncate mainline, portfolio,
// 4 operations per actor) explored by 1 and by 2 explorer threads, start-up included, so what the
// figure measures is what `explore --threads N` gives on a real run. The workload is sized by a
// short calibration to about TARGET_S seconds of one explorer thread's CPU time (on a quiet machine, TARGET_S
// seconds on one thread).
//
// The wall-clock speed-up needs two free cores; on a busy machine it measures the load. So every
// explorer thread also reports what it cost in counts the load does not change
// (src/run/explore-parallel.ts ExplorerCost): its own CPU time (/proc/thread-self/schedstat), the
// time it was runnable without a core, its start-up, its GCs and its messages. Iterations per
// CPU-second of each thread, 2 threads vs 1, say whether the threads slow each other (a shared
// cache line, GC, messages); the speed-up "with a core each" is the 1-thread explorer's start-up
// + CPU time over the slowest 2-thread explorer's. A first table measures the machine itself: the
// same fixed CPU-bound loop on 1 and on 2 independent threads (two vCPUs can be two hyperthreads
// of one host core, and then no code gets 2x).
import os from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { exploreParallel, threadTimes, type WorkerShare } from '../../src/run/explore-parallel.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { fmt, type BenchSection, type BenchTable } from './common.ts';

const TARGET_S = 20;
const QUICK_S = 3;
const CALIBRATE_CPU_S = 3;
const TARGET_SPEEDUP = 1.8;
/** the machine reference: iterations of its loop per thread (about 2 s of one core) */
const MACHINE_LOOP = 4e8;

const cfg: RunConfig = { ...DEFAULTS, scenario: 'map-truncate', durationMs: 0, ops: 0, extra: { 'map-pages': 'mainline' } };

const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

/** One thread's share of the machine reference: a fixed integer loop, its wall and CPU time. */
const MACHINE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const cpu = () => { try { return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6; } catch { return -1; } };
const go = new Int32Array(workerData.go);
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0, 50);
const c0 = cpu(), t0 = performance.now();
let x = 1;
for (let i = 0; i < workerData.n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
parentPort.postMessage({ wallMs: performance.now() - t0, cpuMs: c0 < 0 ? -1 : cpu() - c0, x });
`;

async function machineOnce(threads: number, n: number) {
  const go = new SharedArrayBuffer(4);
  const ws = Array.from({ length: threads }, () => new Worker(MACHINE_WORKER, { eval: true, workerData: { go, n } }));
  const out = ws.map((w) => new Promise<{ wallMs: number; cpuMs: number }>((res, rej) => { w.once('message', res); w.once('error', rej); }));
  await new Promise((r) => setTimeout(r, 300)); // let the threads start before the clock
  const t0 = performance.now();
  Atomics.store(new Int32Array(go), 0, 1);
  Atomics.notify(new Int32Array(go), 0);
  const rs = await Promise.all(out);
  const wallS = (performance.now() - t0) / 1000;
  await Promise.all(ws.map((w) => w.terminate()));
  return { wallS, rs };
}

/** CPU time so far of this process's main thread and of its other threads (V8's GC helpers and
 * compilers, libuv's pool), s: Linux /proc/self/task/<tid>/schedstat. */
function threadCpu(): { main: number; others: Map<string, number> } | null {
  try {
    const others = new Map<string, number>();
    let main = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      let ns: number;
      try {
        ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        continue; // gone meanwhile
      }
      if (Number(tid) === process.pid) main = ns / 1e9;
      else others.set(tid, ns / 1e9);
    }
    return { main, others };
  } catch {
    return null;
  }
}

async function exploreOnce(threads: number, iterations: number) {
  const load0 = os.loadavg()[0];
  const tc0 = threadCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const progress: { s: number; its: number }[] = [];
  const r = await exploreParallel({
    scenario: 'map-truncate', cfg, strategies: strategySpecs('portfolio', 3), iterations, durationMs: 0,
    opsPerActor: 4, seed: 'bench-threads', keepGoing: true, maxSteps: 200_000, threads,
    onProgress: (st) => progress.push({ s: (performance.now() - t0) / 1000, its: st.iterations }),
  }).result;
  const wallS = (performance.now() - t0) / 1000;
  // iterations per second over the run's second half: its start-up and most of its compiling
  // are in the first (the first progress report from halfway on, to the end)
  const half = progress.find((p) => p.s >= wallS / 2);
  const lateRate = half && wallS > half.s ? (r.stats.iterations - half.its) / (wallS - half.s) : NaN;
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  const tc1 = threadCpu();
  let mainS = NaN, helpersS = NaN;
  if (tc0 && tc1) {
    mainS = tc1.main - tc0.main;
    helpersS = 0;
    // threads there before the run: the explorers are newer (and may not have exited yet)
    for (const [tid, s] of tc1.others) if (tc0.others.has(tid)) helpersS += s - tc0.others.get(tid)!;
  }
  return { r, wallS, lateRate, cpuS, mainS, helpersS, load: (load0 + os.loadavg()[0]) / 2 };
}

/** An explorer thread's CPU time exploring, and before (start, module load, model), s. */
const cpuS = (w: WorkerShare) => (w.cost && w.cost.cpuMs >= 0 ? w.cost.cpuMs / 1000 : NaN);
const startCpuS = (w: WorkerShare) => (w.cost && w.cost.startCpuMs >= 0 ? w.cost.startCpuMs / 1000 : NaN);

export const exploreThreadsBench: BenchSection = {
  name: 'explore-threads',
  description: `explore --threads 1 vs 2 on a ~${TARGET_S} s workload (map-truncate, portfolio): speed-up, CPU per explorer, start-up, GC, messages`,
  optIn: true,
  async run(o) {
    const seconds = o.quick ? QUICK_S : TARGET_S;
    const tables: BenchTable[] = [];

    // the machine: the same loop on 1 thread, then on 2 at once
    const loop = o.quick ? MACHINE_LOOP / 4 : MACHINE_LOOP;
    const m1 = await machineOnce(1, loop);
    const m2 = await machineOnce(2, loop);
    const mRow = (threads: number, m: typeof m1, base: number) => {
      const cpu = m.rs.reduce((s, x) => s + x.cpuMs, 0) / 1000;
      return [threads, fmt(m.wallS, 2), fmt((threads * loop) / m.wallS / 1e6, 0), fmt((threads * base) / m.wallS, 2),
        fmt(cpu, 2), fmt(m.rs[0].cpuMs >= 0 ? (threads * loop) / cpu / 1e6 : NaN, 0), fmt(m.wallS > 0 ? cpu / m.wallS : NaN, 2)];
    };
    tables.push({
      title: `The machine: a fixed integer loop (${loop.toExponential(0)} steps per thread) on 1 thread and on 2 independent threads`,
      head: ['threads', 'wall s', 'M steps/s', 'speed-up', 'CPU s', 'M steps/CPU-s', 'CPU/wall'],
      rows: [mRow(1, m1, m1.wallS), mRow(2, m2, m1.wallS)],
      notes: [
        'no shared memory, no messages, no GC: the best speed-up any code gets from 2 threads here. M steps/CPU-s falling with',
        '2 threads means the two vCPUs share a physical core (hyperthreads) or the host is busy; CPU/wall under the thread count is the load.',
      ],
    });

    // calibrate: one explorer thread until it has used CALIBRATE_CPU_S of CPU of its own; the rate
    // is its iterations per CPU-second of its own after the first third of that (start-up and the
    // JIT warm-up of the first iterations left out), so the workload is `seconds` of one explorer's
    // work however busy the machine is. The explorer's CPU is its thread's (the newest thread with
    // the most CPU): the process's CPU would count V8's compiler threads too, which are busiest in
    // exactly those first seconds, and size the workload well under `seconds` on a quiet machine.
    // Without per-thread times the process's CPU stands in.
    const budget = o.quick ? 1 : CALIBRATE_CPU_S;
    const before = threadCpu();
    const explorerCpu = (): number => {
      const now = before && threadCpu();
      if (!before || !now) return cpuNow();
      let most = 0;
      for (const [tid, s] of now.others) if (!before.others.has(tid) && s > most) most = s;
      return most;
    };
    const c0 = explorerCpu();
    let mark: { its: number; cpu: number } | null = null;
    let last = { its: 0, cpu: c0 };
    const px = exploreParallel({
      scenario: 'map-truncate', cfg, strategies: strategySpecs('portfolio', 3), iterations: Infinity, durationMs: 0,
      opsPerActor: 4, seed: 'bench-threads', keepGoing: true, maxSteps: 200_000, threads: 1, progressMs: 100,
      onProgress: (st) => {
        const cpu = explorerCpu();
        if (!mark && cpu - c0 >= budget / 3) mark = { its: st.iterations, cpu };
        last = { its: st.iterations, cpu };
        if (cpu - c0 >= budget) px.stop();
      },
    });
    await px.result;
    const from: { its: number; cpu: number } = mark ?? { its: 0, cpu: c0 };
    const rate = (last.its - from.its) / Math.max(last.cpu - from.cpu, 1e-3);
    const iterations = Math.max(200, Math.round(rate * seconds));

    const rows: (string | number)[][] = [];
    const perWorker: (string | number)[][] = [];
    let one: { wallS: number; rate: number; busyS: number; lateRate: number } | null = null;
    for (const threads of [1, 2]) {
      const { r, wallS, lateRate, cpuS: procCpuS, mainS, helpersS, load } = await exploreOnce(threads, iterations);
      if (r.stats.iterations !== iterations) throw new Error(`${threads} threads explored ${r.stats.iterations} of ${iterations} iterations`);
      const explorerCpu = r.workers.reduce((s, w) => s + cpuS(w), 0);
      const explorersCpu = r.workers.reduce((s, w) => s + startCpuS(w) + cpuS(w), 0);
      const itPerCpu = iterations / explorerCpu;
      // on free cores the run takes at least its slowest explorer thread's CPU time (start-up
      // included), and at least the whole process's CPU time over the cores
      const busyS = Math.max(...r.workers.map((w) => startCpuS(w) + cpuS(w)), procCpuS / os.availableParallelism());
      if (threads === 1) one = { wallS, rate: itPerCpu, busyS, lateRate };
      const base = one!;
      rows.push([
        threads, iterations, fmt(wallS, 1), fmt(base.wallS / wallS, 2), fmt(procCpuS / wallS, 2), `${fmt(procCpuS - explorersCpu, 2)} (${fmt(mainS, 2)} + ${fmt(helpersS, 2)})`,
        fmt(itPerCpu, 0), fmt(itPerCpu / base.rate, 3), fmt(busyS, 2), `${fmt(base.busyS / busyS, 2)}${threads > 1 ? (base.busyS / busyS >= TARGET_SPEEDUP ? ' ok' : ' UNDER') : ''}`,
        fmt(lateRate, 0), fmt(lateRate / base.lateRate, 2), fmt(load, 1),
      ]);
      r.workers.forEach((w, i) => {
        const c = w.cost;
        const its = w.stats.iterations;
        perWorker.push([
          `${threads}:${i}`, its, c ? fmt(c.loadMs, 0) : '-', c ? fmt(c.setupMs, 0) : '-', fmt(startCpuS(w) * 1000, 0), c ? fmt(c.wallMs / 1000, 2) : '-',
          fmt(cpuS(w), 2), c && c.runqMs >= 0 ? fmt(c.runqMs / 1000, 2) : '-',
          c && c.cpuMs >= 0 ? fmt(Math.max(0, c.wallMs - c.cpuMs - c.runqMs) / 1000, 2) : '-',
          fmt(its / cpuS(w), 0), c ? c.youngMb : '-', c ? fmt((1000 * c.gcCount) / its, 1) : '-', c ? fmt((c.gcMs * 1000) / its, 0) : '-',
          c ? c.messages : '-', c ? fmt(c.messageBytes / its, 1) : '-',
        ]);
      });
    }
    tables.push({
      title: `explore --threads 1 vs 2: map-truncate mainline, portfolio, 4 ops per actor, the same ${iterations} iterations (about ${seconds} s of one explorer thread's CPU; ${os.availableParallelism()} cores)`,
      head: ['threads', 'iterations', 'wall s', 'speed-up (wall)', 'CPU/wall', 'CPU outside explorers s (main + helpers)', 'iterations/explorer CPU-s', 'vs 1 thread', 'on free cores s', `speed-up on free cores (>= ${TARGET_SPEEDUP})`, 'iterations/s, 2nd half', 'speed-up, 2nd half', 'load'],
      rows,
      notes: [
        `target: 2 threads >= ${TARGET_SPEEDUP}x one thread. "speed-up (wall)" is the figure; it needs two free cores: CPU/wall (the cores the`,
        'process got) below the thread count caps it whatever the code does. On a quiet machine it comes close to "on free cores".',
        '"CPU outside explorers": the process\'s CPU time less the explorer threads\', split into the main thread and the other threads',
        '(V8\'s GC helpers and compilers, which every explorer\'s isolate keeps busy): one explorer gets them the idle second core; two pay',
        'for them out of their own cores.',
        '"iterations/explorer CPU-s": iterations over the explorer threads\' own CPU time; "vs 1 thread" below 1 is what the threads cost each other.',
        '"on free cores": the least wall time the run can take on idle cores: its slowest explorer thread\'s CPU time (start-up',
        `included) or the whole process\'s CPU time over the ${os.availableParallelism()} cores, whichever is more. The speed-up from it is what a quiet machine shows at best.`,
        '"2nd half": iterations per second from the progress report at half the run\'s wall time to its end, when start-up and most of',
        'each isolate\'s compiling (V8 compiles the same code once per explorer) are behind it: about what a long run\'s threads give.',
        `load = the 1-minute load average during the run (on ${os.availableParallelism()} cores).`,
      ],
    });
    tables.push({
      title: 'Each explorer thread: start-up, where its time went, GC and messages (threads:explorer)',
      head: ['explorer', 'iterations', 'start + load ms', 'model ms', 'start-up CPU ms', 'explore wall s', 'CPU s', 'no core s', 'blocked s', 'iterations/CPU-s', 'young MB', 'GCs/1,000 iterations', 'GC us/iteration', 'messages', 'message bytes/iteration'],
      rows: perWorker,
      notes: [
        'start + load: spawn to the explorer\'s first statement (thread start, module load); model: its model until the first iteration (both wall',
        'time); start-up CPU: the thread\'s CPU time before it explores (start, module load). CPU, no core (runnable,',
        'waiting for a core: the load) and blocked (neither: page faults, GC helper waits; explorers never wait for messages or each other)',
        'come from /proc/thread-self/schedstat and add up to the explore wall time. Explorers claim iterations from a shared counter',
        '(one atomic add per iteration) and post only progress (every 250 ms) and their result.',
        'young MB: what the explorer\'s new space has committed (at least its semi-space, EXPLORER_SEMI_SPACE_MB); GCs and GC us: its scavenges and their pauses (wall time).',
        threadTimes() ? '' : 'this system has no /proc/thread-self/schedstat: CPU figures are missing.',
      ].filter(Boolean),
    });
    return tables;
  },
};
