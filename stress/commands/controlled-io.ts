// What explore, replay, shrink and run --reproduce share: finding scenarios and locks for repro
// files, paths as the user types them, and run --reproduce. Writing a find (repro file, shrunk
// file, diagrams, the replay line) is the finding pipeline of src/run/finding.ts.
import { isAbsolute, join, relative } from 'node:path';
import { makeLock } from '../../src/locks/index.ts';
import type { Violation } from '../../src/sched/controlled.ts';
import { ReproError, type Resolver } from '../../src/sched/repro.ts';
import { replayLine as replayLineFor } from '../../src/run/finding.ts';
import { runFinding, runFindingInWorker, type FindingJob, type FindingRun } from '../../src/run/explore-parallel.ts';
import type { Find } from '../../src/sched/explore.ts';
import type { RunConfig } from '../../src/kernel/config.ts';
import type { ViolationRecord } from '../../src/check/violations.ts';
import { UsageError } from '../../src/run/validate.ts';
import type { Context } from './types.ts';

export { diagramLines, loadedTraced, writeMarkdown, type Traced } from '../../src/run/finding.ts';

export function resolverFor(ctx: Context): Resolver {
  const scenarios = ctx.registry.scenarios;
  const locks = ctx.registry.locks.map((l) => l.name);
  return {
    scenario: (name) => scenarios.find((s) => s.name === name),
    scenarioNames: () => scenarios.map((s) => s.name),
    lock: (cfg) => (locks.includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
    lockNames: () => locks,
  };
}

/** A path as the user should type it: relative to the working directory when inside it. */
export function shownPath(ctx: Context, p: string): string {
  const r = relative(ctx.cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

export function absPath(ctx: Context, p: string): string {
  return isAbsolute(p) ? p : join(ctx.cwd, p);
}

/** The one replay line (src/run/finding.ts): an absolute path, so it works from any directory. */
export function replayLine(ctx: Context, path: string): string {
  return replayLineFor(absPath(ctx, path));
}

/** A ReproError becomes the command's usage error (exit 2, one line). */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ReproError) throw new UsageError(e.message);
    throw e;
  }
}

/** `ID: message` (the message names the task and its operation itself). */
export function violationHeadline(v: Violation): string {
  return `${v.id}: ${v.message}`;
}

export interface FreeReproduction {
  /** the repro file (the shrunk one when shrinking worked), or null */
  path: string | null;
  /** what to print: the outcome, then the replay line */
  lines: string[];
  elapsedMs: number;
}

const toolOf = (ctx: Context) => ({ name: 'pagelock-stress', version: ctx.version, commit: ctx.git().commit });

/**
 * `run --reproduce`: turn a free-mode violation into a repro file. The involved tasks' operations
 * are rebuilt from the run's seed (src/sched/reproduce.ts) and explored under the controlled
 * driver for up to `budgetMs`; a find is written to `dir` (and shrunk), with one line saying how
 * to replay it. Synchronous, in this thread (reproduceFreeFailureInWorker can be interrupted).
 */
export function reproduceFreeFailure(
  ctx: Context, cfg: RunConfig, v: ViolationRecord, dir: string, o: { budgetMs: number; shrink?: boolean } = { budgetMs: 30_000 },
): FreeReproduction {
  const scenario = ctx.registry.scenarios.find((s) => s.name === cfg.scenario);
  if (!scenario) return { path: null, lines: [`reproduce: no scenario '${cfg.scenario}'`], elapsedMs: 0 };
  const lock = resolverFor(ctx).lock(cfg);
  if (!lock) return { path: null, lines: [`reproduce: no lock '${cfg.lock}'`], elapsedMs: 0 };
  const r = runFinding(reproduceJob(ctx, cfg, v, dir, o), scenario, lock);
  return { path: r.path, lines: r.lines, elapsedMs: r.elapsedMs };
}

function reproduceJob(ctx: Context, cfg: RunConfig, v: ViolationRecord, dir: string, o: { budgetMs: number; shrink?: boolean }): FindingJob {
  return {
    kind: 'finding', reproduce: { violation: v, budgetMs: o.budgetMs }, cfg, dir, cwd: ctx.cwd,
    shrink: o.shrink !== false ? { budgetMs: Math.max(1000, o.budgetMs / 2) } : null, tool: toolOf(ctx),
    ...(o.shrink !== false ? { title: `${v.id} in ${cfg.scenario} (from a free run, shrunk)` } : {}),
  };
}

/** reproduceFreeFailure in a worker: `stop()` ends it at once (result: null). `onWritten` is told
 * as soon as a repro file is on disk (before shrinking). */
export function reproduceFreeFailureInWorker(
  ctx: Context, cfg: RunConfig, v: ViolationRecord, dir: string, o: { budgetMs: number; shrink?: boolean }, onWritten?: (path: string) => void,
  onProgress?: (line: string) => void,
): FindingRun {
  return runFindingInWorker(reproduceJob(ctx, cfg, v, dir, o), onWritten, onProgress);
}

/** An explore find written, shrunk and traced in a worker (interruptible). */
export function writeFindInWorker(
  ctx: Context, cfg: RunConfig, find: Find, dir: string, o: { shrinkBudgetMs: number | null; title: string; diagramTail: number }, onWritten?: (path: string) => void,
): FindingRun {
  return runFindingInWorker({
    kind: 'finding', find, cfg, dir, cwd: ctx.cwd, shrink: o.shrinkBudgetMs === null ? null : { budgetMs: o.shrinkBudgetMs },
    tool: toolOf(ctx), title: o.title, diagramTail: o.diagramTail,
  }, onWritten);
}
