// What explore, replay and shrink share: finding scenarios and locks for repro files, writing a
// find (repro file, shrunk file, Markdown diagram), and the one line that says how to replay.
import { writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { makeLock } from '../../src/locks/index.ts';
import type { Op } from '../../src/run/scenario.ts';
import type { IterationResult, Violation } from '../../src/sched/controlled.ts';
import { diagramMarkdown, diagramText } from '../../src/report/diagram.ts';
import { ReproError, type LoadedRepro, type Resolver } from '../../src/sched/repro.ts';
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
