// The finding pipeline, once for explore, run --reproduce and the matrix: a Find (a schedule that
// broke an invariant) becomes a repro file, is shrunk, its interleaving traced and drawn, and the
// one line that says how to replay it is worded. The find travels as typed values: ReproFile and
// LoadedRepro are built in memory (src/sched/repro.ts loadedRepro); validation is for files read
// from outside, not for what this process just made.
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../report/atomic.ts';
import { loadedPlugins } from './plugin-paths.ts';
import { diagramMarkdown, diagramText, type DiagramInput } from '../report/diagram.ts';
import type { Op, Scenario } from '../kernel/scenario.ts';
import type { RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import type { IterationResult } from '../sched/controlled.ts';
import type { Find } from '../sched/explore.ts';
import {
  loadedRepro, reproFromFind, runRepro, writeRepro, ReproError, type LoadedRepro, type ReproFile,
} from '../sched/repro.ts';
import { minPathFor, shrink, shrunkRepro, type Shape, type ShrinkResult } from '../sched/shrink.ts';

/** The compiled CLI of this checkout (dist/stress/cli.js), whether this module runs from dist/ or
 * from the sources: a command built on it works from any directory. */
export function toolCliPath(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // <root>/src/run or <root>/dist/src/run
  const root = resolve(here, '..', '..');
  return /[\\/]dist$/.test(root) ? resolve(root, 'stress', 'cli.js') : resolve(root, 'dist', 'stress', 'cli.js');
}

/** A word as a POSIX shell reads it: as it is when plain, else in single quotes. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command prefix of a replay line: node and the compiled CLI, both absolute. */
export const DEFAULT_CLI = `node ${shellQuote(toolCliPath())}`;

/**
 * The one line that says how to replay a repro file: the command (default DEFAULT_CLI), the file
 * as an absolute path (a relative one is taken from the process's directory), and `--plugin FILE`
 * for every plug-in this process loaded (their variants are in the file's config), so the line
 * works as printed from any directory.
 */
export function replayLine(path: string, cli = DEFAULT_CLI, plugins: readonly string[] = loadedPlugins()): string {
  const abs = isAbsolute(path) ? path : resolve(path);
  return `replay: ${cli} replay ${shellQuote(abs)}${plugins.map((p) => ` --plugin ${shellQuote(resolve(p))}`).join('')}`;
}

// ---- traces and diagrams --------------------------------------------------------------------

/** One traced run of a repro: the roles and operations it ran, and the result with its trace. */
export interface Traced {
  roles: string[];
  ops: Op[][];
  result: IterationResult;
}

export function loadedTraced(l: LoadedRepro, result: IterationResult, ops: Op[][] = l.ops): Traced {
  return { roles: l.scenario.roles(l.cfg), ops, result };
}

function diagramInput(t: Traced): DiagramInput {
  return { trace: t.result.trace ?? [], roles: t.roles, ops: t.ops, violation: t.result.violation, violationStep: t.result.violationStep };
}

/** The diagram for the terminal; long traces keep their last `tail` steps. */
export function diagramLines(t: Traced, tail = Infinity): string[] {
  const d = diagramInput(t);
  if (d.trace.length <= tail) return diagramText(d);
  const cut = d.trace.length - tail;
  const lines = diagramText({ ...d, trace: d.trace.slice(cut) });
  return [`(${cut} earlier steps not shown: replay --trace shows every step)`, ...lines];
}

/** The Markdown page of a traced repro: a title, the replay line, the interleaving table. */
export function markdownText(t: Traced, title: string, replay: string): string {
  return [`# ${title}`, '', '```', replay, '```', '', ...diagramMarkdown(diagramInput(t)), ''].join('\n');
}

/** x.json → x.md */
export const markdownPathFor = (path: string): string => path.replace(/\.json$/, '') + '.md';

/** Write the Markdown diagram (default: next to the repro file, x.json → x.md). */
export function writeMarkdown(path: string, t: Traced, title: string, replay: string, md = markdownPathFor(path)): string {
  writeFileAtomic(md, markdownText(t, title, replay));
  return md;
}

// ---- the pipeline ---------------------------------------------------------------------------

export interface FindingInput {
  find: Find;
  scenario: Scenario;
  /** the configuration the find was explored with (cfg.seed is the master seed) */
  cfg: RunConfig;
  /** a lock of cfg.lock for the replays (shrinking, tracing) */
  lock: PageLock;
  tool?: ReproFile['tool'];
}

export interface FindingOptions {
  /** where the find is written: a path, or one made from the repro (default name: reproFileName) */
  path: string | ((r: ReproFile) => string);
  /** shrink it (null: keep it as found) */
  shrink: null | {
    budgetMs: number;
    maxRuns?: number;
    /** 'next' (default): the shrunk file beside the find as *.min.json; 'over': written over the
     * find, so one file is kept */
    to?: 'next' | 'over';
    /** a shrink that fails keeps the find as it is (shrinkError says why); default: it throws */
    bestEffort?: boolean;
  };
  /** the Markdown diagram of the file to replay: a title, and where (default: beside that file,
   * x.json → x.md); null: none */
  markdown: null | { title: string; path?: string };
  /** the diagram lines for the terminal: the last `diagramTail` steps (default: none drawn) */
  diagramTail?: number;
  /** how a path is shown to the user (the shrunk file's `from`; the replay line has it absolute) */
  shown: (path: string) => string;
  /** the command prefix in the replay line (default DEFAULT_CLI) */
  cli?: string;
  /** called once the find is written, before shrinking (a long shrink should not hide the find) */
  onWritten?: (path: string, repro: ReproFile) => void;
}

/** What a shrink did: the shape before and after, and what it took. */
export interface ShrunkSummary {
  before: Shape;
  after: Shape;
  runs: number;
  elapsedMs: number;
  stoppedBy: ShrinkResult['stoppedBy'];
}

export interface WrittenFinding {
  /** the find, as written */
  repro: ReproFile;
  path: string;
  /** the shrunk file and what the shrink did; null when not asked or it failed */
  shrunk: { repro: ReproFile; path: string; summary: ShrunkSummary } | null;
  /** why shrinking failed (bestEffort, or a find that does not replay: kept as found) */
  shrinkError: string | null;
  /** the file to replay (the shrunk one when there is one) and its content */
  replayPath: string;
  kept: ReproFile;
  /** the one line that says how to replay it */
  replayLine: string;
  /** the kept file's interleaving for the terminal (empty unless diagramTail was given) */
  diagram: string[];
  /** the Markdown diagram written, or null */
  markdownPath: string | null;
}

/** "12 -> 5 steps, 3 -> 1 context switches, 8 -> 2 operations (140 trial runs)" */
export function shrinkSummaryText(s: ShrunkSummary): string {
  return `${s.before.steps} -> ${s.after.steps} steps, ${s.before.switches} -> ${s.after.switches} context switches, `
    + `${s.before.ops} -> ${s.after.ops} operations (${s.runs} trial runs${s.stoppedBy === 'fixpoint' ? '' : `, stopped by the ${s.stoppedBy} limit`})`;
}

/** Find → repro file → shrunk file → trace → diagram (terminal lines and Markdown) → replay line. */
export function writeFinding(input: FindingInput, o: FindingOptions): WrittenFinding {
  const { find, scenario, cfg, lock } = input;
  const repro = reproFromFind(find, { scenario, cfg, seed: cfg.seed, ...(input.tool ? { tool: input.tool } : {}) });
  const path = typeof o.path === 'string' ? o.path : o.path(repro);
  writeRepro(path, repro);
  o.onWritten?.(path, repro);
  const l = loadedRepro(repro, scenario, lock);

  let shrunk: WrittenFinding['shrunk'] = null;
  let shrinkError: string | null = null;
  let traced: Traced | null = null;
  if (o.shrink) {
    let s: ShrinkResult | null = null;
    try {
      s = shrink(l, { budgetMs: o.shrink.budgetMs, ...(o.shrink.maxRuns !== undefined ? { maxRuns: o.shrink.maxRuns } : {}) });
    } catch (e) {
      // a find that does not replay (ReproError) is kept as found, never a crash of the caller
      if (!o.shrink.bestEffort && !(e instanceof ReproError)) throw e;
      shrinkError = (e as Error)?.message ?? String(e);
    }
    if (s) {
      const min = o.shrink.to === 'over' ? path : minPathFor(path);
      const file = shrunkRepro(l, s, o.shown(path));
      writeRepro(min, file);
      shrunk = { repro: file, path: min, summary: { before: s.before, after: s.after, runs: s.runs, elapsedMs: s.elapsedMs, stoppedBy: s.stoppedBy } };
      traced = loadedTraced(l, s.result, s.ops); // the shrink's final run is traced
    }
  }
  const replayPath = shrunk ? shrunk.path : path;
  const kept = shrunk ? shrunk.repro : repro;
  const line = replayLine(resolve(replayPath), o.cli);
  if (!traced && (o.markdown || o.diagramTail !== undefined)) traced = loadedTraced(l, runRepro(l, { trace: true }).result);
  const diagram = traced && o.diagramTail !== undefined ? diagramLines(traced, o.diagramTail) : [];
  if (shrinkError && o.diagramTail !== undefined) diagram.unshift(`note: not shrunk, kept as found: ${shrinkError}`);
  const markdownPath = traced && o.markdown ? writeMarkdown(replayPath, traced, o.markdown.title, line, o.markdown.path) : null;
  return { repro, path, shrunk, shrinkError, replayPath, kept, replayLine: line, diagram, markdownPath };
}
