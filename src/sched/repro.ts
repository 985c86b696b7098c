// Repro files: everything needed to run one controlled iteration again, exactly.
//
// {
//   "format": "pagelock-stress-repro", "version": 1,
//   "scenario": "map-truncate",
//   "config": { ...the RunConfig: lock, unfairness, workers, pages, buckets, seed, extra (variant
//               choices and scenario sizes such as map-pages) },
//   "sizes": { ...the model's sizes, as the scenario builds them from the config },
//   "seeds": { "master": "1", "iteration": 17, "ops": "1.17" },
//   "strategy": "pct(d=3)", "maxSteps": 200000,
//   "actors": [ { "task": 0, "role": "mapper", "ops": [ { "kind": "map", "args": [0, 1, 4] } ] }, ... ],
//   "schedule": "0*5 1*3 0 2*12",     the actor chosen at each decision, run-length encoded
//   "decisions": 21, "steps": 48,
//   "violation": { "id": "MAP-EOF", "task": -1, "op": -1, "page": 3, "message": "..." }
// }
//
// A decision is a schedule point where two or more actors could run; points where only one can
// run are not recorded. The operations are listed, not only seeded, so a shrunk file (operations
// removed) still replays, and the seeds say where the workload came from.
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Op, Scenario } from '../kernel/scenario.ts';
import { DEFAULTS, type RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import { INVARIANT_IDS, type InvariantId } from '../kernel/invariants.ts';
import { computeLayout, type ShmSizes } from '../shm/layout.ts';
import { ControlledDriver, type IterationResult } from './controlled.ts';
import type { Violation } from '../kernel/observer.ts';
import { ReplayStrategy } from './strategies/replay.ts';
import { rng } from '../kernel/rng.ts';
import { findVariant } from '../variants/index.ts';
import type { Find } from './explore.ts';

export const REPRO_FORMAT = 'pagelock-stress-repro';
export const REPRO_VERSION = 1;
/** Largest model a repro file may ask for (the same order as run's limits). */
const MAX_REPRO_BYTES = 1024 ** 3;

export type ModelSizes = Omit<ShmSizes, 'tasks' | 'flightEntries' | 'violationSlots'>;

export type ReproConfig = Pick<RunConfig, 'scenario' | 'lock' | 'unfairness' | 'seed' | 'workers' | 'pages' | 'buckets' | 'extra' | 'lockdep' | 'variants'>;

export function reproConfig(c: RunConfig): ReproConfig {
  return {
    scenario: c.scenario, lock: c.lock, unfairness: c.unfairness, seed: c.seed, workers: c.workers, pages: c.pages, buckets: c.buckets, extra: c.extra,
    ...(c.lockdep ? { lockdep: true } : {}),
    ...(c.variants?.length ? { variants: [...c.variants] } : {}),
  };
}

export interface ReproActor {
  task: number;
  role: string;
  ops: Op[];
}

export interface ReproFile {
  format: typeof REPRO_FORMAT;
  version: typeof REPRO_VERSION;
  tool?: { name: string; version?: string; commit?: string };
  scenario: string;
  /** the run configuration's fields that shape the model and the protocol (the rest are free-mode
   * settings and take their defaults) */
  config: ReproConfig;
  sizes: ModelSizes;
  seeds: { master: string; iteration: number | null; ops: string | null };
  strategy: string;
  maxSteps: number;
  actors: ReproActor[];
  schedule: string;
  decisions: number;
  steps: number;
  violation: { id: InvariantId; task: number; op: number; page: number; message: string };
  /** set on a shrunk file: where it came from and what it was */
  shrunk?: { from: string; steps: number; decisions: number; ops: number; switches: number };
}

/** A bad repro file: one line saying what is wrong (exit 2). */
export class ReproError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ReproError';
  }
}

// ---- the schedule: run-length encoded choices -----------------------------------------------

/** [0,0,0,1,0,0] → "0*3 1 0*2" */
export function encodeSchedule(choices: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < choices.length;) {
    let j = i + 1;
    while (j < choices.length && choices[j] === choices[i]) j++;
    parts.push(j - i === 1 ? String(choices[i]) : `${choices[i]}*${j - i}`);
    i = j;
  }
  return parts.join(' ');
}

export function decodeSchedule(text: string, actors: number, limit = 100_000_000): number[] {
  const out: number[] = [];
  const s = text.trim();
  if (s === '') return out;
  for (const part of s.split(/\s+/)) {
    const m = /^(\d+)(?:\*(\d+))?$/.exec(part);
    if (!m) throw new ReproError(`schedule: '${part}' is not a choice (want TASK or TASK*COUNT)`);
    const task = Number(m[1]);
    const n = m[2] === undefined ? 1 : Number(m[2]);
    if (task >= actors) throw new ReproError(`schedule: task ${task} does not exist (the scenario has tasks 0..${actors - 1})`);
    if (!Number.isSafeInteger(n) || n < 1) throw new ReproError(`schedule: '${part}' has a bad count`);
    if (out.length + n > limit) throw new ReproError(`schedule: more than ${limit} decisions`);
    for (let i = 0; i < n; i++) out.push(task);
  }
  return out;
}

// ---- JSON text: readable, stable ----------------------------------------------------------

/** JSON with small objects and arrays on one line (ops, sizes), the rest indented. */
export function formatJson(v: unknown, indent = ''): string {
  const line = inlineJson(v);
  if (v === null || typeof v !== 'object' || line.length <= 96) return line;
  const inner = indent + '  ';
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + formatJson(x, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(',\n')}\n${indent}}`;
}

function inlineJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(inlineJson).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${inlineJson(x)}`).join(', ')}}`;
}

// ---- building, writing, reading -------------------------------------------------------------

export interface ReproContext {
  scenario: Scenario;
  cfg: RunConfig;
  seed: string;
  tool?: ReproFile['tool'];
}

export function reproFromFind(f: Find, c: ReproContext): ReproFile {
  const roles = c.scenario.roles(c.cfg);
  return {
    format: REPRO_FORMAT,
    version: REPRO_VERSION,
    ...(c.tool ? { tool: c.tool } : {}),
    scenario: c.scenario.name,
    config: reproConfig(c.cfg),
    sizes: c.scenario.sizes(c.cfg),
    seeds: { master: c.seed, iteration: f.iteration, ops: f.opsSeed },
    strategy: f.strategy,
    maxSteps: f.maxSteps,
    actors: roles.map((role, task) => ({ task, role, ops: f.ops[task] })),
    schedule: encodeSchedule(f.schedule),
    decisions: f.decisions,
    steps: f.steps,
    violation: violationSummary(f.violation),
  };
}

export function violationSummary(v: Violation): ReproFile['violation'] {
  return { id: v.id, task: v.task, op: v.op, page: v.page, message: v.message };
}

/** A file name for a find: repro-<scenario>-<id>-s<seed>-i<iteration>.json */
export function reproFileName(r: ReproFile): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
  const it = r.seeds.iteration === null ? '' : `-i${r.seeds.iteration}`;
  return `repro-${safe(r.scenario)}-${r.violation.id}-s${safe(r.seeds.master)}${it}.json`;
}

/** Write atomically (a temporary file renamed over the target). */
export function writeRepro(path: string, r: ReproFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatJson(r) + '\n');
  renameSync(tmp, path);
}

/** The run configuration a repro's config replays with: its fields, the rest at their defaults. */
export function replayConfig(c: ReproConfig): RunConfig {
  return { ...DEFAULTS, durationMs: 0, ops: 0, reportDir: null, ...reproConfig(c as RunConfig), extra: { ...c.extra } };
}

/** How repro files find their scenario and lock by name. */
export interface Resolver {
  scenario(name: string): Scenario | undefined;
  scenarioNames(): string[];
  /** undefined when there is no lock by that name */
  lock(cfg: RunConfig): PageLock | undefined;
  lockNames(): string[];
}

/** A repro file that passed every check, with its scenario and lock resolved. */
export interface LoadedRepro {
  file: ReproFile;
  scenario: Scenario;
  cfg: RunConfig;
  lock: PageLock;
  ops: Op[][];
  choices: number[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function need(cond: unknown, why: string): asserts cond {
  if (!cond) throw new ReproError(why);
}

export function readRepro(path: string, resolver: Resolver): LoadedRepro {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReproError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ReproError(`${path} is not valid JSON (truncated or edited?): ${(e as Error).message.split('\n')[0]}`);
  }
  return validateRepro(json, resolver);
}

/** Check a parsed repro file, field by field, before anything runs. */
export function validateRepro(json: unknown, resolver: Resolver): LoadedRepro {
  need(isObj(json), 'not a repro file: the top level is not a JSON object');
  need(json.format === REPRO_FORMAT, `not a repro file: "format" is ${JSON.stringify(json.format)}, want "${REPRO_FORMAT}"`);
  need(json.version === REPRO_VERSION, `repro file version ${JSON.stringify(json.version)} is not supported (this tool reads version ${REPRO_VERSION})`);
  need(typeof json.scenario === 'string', '"scenario" must be a string');
  const scenario = resolver.scenario(json.scenario);
  need(scenario, `unknown scenario '${json.scenario}' (known: ${resolver.scenarioNames().join(', ')})`);

  const c = json.config;
  need(isObj(c), '"config" must be an object');
  need(c.scenario === json.scenario, `config.scenario '${String(c.scenario)}' differs from scenario '${json.scenario}'`);
  need(typeof c.lock === 'string', 'config.lock must be a string');
  need(typeof c.seed === 'string', 'config.seed must be a string');
  for (const k of ['unfairness', 'workers', 'pages', 'buckets'] as const)
    need(isInt(c[k]) && (c[k] as number) >= (k === 'unfairness' ? 0 : 1), `config.${k} must be a whole number >= ${k === 'unfairness' ? 0 : 1} (got ${JSON.stringify(c[k])})`);
  need((c.buckets as number) <= 4096, `config.buckets must be at most 4096 (got ${c.buckets})`);
  need((c.workers as number) <= 256, `config.workers must be at most 256 (got ${c.workers})`);
  need(c.lockdep === undefined || typeof c.lockdep === 'boolean', 'config.lockdep must be true or false');
  need(c.variants === undefined || (Array.isArray(c.variants) && c.variants.every((v) => typeof v === 'string')),
    'config.variants must be a list of variant names');
  for (const v of (c.variants as string[] | undefined) ?? []) need(findVariant(v) !== undefined, `config.variants: unknown variant '${v}'`);
  need(isObj(c.extra), 'config.extra must be an object');
  for (const [k, v] of Object.entries(c.extra))
    need(['number', 'string', 'boolean'].includes(typeof v), `config.extra.${k} must be a number, string or boolean`);
  const cfg = replayConfig(c as unknown as ReproConfig);
  const optErr = checkScenarioOptions(scenario, cfg);
  need(!optErr, optErr!);
  const why = (() => {
    try {
      return scenario.validate?.(cfg);
    } catch (e) {
      return (e as Error).message;
    }
  })();
  need(!why, `config does not fit scenario ${scenario.name}: ${why}`);

  // sizes: non-negative whole numbers, and what the scenario builds from this config
  const s = json.sizes;
  need(isObj(s), '"sizes" must be an object');
  let want: ModelSizes;
  let roles: string[];
  try {
    want = scenario.sizes(cfg);
    roles = scenario.roles(cfg);
  } catch (e) {
    throw new ReproError(`scenario ${scenario.name} cannot build this config: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(want)) {
    need(isInt(s[k]) && (s[k] as number) >= 0, `sizes.${k} must be a whole number >= 0 (got ${JSON.stringify(s[k])})`);
    need(s[k] === v, `sizes.${k} is ${s[k]} but scenario ${scenario.name} builds ${v} from this config`);
  }
  const bytes = computeLayout({ ...want, tasks: roles.length + 1, flightEntries: 64, violationSlots: 4 }).bytes;
  need(bytes <= MAX_REPRO_BYTES, `the model would need ${bytes} bytes, more than a repro may ask for`);

  const lock = (() => {
    try {
      return resolver.lock(cfg);
    } catch (e) {
      throw new ReproError(`lock '${cfg.lock}': ${(e as Error).message}`);
    }
  })();
  need(lock, `unknown lock '${cfg.lock}' (known: ${resolver.lockNames().join(', ')})`);

  const seeds = json.seeds;
  need(isObj(seeds) && typeof seeds.master === 'string', 'seeds.master must be a string');
  need(seeds.iteration === null || (isInt(seeds.iteration) && seeds.iteration >= 0), 'seeds.iteration must be a whole number >= 0 or null');
  need(seeds.ops === null || typeof seeds.ops === 'string', 'seeds.ops must be a string or null');
  need(typeof json.strategy === 'string', '"strategy" must be a string');
  need(isInt(json.maxSteps) && json.maxSteps >= 1, '"maxSteps" must be a whole number >= 1');

  const actors = json.actors;
  need(Array.isArray(actors), '"actors" must be a list');
  need(actors.length === roles.length, `"actors" lists ${actors.length} tasks but scenario ${scenario.name} has ${roles.length} with this config`);
  const ops: Op[][] = [];
  actors.forEach((a: unknown, i: number) => {
    need(isObj(a), `actors[${i}] must be an object`);
    need(a.task === i, `actors[${i}].task must be ${i} (got ${JSON.stringify(a.task)})`);
    need(a.role === roles[i], `actors[${i}].role is ${JSON.stringify(a.role)} but task ${i} of ${scenario.name} is a ${roles[i]}`);
    need(Array.isArray(a.ops), `actors[${i}].ops must be a list`);
    ops.push(a.ops.map((op: unknown, j: number) => {
      need(isObj(op) && typeof op.kind === 'string' && op.kind !== '', `actors[${i}].ops[${j}] must be {"kind": string, "args": [numbers]}`);
      need(Array.isArray(op.args) && op.args.every((x) => isInt(x) && x >= -1 && x < 2 ** 31), `actors[${i}].ops[${j}].args must be whole numbers >= -1`);
      return { kind: op.kind, args: [...op.args] as number[] };
    }));
  });

  need(typeof json.schedule === 'string', '"schedule" must be a string of choices like "0*5 1*3 0"');
  const choices = decodeSchedule(json.schedule, roles.length);
  need(isInt(json.decisions) && json.decisions === choices.length, `"decisions" (${JSON.stringify(json.decisions)}) does not match the ${choices.length} choices in "schedule"`);
  need(isInt(json.steps) && json.steps >= 0, '"steps" must be a whole number >= 0');

  const v = json.violation;
  need(isObj(v), '"violation" must be an object');
  need(typeof v.id === 'string' && (INVARIANT_IDS as string[]).includes(v.id), `violation.id ${JSON.stringify(v.id)} is not an invariant id`);
  need(isInt(v.page) && isInt(v.task) && isInt(v.op), 'violation.page, .task and .op must be whole numbers');
  need(typeof v.message === 'string', 'violation.message must be a string');

  return { file: json as unknown as ReproFile, scenario, cfg, lock, ops, choices };
}

/** A repro built in this process (a find just made, a shrunk one): what readRepro gives for its
 * file, without a trip through JSON. Validation is for files read from outside. */
export function loadedRepro(file: ReproFile, scenario: Scenario, lock: PageLock): LoadedRepro {
  return {
    file, scenario, cfg: replayConfig(file.config), lock,
    ops: file.actors.map((a) => a.ops.map((op) => ({ kind: op.kind, args: [...op.args] }))),
    choices: decodeSchedule(file.schedule, file.actors.length),
  };
}

/** A scenario option in cfg.extra must have its declared kind, range and choices. */
function checkScenarioOptions(s: Scenario, cfg: RunConfig): string | null {
  for (const o of s.options ?? []) {
    const v = cfg.extra[o.name];
    if (v === undefined) continue;
    const kind = o.kind === 'int' || o.kind === 'duration' ? 'number' : o.kind === 'bool' ? 'boolean' : 'string';
    if (typeof v !== kind) return `config.extra.${o.name} must be a ${kind}`;
    if (typeof v === 'number' && ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max) || !Number.isFinite(v)))
      return `config.extra.${o.name} = ${v} is out of range`;
    if (o.kind === 'enum' && !o.choices?.includes(v as string) && !o.hiddenChoices?.includes(v as string)) return `config.extra.${o.name} '${v}' is not one of ${o.choices?.join(', ')}`;
  }
  return null;
}

// ---- running one -------------------------------------------------------------------------

export interface ReplayRun {
  result: IterationResult;
  /** the same invariant id as the file's */
  reproduced: boolean;
  /** decisions where the recorded choice could not be followed */
  diverged: number;
  /** decisions made after the recorded list ran out */
  beyond: number;
  driver: ControlledDriver;
}

/** Run a loaded repro (or a variation of it: other ops, other choices) once. */
export function runRepro(l: LoadedRepro, o: { ops?: Op[][]; choices?: ArrayLike<number>; trace?: boolean; driver?: ControlledDriver; maxSteps?: number } = {}): ReplayRun {
  const driver = o.driver ?? new ControlledDriver({ scenario: l.scenario, cfg: l.cfg, lock: l.lock });
  const strategy = new ReplayStrategy(o.choices ?? l.choices);
  const result = driver.runIteration({
    ops: o.ops ?? l.ops, strategy, rng: rng('replay'), maxSteps: o.maxSteps ?? l.file.maxSteps, trace: o.trace,
  });
  return { result, reproduced: result.violation?.id === l.file.violation.id, diverged: strategy.diverged, beyond: strategy.beyond, driver };
}
