// `matrix`: the nightly job. Every cell (scenario x variant, with its expected outcome:
// src/variants/index.ts) is run and graded, jcstress-style: the checked-in regression corpus
// is replayed first, then each cell in free and/or controlled mode with its share of ONE time
// budget. Prints a line per row as it finishes and a table at the end; writes run.json,
// summary.md, junit.xml (one test case per row) and each row's own report under cells/.
// Exit 0 when no row FAILS, 1 when one does (or the matrix was interrupted), 2 bad usage.
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { HELP_FLAG, UsageError, flagHelp, formatDuration, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { ensureWritableDir } from '../../src/report/atomic.ts';
import { exploreParallel } from '../../src/run/explore-parallel.ts';
import { matrixCells } from '../../src/matrix/extra-cells.ts';
import { expectedText, type Cell, type CellMode } from '../../src/matrix/cells.ts';
import { filterCells, inShard, orderRows, parseShard, shardOf, type Shard } from '../../src/matrix/plan.ts';
import { readCorpus, runMatrix, type CorpusFile } from '../../src/matrix/matrix-run.ts';
import { cellsCaughtLine, countsText, detectSummary, detectSummaryLine, matrixTable, rowLine, writeMatrixReports } from '../../src/matrix/matrix-report.ts';
import { loadedPlugins, pluginOf } from '../../src/plugin/plugin.ts';
import type { Command, Context } from './types.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The checked-in corpus: stress/regressions of the source tree (dist/ lives inside it). */
export const DEFAULT_CORPUS = import.meta.url.endsWith('.ts') ? join(here, '..', 'regressions') : join(here, '..', '..', '..', 'stress', 'regressions');

export const MATRIX_FLAGS: FlagSpec[] = [
  { name: 'budget', kind: 'duration', default: 600_000, min: 0, max: 7 * 86_400_000, help: 'one time budget shared by every cell (per-cell share, floor and ceiling; see docs/writing-a-variant.md); 0 = each cell gets the floor' },
  { name: 'mode', kind: 'enum', default: 'both', choices: ['free', 'controlled', 'both'], help: 'free (real threads), controlled (explore), or both: one row per cell and mode' },
  { name: 'cells', kind: 'string', default: null, value: 'GLOBS', help: "only these cells: comma-separated names, '*' matches anything (see matrix --list)" },
  { name: 'shard', kind: 'string', default: '1/1', value: 'I/N', help: 'run shard I of N: the cells whose name hashes to I, so N machines cover every cell once' },
  { name: 'seed', kind: 'string', default: '1', value: 'S', help: 'master seed of every row (a row is re-run with the command its report prints)' },
  { name: 'max-iterations', kind: 'int', default: 1_000_000, min: 1, help: 'at most this many iterations per controlled row (its time share bounds it too)' },
  { name: 'regressions', kind: 'string', default: null, value: 'DIR', help: "the regression corpus replayed first (default: the checked-in stress/regressions; 'none' to skip)" },
  { name: 'report-dir', kind: 'string', default: null, value: 'DIR', help: 'write the reports here instead of reports/matrix-<time>/' },
  { name: 'list', kind: 'bool', default: false, help: 'list the selected cells with their expected outcomes and shards, run nothing' },
  HELP_FLAG,
];

export function matrixHelp(): string[] {
  return [
    'usage: pagelock-stress matrix [--budget 10m] [--mode free|controlled|both] [--cells GLOBS] [--shard I/N] [--seed S] [--report-dir DIR]',
    '',
    'Run every cell (scenario x variant, with its expected outcome) and grade it: clean cells must show no',
    'violation, known-bad cells (self-test mutants, rejected patches) must be caught within their share of',
    'the budget, open cells report what they showed. The regression corpus is replayed first.',
    'Global flag: --plugin FILE (repeatable) adds a plug-in\'s variants and cells.',
    '',
    'Flags:',
    ...flagHelp(MATRIX_FLAGS),
    '',
    'Exit codes: 0 no cell failed, 1 a cell failed (or the matrix was interrupted), 2 bad usage.',
  ];
}

function shown(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

export interface Selection {
  all: Cell[];
  cells: Cell[];
  shard: Shard;
}

/** Parse --cells and --shard over the live cells (a pattern that matches nothing is an error). */
export function selectCells(all: Cell[], cellsSpec: string | null, shardSpec: string): Selection {
  const shard = parseShard(shardSpec);
  if (!shard) throw new UsageError(`--shard wants I/N with 1 <= I <= N <= 1000 (got '${shardSpec}')`);
  let cells = all;
  if (cellsSpec) {
    const f = filterCells(all, cellsSpec);
    if (f.unmatched.length) throw new UsageError(`--cells: ${f.unmatched.map((p) => `'${p}'`).join(', ')} matches no cell (see: pagelock-stress matrix --list)`);
    cells = f.cells;
  }
  return { all, cells: inShard(cells, shard), shard };
}

function listCells(ctx: Context, sel: Selection, modes: CellMode[]): void {
  const { io } = ctx;
  io.out(`${sel.cells.length} of ${sel.all.length} cells (shard ${sel.shard.index}/${sel.shard.count}); * = self-test (hidden from list)`);
  const rows = sel.cells.map((c) => {
    const plugin = pluginOf('cell', c.name) ?? pluginOf('map-pages', c.name.split('/').slice(1).join('/')) ?? pluginOf('lock', c.name.split('/').slice(1).join('/'));
    return [`${c.name}${c.hidden ? ' *' : ''}`, c.error ? 'INVALID' : expectedText(c.expected), c.modes.filter((m) => modes.includes(m)).join('+') || '(no mode)',
      `w${c.weight}`, `shard ${shardOf(c.name, sel.shard.count)}/${sel.shard.count}`, plugin ? `plug-in ${plugin}` : c.origin];
  });
  const w = [0, 1, 2, 3, 4, 5].map((i) => Math.max(...rows.map((r) => r[i].length), 0));
  for (const r of rows) io.out(`  ${r.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd()}`);
  for (const c of sel.cells) io.out(`    ${c.name}: ${c.error ? `INVALID: ${c.error}` : c.reasoning}${c.source ? ` [${c.source}]` : ''}`);
}

export async function matrixMain(argv: string[], ctx: Context): Promise<number> {
  const { io } = ctx;
  const p = parseFlags(argv, MATRIX_FLAGS, 'matrix');
  if (p.help) {
    for (const l of matrixHelp()) io.out(l);
    return 0;
  }
  if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}' for 'matrix' (flags start with --)`);
  const get = <T>(name: string) => (p.values.get(name) ?? MATRIX_FLAGS.find((f) => f.name === name)!.default) as T;
  const budgetMs = get<number>('budget');
  const modeArg = get<string>('mode');
  const modes: CellMode[] = modeArg === 'both' ? ['free', 'controlled'] : [modeArg as CellMode];
  const seed = get<string>('seed');
  const cellsSpec = get<string | null>('cells');
  const shardSpec = get<string>('shard');
  const sel = selectCells(matrixCells(), cellsSpec, shardSpec);
  if (get<boolean>('list')) {
    listCells(ctx, sel, modes);
    return 0;
  }

  // the corpus entries of this selection: those whose cell is selected, plus (in the shard their
  // cell name hashes to) those naming a cell that does not exist, which fail
  const corpusArg = get<string | null>('regressions');
  const corpusDir = corpusArg === null ? DEFAULT_CORPUS : isAbsolute(corpusArg) ? corpusArg : join(ctx.cwd, corpusArg);
  const selected = new Set(sel.cells.map((c) => c.name));
  const known = new Set(sel.all.map((c) => c.name));
  // an explicit --regressions DIR must exist and hold regressions (exit 2 otherwise, one line);
  // the checked-in corpus may be absent (an install without the sources)
  let read: CorpusFile[] = [];
  if (corpusArg !== 'none') {
    try {
      read = readCorpus(corpusDir);
    } catch (e) {
      if (corpusArg !== null) throw new UsageError(`--regressions ${corpusArg}: ${(e as Error).message.replace(/^regression corpus \S+: /, '')}`);
    }
    if (corpusArg !== null && read.length === 0)
      throw new UsageError(`--regressions ${corpusArg}: holds no regression files (*.json); give --regressions none to skip the corpus`);
  }
  const corpus: CorpusFile[] = read
    .map((f) => ({ ...f, file: shown(ctx.cwd, f.file) }))
    .filter((f) => {
      // a file that cannot be read belongs to no cell: it FAILS in the shard its name hashes to,
      // whatever --cells says (never dropped silently)
      if (!f.entry) return shardOf(f.file, sel.shard.count) === sel.shard.index;
      const cell = f.entry?.cell;
      if (cell && selected.has(cell)) return true;
      if (cell && known.has(cell)) return false;
      if (cellsSpec && !(cell && filterCells([{ name: cell }], cellsSpec).cells.length)) return false;
      return shardOf(cell ?? f.file, sel.shard.count) === sel.shard.index;
    });

  // reports: writable before any work starts
  const startedAt = ctx.now();
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  const runId = `${stamp}-matrix-s${seed.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40)}${sel.shard.count > 1 ? `-shard${sel.shard.index}of${sel.shard.count}` : ''}`;
  const dirArg = get<string | null>('report-dir');
  const dir = dirArg ? (isAbsolute(dirArg) ? dirArg : join(ctx.cwd, dirArg)) : join(ctx.cwd, 'reports', runId);
  try {
    ensureWritableDir(dir);
    mkdirSync(join(dir, 'cells'), { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot write reports to ${dirArg ?? join('reports', runId)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  const git = ctx.git();
  const rowsPlanned = orderRows(sel.cells, modes).length;
  io.out(`--- Start of matrix: budget=${formatDuration(budgetMs)} mode=${modeArg} seed=${seed} shard=${sel.shard.index}/${sel.shard.count}`
    + ` cells=${sel.cells.length}/${sel.all.length}${cellsSpec ? ` filter=${cellsSpec}` : ''} rows=${rowsPlanned} regressions=${corpus.length}`
    + ` commit=${git.label} version=${ctx.version} node=${process.version} run-id=${runId}`);
  for (const pl of loadedPlugins()) io.out(`--- plug-in ${shown(ctx.cwd, pl)}`);
  if (sel.cells.length === 0 && corpus.length === 0) io.out('--- nothing to run in this selection');

  const ac = new AbortController();
  const uninstall = ctx.onSignal((sig) => {
    if (!ac.signal.aborted) io.err(`${sig}: stopping the matrix after the current row; the reports will still be written`);
    ac.abort(new Error(sig));
  });
  let m;
  try {
    m = await runMatrix({
      cells: sel.cells, cellsTotal: sel.all.length, allCells: sel.all, modes, budgetMs, seed,
      maxIterations: get<number>('max-iterations'), reportDir: dir, corpus, registry: ctx.registry,
      engines: { runStress: ctx.runStress, exploreParallel },
      tool: { name: 'pagelock-stress', version: ctx.version, commit: git.dirty ? `${git.commit}-dirty` : git.commit, node: process.version },
      runId, startedAt, cellsFilter: cellsSpec, shard: `${sel.shard.index}/${sel.shard.count}`,
      plugins: loadedPlugins().map((x) => shown(ctx.cwd, x)), signal: ac.signal,
      onRow: (r, i, n) => io.out(`${String(i).padStart(String(n).length)}/${n} ${rowLine(r)}`),
      onRetry: (r) => io.out(`    [....] ${r.cell} (${r.mode}): not caught in its ${(r.budgetMs / 1000).toFixed(1)} s share; a second try follows the other rows`),
    });
  } finally {
    uninstall();
  }
  const { written, errors } = writeMatrixReports(dir, m);
  for (const e of errors) io.err(`pagelock-stress: could not write a report: ${e}`);
  io.out('');
  for (const l of matrixTable(m)) io.out(l);
  io.out('');
  for (const r of m.rows.filter((x) => x.verdict === 'FAIL')) io.out(`!!! FAIL ${r.cell} (${r.mode}): ${r.reason}${r.command ? `\n    again: ${r.command}` : ''}`);
  for (const d of detectSummary(m)) io.out(detectSummaryLine(d));
  if (m.detectCells.cells) io.out(cellsCaughtLine(m.detectCells));
  for (const n of m.notes) io.out(n);
  io.out(`End of matrix: ${m.outcome} (${countsText(m.counts)}) in ${(m.elapsedMs / 1000).toFixed(1)} s`);
  io.out(`--- reports: ${shown(ctx.cwd, dir)}/ (${written.join(', ') || 'none written'}, cells/)`);
  return m.outcome === 'SUCCESS' && errors.length === 0 ? 0 : 1;
}

export const matrixCommand: Command = {
  name: 'matrix',
  summary: 'run every variant cell with its expected outcome in one time budget and grade it (nightly CI)',
  help: matrixHelp,
  run: matrixMain,
};
