// Benchmark plumbing: a section is one file exporting a BenchSection; index.ts runs them in one
// process and prints their tables. Figures are medians of several repetitions: the machines are
// noisy, so compare ratios measured in the same run, not absolute numbers across runs.
import { kernelOps } from '../../src/variants/index.ts';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { Shm } from '../../src/shm/shm.ts';
import { initShm } from '../../src/shm/init.ts';
import type { ShmSizes } from '../../src/shm/layout.ts';
import { Task } from '../../src/kernel/task.ts';
import type { PageLock } from '../../src/locks/types.ts';
import type { Step } from '../../src/kernel/step.ts';

export interface BenchTable {
  title: string;
  head: string[];
  rows: (string | number)[][];
  notes?: string[];
}

export interface BenchOptions {
  /** fewer and shorter repetitions (a smoke run) */
  quick: boolean;
  /** lock algorithms to measure */
  locks: string[];
}

export interface BenchSection {
  name: string;
  description: string;
  /** long: runs only when named (`npm run bench -- NAME`), not with the others */
  optIn?: boolean;
  run(o: BenchOptions): Promise<BenchTable[]>;
}

export function printTable(t: BenchTable, out: (l: string) => void = console.log): void {
  const cells = [t.head, ...t.rows.map((r) => r.map(String))];
  const w = t.head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  out(`\n${t.title}`);
  out(line(t.head));
  out(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of cells.slice(1)) out(line(r));
  for (const n of t.notes ?? []) out(`  ${n}`);
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
/** `1.43x (target <= 2x: ok)` */
export const ratio = (x: number, base: number, target: number): string =>
  `${fmt(x / base, 2)}x ${x / base <= target ? 'ok' : 'OVER'} (<= ${target}x)`;

export const nowNs = (): number => Number(process.hrtime.bigint());

/** A small model for one or a few tasks on a few pages. */
export function benchShm(tasks: number, pages = 1, buckets = 256): Shm {
  const sizes: ShmSizes = {
    pages, buckets, tasks, files: 0, pagesPerFile: 0, processes: 0, vmasPerProcess: 0, ptesPerVma: 0, ptesPerPtl: 1,
    flightEntries: 16, violationSlots: 4,
  };
  const shm = new Shm(sizes);
  initShm(shm);
  // pages in use, unlocked (as the locks scenario sets them up)
  shm.flags.fill(0);
  shm.refcount.fill(1);
  return shm;
}

export function benchTask(shm: Shm, id: number, lock: PageLock): Task {
  return new Task({ id, shm, ops: kernelOps({ lock }) });
}

/** Run a generator to its end with nothing around it: schedule points are skipped, 'now' is
 * answered; a wait cannot happen uncontended, so it is an error here. */
export function drain<T>(g: Step<T>): T {
  let send: unknown;
  for (;;) {
    const r = g.next(send);
    if (r.done) return r.value;
    const y = r.value;
    send = undefined;
    if (typeof y === 'string') continue;
    if (y.kind === 'now') send = nowNs();
    else if (y.kind === 'wake') Atomics.notify(y.arr, y.index, y.count);
    else throw new Error('drain: a wait in an uncontended loop');
  }
}

/** Start a bench worker (a .ts/.js file next to this one), from dist/ or from sources. */
export function benchWorker(file: string, workerData: unknown): Worker {
  const here = dirname(fileURLToPath(import.meta.url));
  if (import.meta.url.endsWith('.ts')) {
    const root = join(here, '..', '..');
    return new Worker(join(root, 'workers', 'bootstrap.mjs'), {
      workerData: { ...(workerData as object), __entry: pathToFileURL(join(here, `${file}.ts`)).href },
    });
  }
  return new Worker(join(here, `${file}.js`), { workerData });
}

/** Resolve with each worker's message; reject on an error or a non-zero exit. */
export function collect<T>(workers: Worker[]): Promise<T[]> {
  return Promise.all(workers.map((w) => new Promise<T>((resolve, reject) => {
    let got: T | undefined;
    w.on('message', (m) => { got = m as T; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && got !== undefined ? resolve(got) : reject(new Error(`bench worker exited ${code}`))));
  })));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
