// Which controlled-mode strategy finds the known bugs: every known-bad matrix row that has a
// controlled cell, explored with each strategy on seeds 1-5 in the cell's own controlled
// configuration (actors, operations per actor, scenario flags), until the first find of one of
// the cell's expected invariants or an iteration cap. The iteration at which a find happens is a
// function of the seed and the strategy only (explore.ts), so the figures do not depend on the
// machine; only the seconds do. docs/strategies.md shows the table and how the default was chosen.
//
//   npm run bench -- strategies            seeds 1-5, cap 20,000 iterations per exploration
//   npm run bench -- --quick strategies    seeds 1-3, cap 2,000
import { writeFileSync, mkdirSync } from 'node:fs';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { isBreaks, type Cell } from '../../src/matrix/cells.ts';
import { cellArgv } from '../../src/matrix/matrix-run.ts';
import { validateRun } from '../../src/run/validate.ts';
import { makeLock } from '../../src/locks/index.ts';
import { explore } from '../../src/sched/explore.ts';
import { portfolio, specName, type StrategySpec } from '../../src/sched/strategies/index.ts';
import { buildRegistry } from '../commands/context.ts';
import { fmt, median, type BenchSection, type BenchTable } from './common.ts';

/** The candidates: a random walk, PCT at several depths, the portfolio around depth 3, the
 * novelty-guided fuzzer (src/sched/strategies/novelty.ts). */
export const CANDIDATES: { name: string; specs: StrategySpec[] }[] = [
  { name: 'random', specs: [{ kind: 'random', depth: 3 }] },
  ...[1, 2, 3, 5].map((d) => ({ name: specName({ kind: 'pct', depth: d }), specs: [{ kind: 'pct', depth: d } as StrategySpec] })),
  { name: 'portfolio(3)', specs: portfolio(3) },
  { name: 'novelty', specs: [{ kind: 'novelty', depth: 3 }] },
];

/** The known-bad rows with a controlled cell. */
export function knownBadControlled(cells: readonly Cell[] = matrixCells()): Cell[] {
  return cells.filter((c) => !c.error && isBreaks(c.expected) && c.modes.includes('controlled'));
}

export interface StrategyRun {
  cell: string;
  strategy: string;
  seed: number;
  /** iterations until the find (1-based), null when the cap was reached first */
  iterations: number | null;
  found: string | null;
  ms: number;
}

/** One exploration of a cell's controlled row with the given strategies, stopping at the first
 * find of an invariant the cell expects (another find is kept going past: it is not this bug). */
export function exploreCell(cell: Cell, specs: StrategySpec[], seed: string, cap: number): { iterations: number | null; found: string | null; ms: number } {
  const v = validateRun(cellArgv(cell, 'controlled', seed, 0), buildRegistry());
  const expected = isBreaks(cell.expected) ? cell.expected.breaks : [];
  const t0 = performance.now();
  const r = explore({
    scenario: v.scenario, cfg: v.cfg, lock: makeLock(v.cfg.lock, { unfairness: v.cfg.unfairness }), strategies: specs,
    iterations: cap, opsPerActor: cell.controlled.opsPerActor ?? 4, seed, keepGoing: true,
    until: (f) => expected.includes(f.violation.id),
  });
  const ms = performance.now() - t0;
  const hit = r.stats.stoppedBy === 'find' ? r.finds[r.finds.length - 1] : null;
  return { iterations: hit ? hit.iteration + 1 : null, found: hit?.violation.id ?? null, ms };
}

/** Worst case over rows and seeds: misses first (more is worse), then the largest iteration count. */
export function worstCase(runs: readonly StrategyRun[]): { misses: number; worst: number } {
  const misses = runs.filter((r) => r.iterations === null).length;
  const worst = Math.max(0, ...runs.map((r) => r.iterations ?? 0));
  return { misses, worst };
}

export const strategiesBench: BenchSection = {
  name: 'strategies',
  description: 'iterations to find every known-bad controlled row, per strategy (random, pct d=1,2,3,5, portfolio, novelty), seeds 1-5',
  optIn: true,
  async run(o) {
    const seeds = o.quick ? [1, 2, 3] : [1, 2, 3, 4, 5];
    const cap = o.quick ? 2_000 : 20_000;
    // STRATEGIES_CELLS / STRATEGIES_ONLY: comma-separated rows / strategy names to measure (a re-measure of a part)
    const only = process.env.STRATEGIES_CELLS?.split(',');
    const onlyS = process.env.STRATEGIES_ONLY?.split(',');
    const cells = knownBadControlled().filter((c) => !only || only.includes(c.name));
    const candidates = CANDIDATES.filter((s) => !onlyS || onlyS.includes(s.name));
    const runs: StrategyRun[] = [];
    for (const cell of cells) {
      for (const s of candidates) {
        for (const seed of seeds) {
          const r = exploreCell(cell, s.specs, String(seed), cap);
          runs.push({ cell: cell.name, strategy: s.name, seed, ...r });
          process.stderr.write(`  ${cell.name} ${s.name} seed ${seed}: ${r.iterations ?? `> ${cap}`} (${fmt(r.ms / 1000, 2)} s)\n`);
        }
      }
    }
    const out = process.env.STRATEGIES_JSON;
    if (out) {
      mkdirSync(out.replace(/\/[^/]*$/, '') || '.', { recursive: true });
      writeFileSync(out, JSON.stringify({ seeds, cap, runs }, null, 1) + '\n');
    }
    const cellText = (c: string, s: string) => {
      const rs = runs.filter((r) => r.cell === c && r.strategy === s);
      const its = rs.map((r) => r.iterations);
      const hits = its.filter((x): x is number => x !== null);
      return `${hits.length ? `${median(hits)}/${Math.max(...hits)}` : '-'}${hits.length < its.length ? ` (${its.length - hits.length} miss)` : ''}`;
    };
    const per: BenchTable = {
      title: `iterations to the first expected find, median/max over seeds ${seeds[0]}-${seeds[seeds.length - 1]} (cap ${cap.toLocaleString('en-US')} iterations; "miss": not within the cap)`,
      head: ['row (controlled)', ...candidates.map((s) => s.name)],
      rows: cells.map((c) => [c.name, ...candidates.map((s) => cellText(c.name, s.name))]),
    };
    const summary: BenchTable = {
      title: 'per strategy over every row and seed: the worst case decides the default',
      head: ['strategy', 'misses', 'worst iterations', 'median iterations', 'total s'],
      rows: candidates.map((s) => {
        const rs = runs.filter((r) => r.strategy === s.name);
        const w = worstCase(rs);
        const hits = rs.map((r) => r.iterations).filter((x): x is number => x !== null);
        return [s.name, `${w.misses}/${rs.length}`, w.worst, hits.length ? median(hits) : '-', fmt(rs.reduce((a, r) => a + r.ms, 0) / 1000, 1)];
      }),
      notes: ['misses count first, then the worst iteration count; seconds depend on the machine and its load, iterations do not'],
    };
    return [per, summary];
  },
};
