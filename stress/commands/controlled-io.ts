// What explore, replay, shrink and run --reproduce share: finding scenarios and locks for repro
// files, paths as the user types them, and run --reproduce. Writing a find (repro file, shrunk
// file, diagrams, the replay line) is the finding pipeline of src/run/finding.ts.
import { isAbsolute, join, relative } from 'node:path';
import { makeLock } from '../../src/locks/index.ts';
import type { Violation } from '../../src/sched/controlled.ts';
import { ReproError, reproFileName, type Resolver } from '../../src/sched/repro.ts';
import { reproduceFree } from '../../src/sched/reproduce.ts';
import { replayLine as replayLineFor, writeFinding } from '../../src/run/finding.ts';
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

/** The one replay line (src/run/finding.ts), with the path as the user types it. */
export function replayLine(ctx: Context, path: string): string {
  return replayLineFor(shownPath(ctx, path));
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

export function violationHeadline(v: Violation): string {
  const who = v.task >= 0 ? ` (task ${v.task}, op ${v.op})` : '';
  return `${v.id}${who}: ${v.message}`;
}

export interface FreeReproduction {
  /** the repro file (the shrunk one when shrinking worked), or null */
  path: string | null;
  /** what to print: the outcome, then the replay line */
  lines: string[];
  elapsedMs: number;
}

/**
 * `run --reproduce`: turn a free-mode violation into a repro file. The involved tasks' operations
 * are rebuilt from the run's seed (src/sched/reproduce.ts) and explored under the controlled
 * driver for up to `budgetMs`; a find is written to `dir` (and shrunk), with one line saying how
 * to replay it.
 */
export function reproduceFreeFailure(
  ctx: Context, cfg: RunConfig, v: ViolationRecord, dir: string, o: { budgetMs: number; shrink?: boolean } = { budgetMs: 30_000 },
): FreeReproduction {
  const t0 = performance.now();
  const scenario = ctx.registry.scenarios.find((s) => s.name === cfg.scenario);
  if (!scenario) return { path: null, lines: [`reproduce: no scenario '${cfg.scenario}'`], elapsedMs: 0 };
  const lock = resolverFor(ctx).lock(cfg);
  if (!lock) return { path: null, lines: [`reproduce: no lock '${cfg.lock}'`], elapsedMs: 0 };
  const r = reproduceFree({ scenario, cfg, lock, violation: v, iterations: 20_000, durationMs: o.budgetMs });
  const took = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const who = r.involved.map((i) => `task ${i.task} op${i.ops.length > 1 ? 's' : ''} ${i.ops.length > 1 ? `${i.ops[0]}-${i.ops[i.ops.length - 1]}` : i.ops[0]}`).join(', ');
  if (!r.find)
    return { path: null, lines: [`reproduce: ${v.id} NOT reproduced under the controlled driver within ${took()} (${who})`], elapsedMs: performance.now() - t0 };
  const shrinkIt = o.shrink !== false;
  let foundIn = '';
  const w = writeFinding({
    find: r.find, scenario, cfg, lock: resolverFor(ctx).lock(cfg)!,
    tool: { name: 'pagelock-stress', version: ctx.version, commit: ctx.git().commit },
  }, {
    path: (f) => join(dir, reproFileName(f).replace(/^repro-/, 'repro-free-')),
    shrink: shrinkIt ? { budgetMs: Math.max(1000, o.budgetMs / 2) } : null,
    markdown: shrinkIt ? { title: `${v.id} in ${scenario.name} (from a free run, shrunk)` } : null,
    shown: (p) => shownPath(ctx, p),
    onWritten: () => (foundIn = took()),
  });
  const lines = [`reproduce: ${v.id} reproduced under the controlled driver in ${foundIn} (${who}): ${shownPath(ctx, w.path)}`];
  if (w.shrunk) lines.push(`reproduce: shrunk to ${w.shrunk.summary.after.steps} steps, ${w.shrunk.summary.after.ops} operations: ${shownPath(ctx, w.shrunk.path)}`);
  lines.push(w.replayLine);
  return { path: w.replayPath, lines, elapsedMs: performance.now() - t0 };
}
