// Command-line flags → a validated RunConfig. One flag table drives the parser, the help text,
// the start line and `list`, so what `--help` says is what the parser accepts.
//
// Every mistake a user can make is a UsageError: one line saying what is wrong, exit code 2,
// raised before any work starts (no workers, no shared memory, no report directory).
import os from 'node:os';
import { DEFAULTS, type RunConfig } from '../kernel/config.ts';
import type { Scenario, ScenarioOption } from '../kernel/scenario.ts';
import { computeLayout } from '../shm/layout.ts';
import { PTE_PFN_MASK } from '../shm/shm.ts';
import { VARIANT_KINDS, variants as registeredVariants } from '../variants/registry.ts';

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagKind = 'int' | 'string' | 'enum' | 'bool' | 'duration';
export type FlagValue = number | string | boolean;

export interface FlagSpec {
  /** `--name` (a bool also accepts `--no-name`) */
  name: string;
  kind: FlagKind;
  /** null = no default (e.g. --report-dir) */
  default: FlagValue | null;
  help: string;
  choices?: readonly string[];
  /** accepted too, but not shown in help (self-test plug-ins) */
  hiddenChoices?: readonly string[];
  /** inclusive bounds of an int, or of a duration in ms */
  min?: number;
  max?: number;
  /** placeholder in help text (N, DUR, DIR, S) */
  value?: string;
  /** set when the flag is a scenario's own option */
  scenario?: string;
  /** may be given more than once: every value is kept, in order (Parsed.lists) */
  repeatable?: boolean;
}

// ---- values ------------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '500ms' | '30s' | '5m' | '2h' | '1d' | '1.5s' | '0' → milliseconds; NaN when not a duration. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return text.trim() === '0' ? 0 : NaN;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
}

/** The inverse of parseDuration, in the largest unit that is exact ('5s', '90s', '2h', '250ms'). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const u of ['d', 'h', 'm', 's'] as const) if (ms % UNIT_MS[u] === 0) return `${ms / UNIT_MS[u]}${u}`;
  return `${ms}ms`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  const flag = `--${spec.name}`;
  const range = (n: number, show: (x: number) => string) => {
    const lo = spec.min ?? -Infinity, hi = spec.max ?? Infinity;
    if (n < lo || n > hi) {
      const bounds = hi === Infinity ? `at least ${show(lo)}` : lo === -Infinity ? `at most ${show(hi)}` : `between ${show(lo)} and ${show(hi)}`;
      throw new UsageError(`${flag} must be ${bounds} (got ${raw})`);
    }
    return n;
  };
  switch (spec.kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw)))
        throw new UsageError(`${flag} wants a whole number (got '${raw}')`);
      return range(Number(raw), String);
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (Number.isNaN(ms)) throw new UsageError(`${flag} wants a duration like 500ms, 30s, 5m, 2h or 1d (got '${raw}')`);
      return range(ms, formatDuration);
    }
    case 'enum': {
      if (!spec.choices?.includes(raw) && !spec.hiddenChoices?.includes(raw)) throw new UsageError(`${flag}: '${raw}' is not one of ${spec.choices?.join(', ')}`);
      return raw;
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new UsageError(`${flag} wants on or off (got '${raw}')`);
    }
    case 'string':
      if (raw === '') throw new UsageError(`${flag} wants a non-empty value`);
      return raw;
  }
}

export function showValue(spec: FlagSpec, v: FlagValue | null): string {
  if (v === null) return '-';
  if (spec.kind === 'duration') return formatDuration(v as number);
  if (spec.kind === 'bool') return v ? 'on' : 'off';
  return String(v);
}

// ---- the generic parser ------------------------------------------------------------------

export const HELP_FLAG: FlagSpec = { name: 'help', kind: 'bool', default: false, help: 'show this help and exit' };

export interface Parsed {
  /** values of the flags that were given, by flag name */
  values: Map<string, FlagValue>;
  /** every value of a repeatable flag, in the order given */
  lists: Map<string, string[]>;
  positionals: string[];
  help: boolean;
}

/** Parse `argv` against `specs`: `--name value`, `--name=value`, `--bool`, `--no-bool`, `-h`.
 * `unknown(name)` may explain a flag the table does not hold (a flag of another scenario). */
export function parseFlags(
  argv: readonly string[], specs: readonly FlagSpec[], command: string,
  unknown: (name: string) => string | undefined = () => undefined,
): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Parsed = { values: new Map(), lists: new Map(), positionals: [], help: false };
  if (argv.some((a) => a === '--help' || a === '-h')) return { ...out, help: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      out.positionals.push(a);
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unknown flag ${a} for '${command}' (see: pagelock-stress help ${command})`);
    const eq = a.indexOf('=');
    let name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    let inline = eq < 0 ? undefined : a.slice(eq + 1);
    let spec = byName.get(name);
    let negated = false;
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'bool') {
      spec = byName.get(name.slice(3));
      negated = true;
      name = name.slice(3);
    }
    if (!spec) {
      const why = unknown(name);
      throw new UsageError(why ?? `unknown flag --${name} for '${command}' (see: pagelock-stress help ${command})`);
    }
    if (spec.kind === 'bool') {
      if (negated && inline !== undefined) throw new UsageError(`--no-${name} takes no value`);
      const v = inline === undefined ? true : (convert(spec, inline) as boolean);
      out.values.set(name, negated ? !v : v);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      // a value may start with '-' only when it is a number (--pages -1 must reach the range check)
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next)))
        throw new UsageError(`--${name} needs a value (${spec.value ?? spec.kind})`);
      inline = next;
      i++;
    }
    const value = convert(spec, inline);
    out.values.set(name, value);
    if (spec.repeatable) out.lists.set(name, [...(out.lists.get(name) ?? []), String(value)]);
  }
  return out;
}

// ---- help text ---------------------------------------------------------------------------

function flagLabel(s: FlagSpec): string {
  if (s.kind === 'bool') return s.name === 'help' ? '--help, -h' : `--${s.name}, --no-${s.name}`;
  if (s.repeatable) return `--${s.name} ${s.value ?? 'S'} ...`;
  const v = s.kind === 'enum' ? (s.choices ?? []).join('|') : (s.value ?? (s.kind === 'duration' ? 'DUR' : s.kind === 'int' ? 'N' : 'S'));
  return `--${s.name} ${v}`;
}

function flagDescription(s: FlagSpec): string {
  const bits: string[] = [];
  const show = s.kind === 'duration' ? formatDuration : String;
  if (s.kind === 'int' && s.min !== undefined && s.max !== undefined) bits.push(`${s.min}..${s.max}`);
  else if ((s.kind === 'int' || s.kind === 'duration') && s.min !== undefined && s.min > 0) bits.push(`min ${show(s.min)}`);
  if (s.default !== null && s.name !== 'help') bits.push(s.default === '' ? `default ''` : `default ${showValue(s, s.default)}`);
  return bits.length ? `${s.help} (${bits.join(', ')})` : s.help;
}

/** Two-column help lines for a flag table (the same table the parser uses). */
export function flagHelp(specs: readonly FlagSpec[], indent = '  '): string[] {
  const labels = specs.map(flagLabel);
  const w = Math.min(40, Math.max(...labels.map((l) => l.length)));
  return specs.map((s, i) => {
    const l = labels[i];
    return l.length > w ? `${indent}${l}\n${indent}${' '.repeat(w)}  ${flagDescription(s)}` : `${indent}${l.padEnd(w)}  ${flagDescription(s)}`;
  });
}

// ---- the run command's table ----------------------------------------------------------------

export interface LockInfo {
  name: string;
  description: string;
  /** accepted by --lock but not listed (self-test locks) */
  hidden?: boolean;
}

/** What validation needs to know about the plug-ins. The CLI builds it from the real registries;
 * tests can pass their own. */
export interface Registry {
  scenarios: readonly Scenario[];
  locks: readonly LockInfo[];
  defaultScenario: string;
  defaultLock: string;
  /** the variants --variant accepts (default: the live registry, src/variants/registry.ts) */
  variants?: readonly VariantInfo[];
}

export interface VariantInfo {
  name: string;
  kind: string;
  summary?: string;
  hidden?: boolean;
}

function variantsOf(reg: Registry): readonly VariantInfo[] {
  return reg.variants ?? registeredVariants({ hidden: true });
}

/** --variant: every name must be registered (hidden ones too: self-test mutants). One line, exit 2. */
export function checkVariants(names: readonly string[], reg: Registry): void {
  const known = variantsOf(reg);
  for (const name of names) {
    if (known.some((v) => v.name === name)) continue;
    const shown = known.filter((v) => !v.hidden).map((v) => v.name);
    throw new UsageError(`--variant: unknown variant '${name}' (known: ${shown.join(', ') || 'none'}; see: pagelock-stress list)`);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--variant: '${dup}' given twice`);
}

/** `list`'s lines for the registered variants, by kind (hidden ones are not listed). */
export function variantListLines(reg: Registry): string[] {
  const vs = variantsOf(reg).filter((v) => !v.hidden);
  if (!vs.length) return [];
  const out = ['Variants (--variant NAME, repeatable; map-pages and fault-path ones also by their scenario flag):'];
  for (const kind of VARIANT_KINDS) {
    const of = vs.filter((v) => v.kind === kind);
    if (!of.length) continue;
    out.push(`  ${kind}:`);
    const w = Math.max(...of.map((v) => v.name.length));
    out.push(...of.map((v) => `    ${v.name.padEnd(w)}  ${v.summary ?? ''}`.trimEnd()));
  }
  return out;
}

export const MAX_BUCKETS = 4096;
/** PTE words keep pfn + 1 in PTE_PFN_MASK bits. */
export const MAX_PAGES = PTE_PFN_MASK - 1;
export const MAX_WORKERS = 256;
/** Flight-recorder entries per task: a power-of-two share of FLIGHT_ENTRIES_TOTAL over all tasks,
 * at least 64 and at most FLIGHT_ENTRIES_MAX each. A free-mode race report needs the partner's step on the page
 * (the truncator's page_cache_delete) to still be in its ring when the reporter, preempted in the
 * middle of its operation, reports thousands of steps later: on patch4 map-truncate (seeds 1-5,
 * 4 actors) 64 entries kept it in 1 report of 13, 1024 in 6 of 18, 4096 in 12 of 15. Every
 * violation slot snapshots all rings, so the total is bounded; a violation keeps only the
 * records its report uses (src/report/interleaving.ts keptFlight). */
export const FLIGHT_ENTRIES_MAX = 4096;
export const FLIGHT_ENTRIES_TOTAL = 32_768;
export function flightEntriesFor(tasks: number): number {
  // a power of two: the ring wraps with a mask (src/kernel/task.ts recordId)
  const share = 2 ** Math.floor(Math.log2(Math.max(1, FLIGHT_ENTRIES_TOTAL / Math.max(1, tasks))));
  return Math.max(64, Math.min(FLIGHT_ENTRIES_MAX, share));
}
/** Estimate for the violation slots the orchestrator chooses. */
export const VIOLATION_SLOTS_ESTIMATE = 32;

/** A common run flag and where it lives in RunConfig. */
interface RunFlag extends FlagSpec {
  /** where the value lives in RunConfig; none for flags about the tool itself (--force) */
  key?: Exclude<keyof RunConfig, 'extra'>;
}

/** `--force`: write reports into a directory that holds another run's (src/report/dirs.ts
 * claimReportDir removes them first). Not part of the run's configuration. */
export const FORCE_FLAG: FlagSpec = { name: 'force', kind: 'bool', default: false, help: 'write into a --report-dir that holds another run\'s reports (they are removed first); without it such a directory is refused' };

function commonRunFlags(reg: Registry): RunFlag[] {
  return [
    { key: 'scenario', name: 'scenario', kind: 'enum', default: reg.defaultScenario, choices: reg.scenarios.map((s) => s.name), help: 'what to run (see: pagelock-stress list)' },
    { key: 'lock', name: 'lock', kind: 'enum', default: reg.defaultLock, choices: reg.locks.filter((l) => !l.hidden).map((l) => l.name), hiddenChoices: reg.locks.filter((l) => l.hidden).map((l) => l.name), help: 'lock_page algorithm' },
    { key: 'unfairness', name: 'unfairness', kind: 'int', default: DEFAULTS.unfairness, min: 0, max: 1000, value: 'K', help: 'v5.9-rc6 and v5.10 sysctl_page_lock_unfairness: times a waiter may be overtaken before hand-off' },
    { key: 'durationMs', name: 'duration', kind: 'duration', default: DEFAULTS.durationMs, min: 0, max: 30 * 86_400_000, help: 'how long to run; 0 = until --ops are done' },
    { key: 'ops', name: 'ops', kind: 'int', default: DEFAULTS.ops, min: 0, help: 'operations per actor task; 0 = until --duration' },
    { key: 'seed', name: 'seed', kind: 'string', default: DEFAULTS.seed, value: 'S', help: 'master seed: the same seed gives every task the same operations' },
    { key: 'workers', name: 'workers', kind: 'int', default: DEFAULTS.workers, min: 1, max: MAX_WORKERS, help: 'actor worker threads' },
    { key: 'pages', name: 'pages', kind: 'int', default: DEFAULTS.pages, min: 1, max: MAX_PAGES, help: 'struct pages in the shared model' },
    { key: 'buckets', name: 'buckets', kind: 'int', default: DEFAULTS.buckets, min: 1, max: MAX_BUCKETS, help: 'page wait-table hash buckets (1 forces collisions)' },
    { key: 'perturb', name: 'perturb', kind: 'enum', default: DEFAULTS.perturb, choices: ['off', 'low', 'high'], help: 'seeded spins, sleeps and long holds at schedule points' },
    { key: 'stutter', name: 'stutter', kind: 'bool', default: DEFAULTS.stutter, help: 'pause all actors now and then, then release them at once' },
    { key: 'hungMs', name: 'hung', kind: 'duration', default: DEFAULTS.hungMs, min: 100, max: 3_600_000, help: 'hung-task bound: no progress for this long stops the run' },
    { key: 'statIntervalMs', name: 'stat-interval', kind: 'duration', default: DEFAULTS.statIntervalMs, min: 100, max: 3_600_000, help: 'time between stats lines' },
    { key: 'lockdep', name: 'lockdep', kind: 'bool', default: DEFAULTS.lockdep ?? false, help: 'lockdep for page locks, the PTL, writeback waits, and (with an unmapper) the mmap_lock and i_mmap_rwsem: LOCK-ORDER the first time an order that can deadlock is seen' },
    { key: 'lostWakeMs', name: 'lost-wake', kind: 'duration', default: DEFAULTS.lostWakeMs ?? 1_000, min: 0, max: 3_600_000, help: 'LOCK-WAKE: a waiter still queued, not woken, on an unlocked page this long; 0 = only at the hung bound' },
    { key: 'checkpointMs', name: 'checkpoint', kind: 'duration', default: DEFAULTS.checkpointMs ?? 0, min: 0, max: 86_400_000, help: 'rewrite the report files this often while running (a killed run leaves the last one); 0 = at the end only' },
    { key: 'reproduce', name: 'reproduce', kind: 'bool', default: DEFAULTS.reproduce ?? true, help: 'after a violation, rebuild the involved tasks\' operations from the seed, search controlled schedules of them (and of the scenario\'s own workloads) for the same find (signature) and write a repro file' },
    { key: 'reproduceBudgetMs', name: 'reproduce-budget', kind: 'duration', default: DEFAULTS.reproduceBudgetMs ?? 30_000, min: 100, max: 3_600_000, help: 'how long --reproduce may search' },
    { key: 'variants', name: 'variant', kind: 'string', default: null, value: 'NAME', repeatable: true, help: 'compose this registered variant (see: pagelock-stress list) over mainline, after the scenario\'s map_pages and fault-path choices; repeatable, applied in order' },
    { key: 'reportDir', name: 'report-dir', kind: 'string', default: null, value: 'DIR', help: 'write the reports here instead of reports/<run-id>/' },
  ];
}

function scenarioFlags(s: Scenario, common: readonly FlagSpec[]): FlagSpec[] {
  const taken = new Set([...common.map((c) => c.name), 'help', FORCE_FLAG.name]);
  return (s.options ?? []).map((o: ScenarioOption) => {
    // a programming error in a scenario, not a usage error: fail loudly
    if (taken.has(o.name)) throw new Error(`scenario ${s.name}: option --${o.name} clashes with a common run flag`);
    if (!/^[a-z][a-z0-9-]*$/.test(o.name)) throw new Error(`scenario ${s.name}: option name '${o.name}' must be kebab-case`);
    return { ...o, scenario: s.name };
  });
}

/** The flags `run` accepts for one scenario: the common ones, the scenario's own, --help. */
export function runFlagTable(reg: Registry, scenario: string): FlagSpec[] {
  const common = commonRunFlags(reg);
  const s = reg.scenarios.find((x) => x.name === scenario);
  return [...common, ...(s ? scenarioFlags(s, common) : []), HELP_FLAG];
}

/** Every flag `run` accepts with any scenario (help text): common, then each scenario's own. */
export function allRunFlags(reg: Registry): { common: FlagSpec[]; byScenario: Map<string, FlagSpec[]> } {
  const common = [...commonRunFlags(reg), HELP_FLAG];
  return { common, byScenario: new Map(reg.scenarios.map((s) => [s.name, scenarioFlags(s, common)])) };
}

/** The scenario named on the command line (the last --scenario wins), or the default. */
function scenarioFromArgv(argv: readonly string[], reg: Registry): string {
  let name = reg.defaultScenario;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--scenario' && i + 1 < argv.length) name = argv[i + 1];
    else if (argv[i].startsWith('--scenario=')) name = argv[i].slice('--scenario='.length);
  }
  return name;
}

export interface Validated {
  cfg: RunConfig;
  scenario: Scenario;
  /** the table cfg was parsed with (the start line echoes every entry) */
  flags: FlagSpec[];
  /** estimated size of the shared model */
  memoryBytes: number;
  /** things worth a WARNING line, not an error */
  warnings: string[];
  help: boolean;
  /** --force: the report directory may hold another run's reports (claimReportDir) */
  force: boolean;
}

/** Largest shared model we agree to build: half the machine's memory, and at most 4 GiB
 * (Int32Array offsets and Node 20's buffer limit). */
export function memoryLimit(): number {
  return Math.min(Math.floor(os.totalmem() / 2), 4 * 1024 ** 3);
}

export function estimateShmBytes(cfg: RunConfig, s: Scenario): number {
  const tasks = s.roles(cfg).length + 1; // actors + the checker
  const sizes = s.sizes(cfg);
  return computeLayout({ ...sizes, tasks, flightEntries: flightEntriesFor(tasks), violationSlots: VIOLATION_SLOTS_ESTIMATE }).bytes;
}

/** Take `--force` / `--no-force` / `--force=BOOL` out of argv (before a `--`): it is about where the
 * reports go, not the run's configuration, so it is neither in the flag table nor on the start
 * line (the last one wins). */
export function extractForce(argv: readonly string[]): { force: boolean; argv: string[] } {
  let force = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--force') force = true;
    else if (a === '--no-force') force = false;
    else if (a.startsWith('--force=')) {
      const v = a.slice('--force='.length);
      if (!['true', 'false', 'on', 'off', '1', '0', 'yes', 'no'].includes(v)) throw new UsageError(`--force takes no value (got ${a})`);
      force = ['true', 'on', '1', 'yes'].includes(v);
    } else rest.push(a);
  }
  return { force, argv: rest };
}

/** Parse and validate `run`'s arguments. Throws UsageError on anything wrong. */
export function validateRun(allArgv: readonly string[], reg: Registry, limitBytes = memoryLimit(), command = 'run'): Validated {
  const { force, argv } = extractForce(allArgv);
  const scenarioName = scenarioFromArgv(argv, reg);
  const flags = runFlagTable(reg, scenarioName);
  const { common, byScenario } = allRunFlags(reg);
  const parsed = parseFlags(argv, flags, command, (name) => {
    for (const [sc, fl] of byScenario)
      if (fl.some((f) => f.name === name)) return `--${name} is a flag of scenario ${sc}, not of ${scenarioName}`;
    return undefined;
  });
  const scenario = reg.scenarios.find((x) => x.name === scenarioName);
  if (parsed.help || !scenario) {
    if (!parsed.help) throw new UsageError(`--scenario: '${scenarioName}' is not one of ${reg.scenarios.map((s) => s.name).join(', ')}`);
    return { cfg: { ...DEFAULTS, extra: {} }, scenario: scenario ?? reg.scenarios[0], flags, memoryBytes: 0, warnings: [], help: true, force: false };
  }
  if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}' for '${command}' (flags start with --)`);

  const cfg: RunConfig = { ...DEFAULTS, scenario: reg.defaultScenario, lock: reg.defaultLock, extra: {} };
  for (const f of common as RunFlag[]) {
    if (!f.key || f.repeatable) continue;
    const v = parsed.values.get(f.name) ?? f.default;
    (cfg as any)[f.key] = v;
  }
  for (const f of byScenario.get(scenarioName) ?? []) cfg.extra[f.name] = parsed.values.get(f.name) ?? (f.default as FlagValue);

  const chosen = parsed.lists.get('variant') ?? [];
  checkVariants(chosen, reg);
  if (chosen.length) cfg.variants = [...chosen];
  const warnings: string[] = [];
  if (cfg.durationMs === 0 && cfg.ops === 0) throw new UsageError('nothing bounds the run: give --duration or --ops (not both 0)');
  if (cfg.checkpointMs && cfg.checkpointMs < 100) throw new UsageError(`--checkpoint must be 0 or at least 100ms (got ${cfg.checkpointMs}ms)`);
  if (parsed.values.has('unfairness') && !cfg.lock.startsWith('v5.9-rc6') && cfg.lock !== 'v5.10') warnings.push(`--unfairness only affects v5.9-rc6, its -wake* fixes and v5.10, not ${cfg.lock}`);
  const why = scenario.validate?.(cfg);
  if (why) throw new UsageError(why);

  let memoryBytes: number;
  try {
    memoryBytes = estimateShmBytes(cfg, scenario);
  } catch (e) {
    throw new UsageError(`scenario ${scenario.name} cannot size this config: ${(e as Error).message}`);
  }
  if (!(memoryBytes <= limitBytes))
    throw new UsageError(`the shared model would need ${formatBytes(memoryBytes)}, more than the ${formatBytes(limitBytes)} allowed; lower --pages or the scenario's sizes`);
  return { cfg, scenario, flags, memoryBytes, warnings, help: false, force };
}

/** `name=value` for every flag in the table (the start line): every parameter, nothing hidden. */
export function describeConfig(cfg: RunConfig, flags: readonly FlagSpec[]): string {
  const common = new Map(commonRunFlagKeys.map(([n, k]) => [n, k]));
  const parts: string[] = [];
  for (const f of flags) {
    if (f.name === 'help') continue;
    const key = common.get(f.name);
    const raw = key ? (cfg[key] as FlagValue | readonly string[] | null | undefined) : (cfg.extra[f.name] ?? null);
    const v = Array.isArray(raw) ? (raw.length ? raw.join(',') : null) : ((raw ?? null) as FlagValue | null);
    parts.push(`${f.name}=${showValue(f, v)}`);
  }
  return parts.join(' ');
}

const commonRunFlagKeys: [string, Exclude<keyof RunConfig, 'extra'>][] = commonRunFlags({
  scenarios: [], locks: [], defaultScenario: '', defaultLock: '',
}).flatMap((f) => (f.key ? [[f.name, f.key] as [string, Exclude<keyof RunConfig, 'extra'>]] : []));
