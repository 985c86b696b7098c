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
//   "schedule": "0*5 1*3 0 2*12",     the actor chosen at each decision, run-length encoded;
//                                     "s2": a signal event, a fatal signal to task 2 (see controlled.ts)
//   "decisions": 21, "steps": 48,
//   "violation": { "id": "MAP-EOF", "task": -1, "op": -1, "page": 3, "message": "..." },
//   "signature": { "id": "MAP-EOF", "role": "-", "op": "-", "label": "-", "page": "0" }
// }
//
// The signature (src/sched/signature.ts) says which bug the file shows: a replay, a shrink or a
// reproduction counts only a run with the same signature as this find. Files written before it
// existed have none: they are matched by the invariant id, and shrinking takes the signature of
// their first replay.
//
// A decision is a schedule point where two or more actors could run; points where only one can
// run are not recorded. The operations are listed, not only seeded, so a shrunk file (operations
// removed) still replays, and the seeds say where the workload came from.
import { readFileSync, writeFileSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Op, Scenario } from '../kernel/scenario.ts';
import { DEFAULTS, type RunConfig } from '../kernel/config.ts';
import type { PageLock } from '../locks/types.ts';
import { INVARIANT_IDS, type InvariantId } from '../kernel/invariants.ts';
import { computeLayout, type ShmSizes } from '../shm/layout.ts';
import { ControlledDriver, type IterationResult } from './controlled.ts';
import type { Violation } from '../kernel/observer.ts';
import { ReplayStrategy } from './strategies/replay.ts';
import { signalChoice, signalVictim } from './strategies/strategy.ts';
import { rng } from '../kernel/rng.ts';
import { findVariant } from '../variants/index.ts';
import type { Find } from './explore.ts';
import { iterationSignature, sameSignature, type FindSignature } from './signature.ts';

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
  /** which bug this is (src/sched/signature.ts); absent in files written before it existed */
  signature?: FindSignature;
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

/** [0,0,0,1,0,0] → "0*3 1 0*2"; a signal event SIGNAL(v) (src/sched/controlled.ts) is `s<v>` */
export function encodeSchedule(choices: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < choices.length;) {
    let j = i + 1;
    while (j < choices.length && choices[j] === choices[i]) j++;
    const c = choices[i] < 0 ? `s${signalVictim(choices[i])}` : String(choices[i]);
    parts.push(j - i === 1 ? c : `${c}*${j - i}`);
    i = j;
  }
  return parts.join(' ');
}

export function decodeSchedule(text: string, actors: number, limit = 100_000_000): number[] {
  const out: number[] = [];
  const s = text.trim();
  if (s === '') return out;
  for (const part of s.split(/\s+/)) {
    const m = /^(s?)(\d+)(?:\*(\d+))?$/.exec(part);
    if (!m) throw new ReproError(`schedule: '${part}' is not a choice (want TASK, TASK*COUNT, or sTASK for a signal to TASK)`);
    const task = Number(m[2]);
    const n = m[3] === undefined ? 1 : Number(m[3]);
    if (task >= actors) throw new ReproError(`schedule: task ${task} does not exist (the scenario has tasks 0..${actors - 1})`);
    if (!Number.isSafeInteger(n) || n < 1) throw new ReproError(`schedule: '${part}' has a bad count`);
    if (out.length + n > limit) throw new ReproError(`schedule: more than ${limit} decisions`);
    const c = m[1] ? signalChoice(task) : task;
    for (let i = 0; i < n; i++) out.push(c);
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
    signature: f.signature,
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

/** Write atomically (a temporary file renamed over the target). The directory is made when it is
 * missing, but not its parents: a recursive mkdir hangs on paths such as /proc/x in Node 20, and
 * every caller has made (and claimed) the directory already. Throws the file-system error. */
export function writeRepro(path: string, r: ReproFile): void {
  try {
    mkdirSync(dirname(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, formatJson(r) + '\n');
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
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

function need(cond: unknown, why: string): asserts cond {
  if (!cond) throw new ReproError(why);
}

// ---- the schema: the shape of a repro file (zod); what it must agree with is checked after ------

const whole = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const why = max === Number.MAX_SAFE_INTEGER ? `must be a whole number >= ${min}` : `must be a whole number from ${min} to ${max}`;
  return z.int({ error: why }).min(min, { error: why }).max(max, { error: why });
};
const text = (what = 'a string') => z.string({ error: `must be ${what}` });

/** The structure of a repro file, field by field (REPRO_FORMAT, version REPRO_VERSION). Unknown
 * fields are kept (a newer writer's notes); what the fields must agree with (the scenario, its
 * sizes and roles, the lock, the schedule) is checked by validateRepro. */
export const REPRO_SCHEMA = z.object({
  format: z.literal(REPRO_FORMAT),
  version: z.literal(REPRO_VERSION),
  tool: z.object({ name: text(), version: text().optional(), commit: text().optional() }).loose().optional(),
  scenario: text(),
  config: z.object({
    scenario: text(),
    lock: text(),
    seed: text(),
    unfairness: whole(0),
    workers: whole(1, 256),
    pages: whole(1),
    buckets: whole(1, 4096),
    lockdep: z.boolean({ error: 'must be true or false' }).optional(),
    variants: z.array(text('a variant name'), { error: 'must be a list of variant names' }).optional(),
    extra: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()], { error: 'must be a number, string or boolean' }), { error: 'must be an object' }),
  }, { error: 'must be an object' }).loose(),
  // each size is checked against what the scenario builds (validateRepro)
  sizes: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
  seeds: z.object({
    master: text(),
    iteration: whole(0).nullable(),
    ops: text('a string or null').nullable(),
  }, { error: 'must be an object' }),
  strategy: text(),
  maxSteps: whole(1),
  actors: z.array(z.object({
    task: whole(0),
    role: text(),
    ops: z.array(z.object({
      kind: z.string({ error: 'must be an operation name' }).min(1, { error: 'must be an operation name' }),
      args: z.array(whole(-1, 2 ** 31 - 1), { error: 'must be a list of whole numbers >= -1' }),
    }, { error: 'must be {"kind": string, "args": [numbers]}' }), { error: 'must be a list' }),
  }, { error: 'must be an object' }), { error: 'must be a list' }),
  schedule: text('a string of choices like "0*5 1*3 0"'),
  decisions: whole(0),
  steps: whole(0),
  violation: z.object({
    id: z.enum(INVARIANT_IDS as [InvariantId, ...InvariantId[]], { error: 'is not an invariant id' }),
    task: whole(-1),
    op: whole(-1),
    page: whole(-1),
    message: text(),
  }, { error: 'must be an object' }),
  signature: z.object({
    id: z.enum(INVARIANT_IDS as [InvariantId, ...InvariantId[]], { error: 'is not an invariant id' }),
    role: text(), op: text(), label: text(), page: text(),
  }, { error: 'must be an object' }).optional(),
  shrunk: z.object({ from: text(), steps: whole(0), decisions: whole(0), ops: whole(0), switches: whole(0) }).loose().optional(),
});

/** `actors[0].ops[3].kind` */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out || 'the file';
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v = json;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function shortJson(v: unknown): string {
  const t = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}

/** The first schema problem of `json`, in one line ("config.workers must be a whole number from 1
 * to 256 (got 300)"), or null when it has the shape of a repro file. */
export function reproSchemaError(json: unknown): string | null {
  const r = REPRO_SCHEMA.safeParse(json);
  if (r.success) return null;
  const i = r.error.issues[0];
  const path = i.path.filter((k): k is string | number => typeof k !== 'symbol');
  const got = valueAt(json, path);
  const what = i.code === 'invalid_type' && got === undefined ? 'is missing' : i.message.startsWith('must') || i.message.startsWith('is ') ? i.message : `: ${i.message}`;
  return `${pathText(path)} ${what}${got === undefined ? '' : ` (got ${shortJson(got)})`}`.replace(' : ', ': ');
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

/** Check a parsed repro file before anything runs: its shape (REPRO_SCHEMA), then what it must
 * agree with (the scenario, its sizes and roles, the lock, the variants, the schedule). */
export function validateRepro(json: unknown, resolver: Resolver): LoadedRepro {
  need(isObj(json), 'not a repro file: the top level is not a JSON object');
  need(json.format === REPRO_FORMAT, `not a repro file: "format" is ${JSON.stringify(json.format)}, want "${REPRO_FORMAT}"`);
  need(json.version === REPRO_VERSION, `repro file version ${JSON.stringify(json.version)} is not supported (this tool reads version ${REPRO_VERSION})`);
  const shapeErr = reproSchemaError(json);
  need(!shapeErr, `bad repro file: ${shapeErr}`);
  const file = json as unknown as ReproFile;
  const scenario = resolver.scenario(file.scenario);
  need(scenario, `unknown scenario '${file.scenario}' (known: ${resolver.scenarioNames().join(', ')})`);

  const c = file.config;
  need(c.scenario === file.scenario, `config.scenario '${String(c.scenario)}' differs from scenario '${file.scenario}'`);
  for (const v of c.variants ?? []) need(findVariant(v) !== undefined, `config.variants: unknown variant '${v}'`);
  const cfg = replayConfig(c);
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
  const s = file.sizes as unknown as Record<string, unknown>;
  let want: ModelSizes;
  let roles: string[];
  try {
    want = scenario.sizes(cfg);
    roles = scenario.roles(cfg);
  } catch (e) {
    throw new ReproError(`scenario ${scenario.name} cannot build this config: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(want)) {
    need(Number.isSafeInteger(s[k]) && (s[k] as number) >= 0, `sizes.${k} must be a whole number >= 0 (got ${JSON.stringify(s[k])})`);
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

  const actors = file.actors;
  need(actors.length === roles.length, `"actors" lists ${actors.length} tasks but scenario ${scenario.name} has ${roles.length} with this config`);
  const ops: Op[][] = actors.map((a, i) => {
    need(a.task === i, `actors[${i}].task must be ${i} (got ${JSON.stringify(a.task)})`);
    need(a.role === roles[i], `actors[${i}].role is ${JSON.stringify(a.role)} but task ${i} of ${scenario.name} is a ${roles[i]}`);
    return a.ops.map((op) => ({ kind: op.kind, args: [...op.args] }));
  });
  const unknownOp = unknownOpKind(scenario, cfg, lock, roles, ops);
  need(!unknownOp, unknownOp!);

  const choices = decodeSchedule(file.schedule, roles.length);
  need(file.decisions === choices.length, `"decisions" (${JSON.stringify(file.decisions)}) does not match the ${choices.length} choices in "schedule"`);

  return { file, scenario, cfg, lock, ops, choices };
}

/** How many draws of a role's op stream are taken to learn its operation kinds. */
const KIND_SAMPLES = 512;

/**
 * An operation kind the scenario does not run for that role, as one line, or null. The kinds a
 * role's op stream draws are known at once; any other kind is run once on its own (one actor, one
 * operation) and is unknown when the scenario throws "unknown op" for it: the scenario's own
 * code decides, so a rare but real kind is never refused.
 */
function unknownOpKind(scenario: Scenario, cfg: RunConfig, lock: PageLock, roles: string[], ops: Op[][]): string | null {
  const seen = new Map<string, Set<string>>();
  const drawn = (role: string, task: number): Set<string> => {
    let k = seen.get(role);
    if (k) return k;
    k = new Set();
    try {
      const r = rng(`repro-kinds:${role}`);
      for (let n = 0; n < KIND_SAMPLES; n++) k.add(scenario.nextOp(role, r, cfg, task).kind);
    } catch {
      // a stream that cannot be drawn here: every kind is probed
    }
    seen.set(role, k);
    return k;
  };
  const probed = new Map<string, string | null>();
  let driver: ControlledDriver | null = null;
  for (let task = 0; task < ops.length; task++) {
    for (let j = 0; j < ops[task].length; j++) {
      const op = ops[task][j];
      if (drawn(roles[task], task).has(op.kind)) continue;
      const key = `${task}\0${op.kind}`;
      if (!probed.has(key)) {
        driver ??= new ControlledDriver({ scenario, cfg, lock });
        const solo: Op[][] = ops.map((_, t) => (t === task ? [{ kind: op.kind, args: [...op.args] }] : []));
        let msg: string | null = null;
        try {
          const res = driver.runIteration({ ops: solo, strategy: new ReplayStrategy([]), rng: rng('repro-kind-probe'), maxSteps: 100_000 });
          msg = res.violation?.id === 'CRASH' && /unknown op/i.test(res.violation.message) ? res.violation.message : null;
        } catch (e) {
          msg = /unknown op/i.test((e as Error)?.message ?? '') ? (e as Error).message : null;
        }
        probed.set(key, msg);
      }
      if (probed.get(key))
        return `actors[${task}].ops[${j}].kind '${op.kind}' is not an operation of a ${roles[task]} in scenario ${scenario.name}`
          + (seen.get(roles[task])?.size ? ` (its operations: ${[...seen.get(roles[task])!].sort().join(', ')})` : '');
    }
  }
  return null;
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

/** The file's signature when it is about the file's violation (a file whose violation was edited
 * by hand keeps a stale one: it is then matched by the invariant id, as an older file is). */
export function fileSignature(f: Pick<ReproFile, 'signature' | 'violation'>): FindSignature | undefined {
  return f.signature && f.signature.id === f.violation.id ? f.signature : undefined;
}

export interface ReplayRun {
  result: IterationResult;
  /** the same find as the file's: the same signature (a file without one: the same invariant id) */
  reproduced: boolean;
  /** the signature of the run's violation (null: none) */
  signature: FindSignature | null;
  /** decisions where the recorded choice could not be followed */
  diverged: number;
  /** decisions made after the recorded list ran out */
  beyond: number;
  driver: ControlledDriver;
}

/** Run a loaded repro (or a variation of it: other ops, other choices) once. */
export function runRepro(l: LoadedRepro, o: {
  ops?: Op[][]; choices?: ArrayLike<number>; trace?: boolean; driver?: ControlledDriver; maxSteps?: number;
  /** the find to match (default: the file's signature, else its invariant id) */
  want?: FindSignature;
} = {}): ReplayRun {
  const driver = o.driver ?? new ControlledDriver({ scenario: l.scenario, cfg: l.cfg, lock: l.lock });
  const strategy = new ReplayStrategy(o.choices ?? l.choices);
  const ops = o.ops ?? l.ops;
  const result = driver.runIteration({ ops, strategy, rng: rng('replay'), maxSteps: o.maxSteps ?? l.file.maxSteps, trace: o.trace });
  const signature = result.violation ? iterationSignature(driver.shm, driver.roles, ops, result.violation) : null;
  const want = o.want ?? fileSignature(l.file);
  const reproduced = want ? signature !== null && sameSignature(signature, want) : result.violation?.id === l.file.violation.id;
  return { result, reproduced, signature, diverged: strategy.diverged, beyond: strategy.beyond, driver };
}
