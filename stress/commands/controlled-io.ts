// What explore, replay and shrink share: finding scenarios and locks for repro files, writing a
// find (repro file, shrunk file, Markdown diagram), and the one line that says how to replay.
import { writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { makeLock } from '../../src/locks/index.ts';
import type { Op } from '../../src/kernel/scenario.ts';
import type { IterationResult, Violation } from '../../src/sched/controlled.ts';
import { diagramMarkdown, diagramText } from '../../src/report/diagram.ts';
import {
  ReproError, reproFileName, reproFromFind, validateRepro, writeRepro, type LoadedRepro, type Resolver,
} from '../../src/sched/repro.ts';
import { minPathFor, shrink, shrunkRepro } from '../../src/sched/shrink.ts';
import { reproduceFree } from '../../src/sched/reproduce.ts';
import type { RunConfig } from '../../src/kernel/config.ts';
import type { ViolationRecord } from '../../src/check/violations.ts';
import { UsageError } from '../../src/run/validate.ts';
import type { Context } from './types.ts';

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

export function replayLine(ctx: Context, path: string): string {
  return `replay: npm run stress -- replay ${shownPath(ctx, path)}`;
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

export interface Traced {
  roles: string[];
  ops: Op[][];
  result: IterationResult;
}

function input(t: Traced) {
  return { trace: t.result.trace ?? [], roles: t.roles, ops: t.ops, violation: t.result.violation, violationStep: t.result.violationStep };
}

/** The diagram for the terminal; long traces keep their last `tail` steps. */
export function diagramLines(t: Traced, tail = Infinity): string[] {
  const d = input(t);
  if (d.trace.length <= tail) return diagramText(d);
  const cut = d.trace.length - tail;
  const lines = diagramText({ ...d, trace: d.trace.slice(cut) });
  return [`(${cut} earlier steps not shown: replay --trace shows every step)`, ...lines];
}

/** Write the Markdown diagram next to a repro file (x.json → x.md). */
export function writeMarkdown(path: string, t: Traced, title: string, replay: string): string {
  const md = path.replace(/\.json$/, '') + '.md';
  writeFileSync(md, [`# ${title}`, '', '```', replay, '```', '', ...diagramMarkdown(input(t)), ''].join('\n'));
  return md;
}

export function violationHeadline(v: Violation): string {
  const who = v.task >= 0 ? ` (task ${v.task}, op ${v.op})` : '';
  return `${v.id}${who}: ${v.message}`;
}

export function loadedTraced(l: LoadedRepro, result: IterationResult, ops: Op[][] = l.ops): Traced {
  return { roles: l.scenario.roles(l.cfg), ops, result };
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
  const git = ctx.git();
  const repro = reproFromFind(r.find, { scenario, cfg, seed: cfg.seed, tool: { name: 'pagelock-stress', version: ctx.version, commit: git.commit } });
  const path = join(dir, reproFileName(repro).replace(/^repro-/, 'repro-free-'));
  writeRepro(path, repro);
  let replay = path;
  const lines = [`reproduce: ${v.id} reproduced under the controlled driver in ${took()} (${who}): ${shownPath(ctx, path)}`];
  if (o.shrink !== false) {
    const l = validateRepro(JSON.parse(JSON.stringify(repro)), resolverFor(ctx));
    const s = shrink(l, { budgetMs: Math.max(1000, o.budgetMs / 2) });
    const min = minPathFor(path);
    writeRepro(min, shrunkRepro(l, s, shownPath(ctx, path)));
    writeMarkdown(min, loadedTraced(l, s.result, s.ops), `${v.id} in ${scenario.name} (from a free run, shrunk)`, replayLine(ctx, min));
    lines.push(`reproduce: shrunk to ${s.after.steps} steps, ${s.after.ops} operations: ${shownPath(ctx, min)}`);
    replay = min;
  }
  lines.push(replayLine(ctx, replay));
  return { path: replay, lines, elapsedMs: performance.now() - t0 };
}
