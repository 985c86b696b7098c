// Time to detect: every known-bad matrix row, in each of its modes, run as the matrix runs it
// (the cell's configuration; controlled: the cell's strategy), on seeds 1-3, until the first
// find of an invariant the cell expects or a cap; the medians over all rows, per mode, are the
// detector's health in one figure each. Free-mode figures depend on the machine and its load.
//
//   npm run bench -- detect            seeds 1-3, caps: free 10 s, controlled 20,000 iterations
//   npm run bench -- --quick detect    seed 1, caps: free 5 s, controlled 5,000 iterations
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { isBreaks, type Cell, type CellMode } from '../../src/matrix/cells.ts';
import { cellArgv, COLLECT_AFTER_VIOLATION_MS } from '../../src/matrix/matrix-run.ts';
import { runFound } from '../../src/matrix/grade.ts';
import { validateRun } from '../../src/run/validate.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { strategySpecs } from '../../src/sched/strategies/index.ts';
import { buildRegistry } from '../commands/context.ts';
import { exploreCell } from './strategies.ts';
import { fmt, median, type BenchSection, type BenchTable } from './common.ts';

interface Detect {
  cell: string;
  mode: CellMode;
  seed: number;
  /** ms to the first expected find, null when the cap came first */
  ms: number | null;
  iterations: number | null;
}

async function freeDetect(cell: Cell, seed: string, capMs: number): Promise<{ ms: number | null }> {
  const v = validateRun(cellArgv(cell, 'free', seed, capMs), buildRegistry());
  const r = await runStress({ ...v.cfg, reportDir: null, durationMs: capMs });
  const expected = isBreaks(cell.expected) ? cell.expected.breaks : [];
  const hit = runFound(r).some((id) => expected.includes(id));
  // the run stops at its first violation and collects a little longer (as the matrix counts it)
  return { ms: hit ? Math.max(0, r.elapsedMs - (r.endReason === 'violation' ? COLLECT_AFTER_VIOLATION_MS : 0)) : null };
}

export const detectBench: BenchSection = {
  name: 'detect',
  description: 'time to detect every known-bad matrix row, free and controlled (medians over the rows), seeds 1-3',
  optIn: true,
  async run(o) {
    const seeds = o.quick ? [1] : [1, 2, 3];
    const freeCapMs = o.quick ? 5_000 : 10_000;
    const itCap = o.quick ? 5_000 : 20_000;
    const only = process.env.DETECT_CELLS?.split(',');
    const cells = matrixCells().filter((c) => !c.error && isBreaks(c.expected) && (!only || only.includes(c.name)));
    const out: Detect[] = [];
    for (const cell of cells) {
      for (const mode of cell.modes) {
        for (const seed of seeds) {
          if (mode === 'free') {
            const r = await freeDetect(cell, String(seed), freeCapMs);
            out.push({ cell: cell.name, mode, seed, ms: r.ms, iterations: null });
          } else {
            const specs = strategySpecs(cell.controlled.strategy ?? 'portfolio', cell.controlled.depth ?? 3);
            const r = exploreCell(cell, specs, String(seed), itCap);
            out.push({ cell: cell.name, mode, seed, ms: r.iterations === null ? null : r.ms, iterations: r.iterations });
          }
          const d = out[out.length - 1];
          process.stderr.write(`  ${cell.name} ${mode} seed ${seed}: ${d.ms === null ? 'not caught' : `${fmt(d.ms / 1000, 2)} s`}${d.iterations ? ` (${d.iterations} iterations)` : ''}\n`);
        }
      }
    }
    const secs = (xs: (number | null)[]) => {
      const hits = xs.filter((x): x is number => x !== null);
      return `${hits.length ? `${fmt(median(hits) / 1000, 2)} / ${fmt(Math.max(...hits) / 1000, 2)}` : '-'}${hits.length < xs.length ? ` (${xs.length - hits.length} not caught)` : ''}`;
    };
    const per: BenchTable = {
      title: `time to detect per known-bad row, median / max s over seeds ${seeds.join(',')} (caps: free ${freeCapMs / 1000} s, controlled ${itCap.toLocaleString('en-US')} iterations)`,
      head: ['row', 'free', 'controlled', 'controlled iterations (median)'],
      rows: cells.map((c) => {
        const of = (m: CellMode) => out.filter((d) => d.cell === c.name && d.mode === m);
        const its = of('controlled').map((d) => d.iterations).filter((x): x is number => x !== null);
        return [c.name, c.modes.includes('free') ? secs(of('free').map((d) => d.ms)) : 'n/a', c.modes.includes('controlled') ? secs(of('controlled').map((d) => d.ms)) : 'n/a', its.length ? median(its) : '-'];
      }),
    };
    const summary: BenchTable = {
      title: 'time to detect over all known-bad rows and seeds',
      head: ['mode', 'runs caught', 'median s', 'max s', 'median iterations'],
      rows: (['free', 'controlled'] as const).map((m) => {
        const ds = out.filter((d) => d.mode === m);
        const hits = ds.map((d) => d.ms).filter((x): x is number => x !== null);
        const its = ds.map((d) => d.iterations).filter((x): x is number => x !== null);
        return [m, `${hits.length}/${ds.length}`, hits.length ? fmt(median(hits) / 1000, 2) : '-', hits.length ? fmt(Math.max(...hits) / 1000, 2) : '-', its.length ? median(its) : '-'];
      }),
      notes: ['a row not caught within its cap counts in "runs caught", not in the medians'],
    };
    return [per, summary];
  },
};
