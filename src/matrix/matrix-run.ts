// Running a matrix: the regression corpus first, then every (cell, mode) row one at a time (the
// machine has few cores and a cell's own workers use them), each given its share of one time
// budget (plan.ts), graded (grade.ts) and reported. The engines are injected so tests can stub
// them; the matrix command passes the real ones.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunConfig } from '../kernel/config.ts';
import type { RunResult } from '../report/result.ts';
import type { Scenario } from '../kernel/scenario.ts';
import { UsageError, formatDuration, validateRun, type Registry } from '../run/validate.ts';
import type { runStress as RunStressFn } from '../run/orchestrate.ts';
import type { InvariantId } from '../kernel/invariants.ts';
import { makeLock } from '../locks/index.ts';
import { DEFAULT_MAX_STEPS } from '../sched/controlled.ts';
import { explore, type ExploreResult } from '../sched/explore.ts';
import type { ParallelExplore, ParallelOptions } from '../run/explore-parallel.ts';
import { strategySpecs } from '../sched/strategies/index.ts';
import {
  REPRO_FORMAT, formatJson, reproSchemaError, runRepro, validateRepro, ReproError, type ReproFile, type Resolver,
} from '../sched/repro.ts';
import { writeFinding } from '../run/finding.ts';
import { writeFileAtomic } from '../report/atomic.ts';
import { REPORT_WRITERS, writeReports } from '../report/write.ts';
import { violationLine } from '../report/interleaving.ts';
import { grade, runFound, type Grade, type Verdict } from './grade.ts';
import { BUDGET_LIMITS, BudgetSplitter, orderRows } from './plan.ts';
import { expectedText, isBreaks, type Cell, type CellMode } from './cells.ts';
import { cellsCaught, detectSummary, type CellsCaught, type DetectSummary } from './detect.ts';

/** Free mode keeps collecting this long after the first violation (orchestrate.ts): the time to
 * detect is the run's elapsed time less this window. */
export const COLLECT_AFTER_VIOLATION_MS = 200;
/** Default hung-task bound of a matrix cell: long enough for a loaded 2-core machine, short
 * enough that a lost wake-up is reported well inside a cell's share. */
export const MATRIX_HUNG_MS = 2_000;
/** An explorer gets this long past its share to stop by itself before the row gives up on it. */
const EXPLORE_GRACE_MS = 15_000;
/** Shrinking a controlled find into a corpus candidate. */
const SHRINK_BUDGET_MS = 3_000;

export type RowKind = CellMode | 'replay';

/** One graded row of the matrix (run.json `rows`). */
export interface RowResult {
  cell: string;
  scenario: string;
  mode: RowKind;
  expected: string;
  verdict: Verdict;
  reason: string;
  notes: string[];
  found: InvariantId[];
  /** time from the start of the run to the first find (free: wall clock less the collection
   * window; controlled: exploration time), null when nothing was found */
  detectMs: number | null;
  /** controlled: iterations until the find */
  detectIterations: number | null;
  /** a known-bad cell's rows: the modes whose row caught it (a cell counts as caught when either
   * of its modes catches it; a row whose own mode did not PASSES on the other's find and says
   * so); null for other rows */
  caughtBy: CellMode[] | null;
  /** the share of the budget granted (0 for replays) */
  budgetMs: number;
  /** wall time of the whole row (worker start-up, checks and reports included) */
  wallMs: number;
  /** free: operations done; controlled: iterations run */
  work: number;
  /** the first violation, one line */
  firstViolation: string | null;
  /** a command that runs the same thing again */
  command: string;
  /** the row's own report directory or file, relative to the matrix report directory */
  report: string | null;
  /** a corpus entry written for a controlled find (relative), or the entry a replay row ran */
  corpus: string | null;
  reasoning: string;
  source: string;
}

export interface MatrixResult {
  format: 'pagelock-stress-matrix';
  version: 1;
  tool: { name: string; version: string; commit: string; node: string };
  runId: string;
  startedAt: string;
  elapsedMs: number;
  outcome: 'SUCCESS' | 'FAILURE';
  /** what was asked (run.json readers that expect a run's config find scenario/lock/seed here) */
  config: {
    scenario: 'matrix'; lock: '-'; seed: string; budgetMs: number; modes: CellMode[]; cells: string | null;
    shard: string; plugins: string[]; maxIterations: number; extra: Record<string, never>;
  };
  /** cells before and after --cells / --shard */
  cellsTotal: number;
  cellsSelected: number;
  counts: Record<Verdict, number>;
  /** time to detect over the known-bad rows, per mode (matrix-report.ts detectSummary) */
  detect: DetectSummary[];
  /** the known-bad cells, and which modes caught them (detect.ts cellsCaught) */
  detectCells: CellsCaught;
  rows: RowResult[];
  notes: string[];
  // the fields of a single run's record, empty, so tools reading run.json (report, merge) see a
  // well-formed record whose outcome is the graded one
  mode: 'matrix';
  endReason: 'matrix' | 'signal';
  violations: never[];
  violationCount: 0;
  hung: never[];
  tasks: never[];
  samples: never[];
  invariantsChecked: never[];
}

// ---- the regression corpus ---------------------------------------------------------------------

export const CORPUS_FORMAT = 'pagelock-stress-regression';

/** One checked-in regression (stress/regressions/*.json). */
export interface CorpusEntry {
  format: typeof CORPUS_FORMAT;
  version: 1;
  /** the cell it belongs to: its expectation grades the replay */
  cell: string;
  /** what the bug was, and where it was found */
  note?: string;
  added?: string;
  /** a repro file (src/sched/repro.ts) */
  repro: ReproFile;
}

export interface CorpusFile {
  file: string;
  entry: CorpusEntry | null;
  /** why it could not be read */
  error?: string;
}

/**
 * The corpus files of `dir` (*.json, sorted), each read and checked: a file that is not a corpus
 * entry, or whose repro does not have the shape of a repro file (REPRO_SCHEMA), gets an `error`
 * (its replay row FAILS). A directory that does not exist or cannot be read is a UsageError (one
 * line, exit 2), never an empty corpus.
 */
export function readCorpus(dir: string): CorpusFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`regression corpus ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot read it (${code ?? (e as Error).message})`}`);
  }
  return names.map((n) => {
    const file = join(dir, n);
    let j: Partial<CorpusEntry>;
    try {
      j = JSON.parse(readFileSync(file, 'utf8')) as Partial<CorpusEntry>;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { file, entry: null, error: code ? `cannot read it (${code})` : `not valid JSON: ${(e as Error).message.split('\n')[0]}` };
    }
    if (!j || typeof j !== 'object' || Array.isArray(j)) return { file, entry: null, error: 'not a corpus entry (the top level is not a JSON object)' };
    if (j.format !== CORPUS_FORMAT) return { file, entry: null, error: `"format" is ${JSON.stringify(j.format)}, want "${CORPUS_FORMAT}"` };
    if (j.version !== 1) return { file, entry: null, error: `version ${JSON.stringify(j.version)} is not supported` };
    if (typeof j.cell !== 'string' || !j.cell) return { file, entry: null, error: '"cell" must name a matrix cell' };
    if (!j.repro || typeof j.repro !== 'object' || (j.repro as { format?: unknown }).format !== REPRO_FORMAT)
      return { file, entry: null, error: `"repro" must be a repro file (format "${REPRO_FORMAT}")` };
    const shape = reproSchemaError(j.repro);
    if (shape) return { file, entry: null, error: `bad repro: ${shape}` };
    return { file, entry: j as CorpusEntry };
  });
}

export function corpusEntryFor(cell: Cell, repro: ReproFile, note: string, at: Date): CorpusEntry {
  return { format: CORPUS_FORMAT, version: 1, cell: cell.name, note, added: at.toISOString().slice(0, 10), repro };
}

/** A corpus entry must be a repro of its own cell: same scenario, and the cell's lock and
 * scenario flags (those the repro records) unchanged. */
export function entryMismatch(cell: Cell, r: ReproFile): string | null {
  if (r.scenario !== cell.scenario) return `its repro runs scenario ${r.scenario}, the cell ${cell.scenario}`;
  if (cell.cfg.lock && r.config.lock !== cell.cfg.lock) return `its repro uses lock ${r.config.lock}, the cell ${cell.cfg.lock}`;
  for (const [k, v] of Object.entries(cell.cfg.extra ?? {}))
    if (r.config.extra?.[k] !== undefined && r.config.extra[k] !== v) return `its repro has --${k} ${r.config.extra[k]}, the cell ${v}`;
  return null;
}

// ---- the rows ----------------------------------------------------------------------------------

/** The command-line flags that make one row's run configuration (validated like `run`'s). */
export function cellArgv(cell: Cell, mode: CellMode, seed: string, durationMs: number): string[] {
  const c = cell.cfg;
  const argv = ['--scenario', cell.scenario];
  if (c.lock) argv.push('--lock', c.lock);
  if (c.unfairness !== undefined) argv.push('--unfairness', String(c.unfairness));
  for (const v of c.variants ?? []) argv.push('--variant', v);
  const workers = mode === 'controlled' ? (cell.controlled.workers ?? Math.min(c.workers ?? 3, 3)) : Math.min(c.workers ?? 4, 4);
  argv.push('--workers', String(workers));
  if (c.pages !== undefined) argv.push('--pages', String(c.pages));
  if (c.buckets !== undefined) argv.push('--buckets', String(c.buckets));
  argv.push('--seed', seed);
  if (mode === 'free') {
    argv.push('--duration', formatDuration(Math.max(1, durationMs)));
    if (c.perturb) argv.push('--perturb', c.perturb);
    if (c.stutter === false) argv.push('--no-stutter');
    argv.push('--hung', formatDuration(c.hungMs ?? MATRIX_HUNG_MS));
  }
  const extra = { ...(c.extra ?? {}), ...(mode === 'controlled' ? cell.controlled.extra ?? {} : {}) };
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v === 'boolean') argv.push(v ? `--${k}` : `--no-${k}`);
    else argv.push(`--${k}`, String(v));
  }
  return argv;
}

const quote = (a: string) => (/^[A-Za-z0-9._\/:=,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function cellSlug(name: string): string {
  return name.replace(/\//g, '__').replace(/[^A-Za-z0-9._=,+-]+/g, '_');
}

export interface MatrixEngines {
  runStress: typeof RunStressFn;
  exploreParallel: (o: ParallelOptions) => ParallelExplore;
}

export interface MatrixOptions {
  /** the selected cells (after --cells and --shard) */
  cells: readonly Cell[];
  cellsTotal: number;
  modes: readonly CellMode[];
  budgetMs: number;
  seed: string;
  maxIterations: number;
  /** absolute; created by the caller */
  reportDir: string;
  /** the corpus entries that belong to the selected cells (or that name no known cell) */
  corpus: readonly CorpusFile[];
  /** every cell there is (a corpus entry naming a cell not among them fails) */
  allCells: readonly Cell[];
  registry: Registry;
  engines: MatrixEngines;
  tool: MatrixResult['tool'];
  runId: string;
  startedAt: Date;
  /** shown in the config record */
  cellsFilter: string | null;
  shard: string;
  plugins: string[];
  /** the command prefix users type ('pagelock-stress', 'npm run stress --') */
  cli?: string;
  signal?: AbortSignal;
  now?: () => number;
  onRow?: (r: RowResult, index: number, total: number) => void;
  /** a known-bad row not caught in its share, to be tried again at the end */
  onRetry?: (r: RowResult) => void;
}

const resolverOf = (reg: Registry): Resolver => ({
  scenario: (name) => reg.scenarios.find((s) => s.name === name),
  scenarioNames: () => reg.scenarios.map((s) => s.name),
  lock: (cfg) => (reg.locks.some((l) => l.name === cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => reg.locks.map((l) => l.name),
});

function baseRow(cell: Cell | null, name: string, mode: RowKind, g: Grade, o: Partial<RowResult>): RowResult {
  return {
    cell: name, scenario: cell?.scenario ?? '?', mode, expected: cell ? expectedText(cell.expected) : '?',
    verdict: g.verdict, reason: g.reason, notes: g.notes, found: [], detectMs: null, detectIterations: null, caughtBy: null, budgetMs: 0,
    wallMs: 0, work: 0, firstViolation: null, command: '', report: null, corpus: null,
    reasoning: cell?.reasoning ?? '', source: cell?.source ?? '', ...o,
  };
}

const errorGrade = (msg: string): Grade => ({ verdict: 'FAIL', reason: `error: ${msg}`, caught: [], unexpected: [], notes: [] });

export async function runMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const cli = o.cli ?? 'pagelock-stress';
  const rows: RowResult[] = [];
  const notes: string[] = [];
  const resolver = resolverOf(o.registry);
  const plan = orderRows(o.cells, o.modes);
  const total = o.corpus.length + plan.length;
  const emit = (r: RowResult) => {
    rows.push(r);
    o.onRow?.(r, rows.length, total);
  };
  const rel = (p: string) => relative(o.reportDir, p).split('\\').join('/');

  // 1. the corpus: exact replays, fast, before anything else
  for (const cf of o.corpus) {
    const name = cf.entry?.cell ?? '(unreadable entry)';
    const cell = o.allCells.find((c) => c.name === cf.entry?.cell) ?? null;
    const corpus = cf.file;
    if (o.signal?.aborted) break;
    const ts = now();
    if (!cf.entry) {
      emit(baseRow(null, name, 'replay', errorGrade(`corpus entry ${corpus}: ${cf.error}`), { corpus }));
      continue;
    }
    if (!cell) {
      emit(baseRow(null, name, 'replay', errorGrade(`corpus entry ${corpus} names cell '${cf.entry.cell}', which does not exist (renamed? update or delete the entry)`), { corpus }));
      continue;
    }
    const mismatch = entryMismatch(cell, cf.entry.repro);
    if (mismatch) {
      emit(baseRow(cell, name, 'replay', errorGrade(`corpus entry ${corpus} does not belong to cell ${cell.name}: ${mismatch}`), { corpus }));
      continue;
    }
    try {
      const l = validateRepro(cf.entry.repro, resolver);
      const r = runRepro(l);
      const v = r.result.violation;
      const g = grade(cell.expected, { found: v ? [v.id] : [] });
      if (g.verdict === 'FAIL' && isBreaks(cell.expected) && !v)
        g.reason = `the regression no longer reproduces (${r.diverged} of ${l.choices.length} recorded choices could not be followed): `
          + 'the detector regressed, or the model changed under the schedule (re-record the entry)';
      else if (v && v.id !== l.file.violation.id) g.notes.push(`recorded as ${l.file.violation.id}, replayed as ${v.id}`);
      if (r.diverged) g.notes.push(`${r.diverged} recorded choices could not be followed`);
      emit(baseRow(cell, name, 'replay', g, {
        found: v ? [v.id] : [], detectMs: v ? 0 : null, wallMs: Math.round(now() - ts), work: r.result.steps,
        firstViolation: v ? `${v.id}: ${v.message}` : null, command: `${cli} replay ${quote(corpus)}`,
        corpus,
      }));
    } catch (e) {
      const msg = e instanceof ReproError ? e.message : (e as Error)?.stack?.split('\n')[0] ?? String(e);
      emit(baseRow(cell, name, 'replay', errorGrade(`corpus entry ${corpus}: ${msg}`), { corpus }));
    }
  }

  // a known-bad cell is caught when either of its modes catches it (each mode's row still runs,
  // so both times to detect are recorded): the rows that caught each cell, by mode
  const caught = new Map<string, Map<CellMode, RowResult>>();
  const noteCatch = (cell: Cell, r: RowResult) => {
    if (!isBreaks(cell.expected) || r.mode === 'replay' || r.verdict !== 'PASS' || !r.found.length) return;
    const m = caught.get(cell.name) ?? new Map<CellMode, RowResult>();
    m.set(r.mode, r);
    caught.set(cell.name, m);
  };
  const caughtElsewhere = (cell: Cell, r: RowResult): RowResult | null => {
    for (const [mode, x] of caught.get(cell.name) ?? []) if (mode !== r.mode) return x;
    return null;
  };

  // 2. the cells: one share of the budget each, recomputed as time goes
  const budget = new BudgetSplitter(Math.max(0, o.budgetMs - (now() - t0)), plan);
  const tCells = now();
  const pending: Retry[] = [];
  let notRun = 0;
  for (const { cell, mode } of plan) {
    if (o.signal?.aborted) {
      emit(baseRow(cell, cell.name, mode, { verdict: 'SKIPPED', reason: 'the matrix was interrupted', caught: [], unexpected: [], notes: [] }, {}));
      budget.done(0, 0);
      continue;
    }
    const fit = o.budgetMs === 0 ? { ok: true as const } : budget.fits(now() - tCells);
    if (!fit.ok) {
      // the budget is kept: a row it cannot give its floor is left out, and says why
      emit(baseRow(cell, cell.name, mode, { verdict: 'SKIPPED', reason: fit.why, caught: [], unexpected: [], notes: [] }, {}));
      budget.done(0, 0);
      notRun++;
      continue;
    }
    const share = o.budgetMs === 0 ? BUDGET_LIMITS[mode].floorMs : budget.next(now() - tCells);
    const ts = now();
    const dir = join(o.reportDir, 'cells', `${cellSlug(cell.name)}.${mode}`);
    let row: RowResult;
    let activeMs = 0;
    let setup: Setup | null = null;
    try {
      if (cell.error) throw new Error(cell.error);
      const argv = cellArgv(cell, mode, o.seed, share);
      let v;
      try {
        v = validateRun(argv, o.registry);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        throw new Error(`the cell's configuration is not valid: ${e.message} (flags: ${argv.join(' ')})`);
      }
      mkdirSync(dir, { recursive: true });
      setup = { cell, mode, cfg: v.cfg, scenario: v.scenario, argv, dir };
      ({ row, activeMs } = await runRow(setup, share, o, rel, cli, null));
    } catch (e) {
      row = baseRow(cell, cell.name, mode, errorGrade((e as Error)?.message ?? String(e)), {});
    }
    row.budgetMs = share;
    row.wallMs = Math.round(now() - ts);
    budget.done(row.wallMs, activeMs);
    noteCatch(cell, row);
    const other = caughtElsewhere(cell, row);
    if (other && notCaughtYet(cell, row)) {
      // the cell's other mode caught it already: the cell is caught, no second try
      emit(onOthersFind(row, other));
    } else if (setup && notCaughtYet(cell, row) && o.budgetMs > 0 && !o.signal?.aborted) {
      // not caught in its share: graded after a second try with what the other rows left
      pending.push({ setup, index: rows.length, first: row, activeMs });
      budget.reserve(cell.weight);
      rows.push(row);
      o.onRetry?.(row);
    } else emit(row);
  }

  // 3. second tries for the known-bad rows not caught yet, sharing the time left by weight; a
  //    row whose cell the other mode caught meanwhile (in its first try or a second one) needs
  //    none. Controlled rows go first: their second try goes on from the iteration the first
  //    stopped at, in this thread (no worker start-up), and controlled mode is the one that
  //    catches most known-bad cells sooner (matrix --budget 5m, seed 1: 31/31 rows, median
  //    0.05 s, against free mode's 26/27, median 0.45 s), so a cell it catches spares its free
  //    row's second try
  pending.sort((a, b) => (a.setup.mode === 'controlled' ? 0 : 1) - (b.setup.mode === 'controlled' ? 0 : 1));
  for (let k = 0; k < pending.length; k++) {
    const p = pending[k];
    const other = caughtElsewhere(p.setup.cell, p.first);
    if (other) {
      rows[p.index] = onOthersFind(p.first, other);
      o.onRow?.(rows[p.index], p.index + 1, total);
      continue;
    }
    const weightLeft = pending.slice(k).reduce((a, x) => a + x.setup.cell.weight, 0);
    const usable = o.budgetMs - (now() - t0) - budget.overheadMs() * (pending.length - k);
    const limits = BUDGET_LIMITS[p.setup.mode];
    const want = (usable * p.setup.cell.weight) / weightLeft;
    let row = p.first;
    if (!o.signal?.aborted && want >= limits.floorMs) {
      const share = Math.round(Math.min(limits.ceilingMs, want));
      const ts = now();
      try {
        p.setup.argv = cellArgv(p.setup.cell, p.setup.mode, o.seed, share);
        ({ row } = await runRow(p.setup, share, o, rel, cli, { activeMs: p.activeMs, work: p.first.work }));
      } catch (e) {
        row = baseRow(p.setup.cell, p.setup.cell.name, p.setup.mode, errorGrade((e as Error)?.message ?? String(e)), {});
      }
      row.budgetMs = p.first.budgetMs + share;
      row.wallMs = p.first.wallMs + Math.round(now() - ts);
      if (row.found.length) row.notes.unshift(`caught on its second try (${secs(share)} of the time the other rows left, after ${secs(p.first.budgetMs)} of its own share)`);
      else if (notCaughtYet(p.setup.cell, row)) row.reason = `${expectedText(p.setup.cell.expected)} was not caught in its share (${secs(p.first.budgetMs)}) nor on a second try (${secs(share)}): the detector regressed`;
    } else {
      row.reason = `${expectedText(p.setup.cell.expected)} was not caught in its share (${secs(p.first.budgetMs)}), and no time was left for a second try: the detector regressed, or the budget is too small`;
    }
    noteCatch(p.setup.cell, row);
    rows[p.index] = row;
    o.onRow?.(row, p.index + 1, total);
  }
  rows.forEach((r, i) => {
    const cell = o.allCells.find((c) => c.name === r.cell);
    if (r.mode === 'replay' || !cell || !isBreaks(cell.expected)) return;
    // a row whose second try came before the other mode's catching one
    const other = caughtElsewhere(cell, r);
    if (other && notCaughtYet(cell, r)) rows[i] = r = onOthersFind(r, other);
    r.caughtBy = (['free', 'controlled'] as const).filter((m) => caught.get(cell.name)?.has(m));
  });

  const counts: Record<Verdict, number> = { PASS: 0, FAIL: 0, OPEN: 0, SKIPPED: 0 };
  for (const r of rows) counts[r.verdict]++;
  if (o.signal?.aborted) notes.push('interrupted: the rows after the signal were skipped');
  if (notRun) notes.push(`budget: ${notRun} of ${plan.length} rows not run (SKIPPED): the --budget ${formatDuration(o.budgetMs)} had no time left`
    + ` for their minimal share; a larger --budget or a smaller --shard runs them`);
  const failed = counts.FAIL > 0 || !!o.signal?.aborted;
  return {
    format: 'pagelock-stress-matrix', version: 1, tool: o.tool, runId: o.runId, startedAt: o.startedAt.toISOString(),
    elapsedMs: Math.round(now() - t0), outcome: failed ? 'FAILURE' : 'SUCCESS',
    config: {
      scenario: 'matrix', lock: '-', seed: o.seed, budgetMs: o.budgetMs, modes: [...o.modes], cells: o.cellsFilter,
      shard: o.shard, plugins: o.plugins, maxIterations: o.maxIterations, extra: {},
    },
    cellsTotal: o.cellsTotal, cellsSelected: o.cells.length, counts, detect: detectSummary({ rows }), detectCells: cellsCaught({ rows }), rows, notes,
    mode: 'matrix', endReason: o.signal?.aborted ? 'signal' : 'matrix',
    violations: [], violationCount: 0, hung: [], tasks: [], samples: [], invariantsChecked: [],
  };
}

type Rel = (p: string) => string;

/** What a row needs to run (again). */
interface Setup {
  cell: Cell;
  mode: CellMode;
  cfg: RunConfig;
  scenario: Scenario;
  argv: string[];
  dir: string;
}

/** A known-bad row waiting for its second try. */
interface Retry {
  setup: Setup;
  /** its slot in the rows */
  index: number;
  first: RowResult;
  activeMs: number;
}

/** Time and work spent on a row before this try. */
interface Prior {
  activeMs: number;
  work: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A known-bad row that caught nothing in its mode, whose cell the other mode's row caught. */
function onOthersFind(r: RowResult, other: RowResult): RowResult {
  return {
    ...r, verdict: 'PASS',
    reason: `caught by its ${other.mode} row (${other.found.join(', ')} in ${((other.detectMs ?? 0) / 1000).toFixed(2)} s${other.detectIterations !== null ? `, iteration ${other.detectIterations}` : ''}); ${r.mode} mode did not catch it in its share (${secs(r.budgetMs)})`,
  };
}

/** A known-bad row that ran normally and caught nothing (not an error, not interrupted). */
function notCaughtYet(cell: Cell, row: RowResult): boolean {
  return isBreaks(cell.expected) && row.verdict === 'FAIL' && row.found.length === 0 && !row.reason.startsWith('error:');
}

function runRow(s: Setup, share: number, o: MatrixOptions, rel: Rel, cli: string, prior: Prior | null): Promise<{ row: RowResult; activeMs: number }> {
  return s.mode === 'free'
    ? freeRow(s.cell, s.cfg, s.argv, share, s.dir, o, rel, cli, prior)
    : controlledRow(s.cell, s.cfg, s.scenario, s.argv, share, s.dir, o, rel, cli, prior);
}

async function freeRow(cell: Cell, cfg: RunConfig, argv: string[], share: number, dir: string, o: MatrixOptions, rel: Rel, cli: string, prior: Prior | null): Promise<{ row: RowResult; activeMs: number }> {
  cfg.reportDir = rel(dir);
  cfg.durationMs = share;
  let r: RunResult;
  try {
    r = await o.engines.runStress(cfg, {}, o.signal);
  } catch (e) {
    return { row: baseRow(cell, cell.name, 'free', errorGrade(`the run crashed: ${(e as Error)?.message ?? String(e)}`), { command: `${cli} run ${argv.map(quote).join(' ')}` }), activeMs: 0 };
  }
  const found = runFound(r);
  const interrupted = r.endReason === 'signal';
  const g = grade(cell.expected, { found, interrupted });
  const roleOf = (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
  const detectMs = found.length ? (prior?.activeMs ?? 0) + Math.max(0, r.elapsedMs - (r.endReason === 'violation' ? COLLECT_AFTER_VIOLATION_MS : 0)) : null;
  // every row keeps its run's record; the HTML page only where there is something to look at
  const writers = found.length ? REPORT_WRITERS : REPORT_WRITERS.filter((w) => w.file !== 'index.html');
  const { errors } = writeReports(dir, { ...r, runId: `${o.runId}/${cellSlug(cell.name)}.free` }, writers);
  for (const e of errors) g.notes.push(`could not write a report: ${e}`);
  if (r.notes.length && found.length) g.notes.push(...r.notes.slice(0, 3).map((n) => n.split('\n')[0]));
  const first = r.violations[0] ? violationLine(r.violations[0], roleOf) : r.hung[0] ? `HUNG: task ${r.hung[0].task} (${r.hung[0].role}) ${r.hung[0].state}` : null;
  return {
    row: baseRow(cell, cell.name, 'free', g, {
      found, detectMs, work: (prior?.work ?? 0) + r.tasks.reduce((a, t) => a + t.ops, 0), firstViolation: first,
      command: `${cli} run ${argv.map(quote).join(' ')}`, report: rel(dir),
    }),
    activeMs: r.elapsedMs,
  };
}

async function controlledRow(cell: Cell, cfg: RunConfig, scenario: Scenario, argv: string[], share: number, dir: string, o: MatrixOptions, rel: Rel, cli: string, prior: Prior | null): Promise<{ row: RowResult; activeMs: number }> {
  const depth = cell.controlled.depth ?? 3;
  const opsPerActor = cell.controlled.opsPerActor ?? 4;
  const strategy = cell.controlled.strategy ?? 'portfolio';
  const strategies = strategySpecs(strategy, depth);
  const command = `${cli} explore ${argv.map(quote).join(' ')} --strategy ${strategy} --depth ${depth} --ops-per-actor ${opsPerActor}`
    + ` --iterations ${o.maxIterations} --duration ${formatDuration(Math.max(1, share))}`;
  let res: ExploreResult;
  if (prior) {
    // a second try goes on from the iteration the first one stopped at (iteration i is a function
    // of the seed and i only), in this thread
    const rest = o.maxIterations - prior.work;
    if (rest <= 0) return { row: baseRow(cell, cell.name, 'controlled', grade(cell.expected, { found: [] }), { command, work: prior.work }), activeMs: 0 };
    try {
      res = explore({
        scenario, cfg, lock: makeLock(cfg.lock, { unfairness: cfg.unfairness }), strategies, iterations: rest,
        durationMs: share, opsPerActor, seed: cfg.seed, maxSteps: DEFAULT_MAX_STEPS, start: prior.work, shouldStop: () => !!o.signal?.aborted,
      });
    } catch (e) {
      return { row: baseRow(cell, cell.name, 'controlled', errorGrade((e as Error)?.message?.split('\n')[0] ?? String(e)), { command }), activeMs: 0 };
    }
  } else {
    const px = o.engines.exploreParallel({
      scenario: cell.scenario, cfg, strategies, iterations: o.maxIterations, durationMs: share,
      opsPerActor, seed: cfg.seed, keepGoing: false, maxSteps: DEFAULT_MAX_STEPS, threads: 1,
    });
    const onAbort = () => px.stop();
    o.signal?.addEventListener('abort', onAbort);
    let stopTimer: NodeJS.Timeout | undefined, failTimer: NodeJS.Timeout | undefined;
    try {
      res = await Promise.race([
        px.result,
        new Promise<never>((_, reject) => {
          stopTimer = setTimeout(() => px.stop(), share + EXPLORE_GRACE_MS);
          failTimer = setTimeout(() => reject(new Error(`the explorer did not finish within ${formatDuration(share + 2 * EXPLORE_GRACE_MS)}`)), share + 2 * EXPLORE_GRACE_MS);
        }),
      ]);
    } catch (e) {
      return { row: baseRow(cell, cell.name, 'controlled', errorGrade((e as Error)?.message?.split('\n')[0] ?? String(e)), { command }), activeMs: 0 };
    } finally {
      clearTimeout(stopTimer);
      clearTimeout(failTimer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }
  const find = res.finds[0];
  const found: InvariantId[] = find ? [find.violation.id] : res.hungStep ? ['HUNG'] : []; // a step that never returned (it cannot be replayed)
  const g = grade(cell.expected, { found, interrupted: res.stats.stoppedBy === 'stop' && !!o.signal?.aborted });
  let report: string | null = null, corpus: string | null = null;
  if (find) {
    try {
      // one file, a small corpus candidate: shrunk within a few seconds (over the find), else as
      // found; its diagram beside it (src/run/finding.ts)
      const w = writeFinding({
        find, scenario, cfg, lock: resolverOf(o.registry).lock(cfg)!,
        tool: { name: o.tool.name, version: o.tool.version, commit: o.tool.commit },
      }, {
        path: join(dir, 'repro.json'),
        shrink: { budgetMs: SHRINK_BUDGET_MS, maxRuns: 2_000, to: 'over', bestEffort: true },
        markdown: { title: `${cell.name} (controlled): ${find.violation.id}`, path: join(dir, 'diagram.md') },
        shown: rel,
        cli,
      });
      const keep = w.kept;
      if (w.shrinkError) g.notes.push(`kept the find unshrunk: ${w.shrinkError.split('\n')[0]}`);
      report = rel(dir);
      const cdir = join(o.reportDir, 'regressions');
      mkdirSync(cdir, { recursive: true });
      const cpath = join(cdir, `${cellSlug(cell.name)}--${find.violation.id}.json`);
      writeFileAtomic(cpath, formatJson(corpusEntryFor(cell, keep, `${find.violation.id} found by matrix ${o.runId}, seed ${cfg.seed}, iteration ${find.iteration}`, o.startedAt)) + '\n');
      corpus = rel(cpath);
    } catch (e) {
      g.notes.push(`could not write the repro: ${(e as Error)?.message ?? String(e)}`);
    }
  }
  return {
    row: baseRow(cell, cell.name, 'controlled', g, {
      found, detectMs: find ? Math.round((prior?.activeMs ?? 0) + res.stats.elapsedMs) : null, detectIterations: find ? find.iteration + 1 : null,
      work: (prior?.work ?? 0) + res.stats.iterations, firstViolation: find ? `${find.violation.id}: ${find.violation.message}` : null,
      command, report, corpus,
    }),
    activeMs: res.stats.elapsedMs,
  };
}
