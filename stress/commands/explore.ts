// `explore`: controlled mode. Runs iterations of a scenario in one thread per explorer, each
// schedule chosen by a seeded strategy (PCT, random walk, or a portfolio), until something breaks
// or the budget is spent. A find is written as a repro file (and shrunk, unless --no-shrink),
// its interleaving printed, and one line says how to replay it. Exit 0 nothing found, 1 found,
// 2 bad usage, 3 interrupted (a signal) with nothing found.
import cliProgress from 'cli-progress';
import type { RunConfig } from '../../src/kernel/config.ts';
import {
  HELP_FLAG, UsageError, allRunFlags, describeConfig, flagHelp, formatDuration, parseFlags, validateRun,
  type FlagSpec, type FlagValue,
} from '../../src/run/validate.ts';
import { ensureWritableDir } from '../../src/report/atomic.ts';
import { ReportDirError, claimReportDir, type ReportDirClaim } from '../../src/report/dirs.ts';
import { DEFAULT_MAX_STEPS } from '../../src/sched/controlled.ts';
import type { ExploreResult, ExploreStats, Find, HungStep } from '../../src/sched/explore.ts';
import { END_STATE_EXIT, type EndState } from '../../src/report/result.ts';
import { exploreParallel } from '../../src/run/explore-parallel.ts';
import { STRATEGY_KINDS, strategySpecs, type StrategyKind } from '../../src/sched/strategies/index.ts';
import { absPath, replayLine, shownPath, violationHeadline, writeFindInWorker } from './controlled-io.ts';
import type { Command, Context, Io } from './types.ts';

export const DEFAULT_ITERATIONS = 10_000;
export const DEFAULT_OPS_PER_ACTOR = 4;
export const MAX_THREADS = 16;

export const EXPLORE_FLAGS: FlagSpec[] = [
  { name: 'strategy', kind: 'enum', default: 'portfolio', choices: STRATEGY_KINDS, help: 'how each schedule is chosen: PCT, a uniform random walk, or a portfolio (iteration i uses entry i mod 4: PCT at --depth, random, PCT at depth-1 and depth+2); the portfolio has the best worst case over the known bugs (docs/strategies.md); novelty: a coverage-guided fuzzer over schedules, deterministic with --threads 1 only (src/sched/strategies/novelty.ts)' },
  { name: 'depth', kind: 'int', default: 3, min: 1, max: 20, value: 'D', help: 'PCT bug depth d: d-1 priority change points per iteration' },
  { name: 'iterations', kind: 'int', default: DEFAULT_ITERATIONS, min: 1, help: 'iterations to run (with --duration alone: until the time is up)' },
  { name: 'duration', kind: 'duration', default: null, min: 1, max: 30 * 86_400_000, help: 'stop after this long' },
  { name: 'ops-per-actor', kind: 'int', default: DEFAULT_OPS_PER_ACTOR, min: 1, max: 10_000, help: 'operations each actor performs per iteration' },
  { name: 'threads', kind: 'int', default: 1, min: 1, max: MAX_THREADS, help: 'explorer worker threads over disjoint iterations (keep <= cores)' },
  { name: 'keep-going', kind: 'bool', default: false, help: 'do not stop at the first find (one repro per invariant id)' },
  { name: 'shrink', kind: 'bool', default: true, help: 'shrink a find to a minimal repro (*.min.json)' },
  { name: 'shrink-budget', kind: 'duration', default: 30_000, min: 100, max: 3_600_000, help: 'time limit for shrinking one find' },
  { name: 'confidence', kind: 'int', default: 95, min: 1, max: 99, value: 'PCT', help: 'the final stats say how many iterations PCT needs for this confidence, in percent' },
  { name: 'max-steps', kind: 'int', default: DEFAULT_MAX_STEPS, min: 10, max: 100_000_000, help: 'step bound per iteration of up to 4 operations per actor (scaled up with --ops-per-actor beyond that): beyond it the iteration is a livelock (HUNG)' },
];

/** The run flags explore takes: what shapes the model and the protocol. Scenario flags too. */
const RUN_FLAGS_FOR_EXPLORE = new Set(['scenario', 'lock', 'unfairness', 'seed', 'workers', 'pages', 'buckets', 'lockdep', 'report-dir', 'variant']);
/** Why the other run flags do not apply (they are about real threads, time and reports). */
const NOT_FOR_EXPLORE: Record<string, string> = {
  duration: 'explore has its own --duration',
  ops: 'use --ops-per-actor',
  perturb: 'controlled mode chooses the schedule, it does not perturb timing',
  stutter: 'controlled mode chooses the schedule, it does not perturb timing',
  hung: 'controlled mode bounds iterations with --max-steps and reports DEADLOCK when nothing can run',
  'lost-wake': 'controlled mode reports a lost wake-up as DEADLOCK when nothing can run',
};
const notForExplore = (name: string, common: readonly FlagSpec[]): string | null => {
  if (name === 'help' || RUN_FLAGS_FOR_EXPLORE.has(name) || EXPLORE_FLAGS.some((f) => f.name === name)) return null;
  if (name in NOT_FOR_EXPLORE) return NOT_FOR_EXPLORE[name];
  return common.some((f) => f.name === name) ? 'it is a flag of free-running stress runs (run)' : null;
};

export interface ExploreArgs {
  cfg: RunConfig;
  flags: FlagSpec[];
  strategy: StrategyKind;
  depth: number;
  iterations: number;
  durationMs: number;
  opsPerActor: number;
  threads: number;
  keepGoing: boolean;
  shrink: boolean;
  shrinkBudgetMs: number;
  maxSteps: number;
  confidence: number;
  help: boolean;
}

/** Split argv into explore's own flags and the run flags, then validate both. */
export function parseExplore(argv: string[], ctx: Context): ExploreArgs {
  const own = new Map(EXPLORE_FLAGS.map((f) => [f.name, f]));
  const { common } = allRunFlags(ctx.registry);
  const mine: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(no-)?([a-z][a-z0-9-]*)(=.*)?$/.exec(a);
    const spec = m ? own.get(m[2]) : undefined;
    const why = m ? notForExplore(m[2], common) : null;
    if (why) throw new UsageError(`--${m![2]} does not apply to explore: ${why}`);
    if (!spec || (m![1] && spec.kind !== 'bool')) {
      rest.push(a);
      continue;
    }
    mine.push(a);
    if (spec.kind !== 'bool' && m![3] === undefined && i + 1 < argv.length) mine.push(argv[++i]);
  }
  const p = parseFlags(mine, [...EXPLORE_FLAGS, HELP_FLAG], 'explore');
  let v;
  try {
    v = validateRun(rest, ctx.registry);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.message.replace(/'run'/g, "'explore'").replace(/help run\b/g, 'help explore'));
    throw e;
  }
  const get = <T extends FlagValue>(name: string): T => (p.values.get(name) ?? own.get(name)!.default) as T;
  const durationMs = (p.values.get('duration') as number | undefined) ?? 0;
  const iterations = p.values.has('iterations') || !durationMs ? get<number>('iterations') : Infinity;
  const flags = v.flags.filter((f) => f.name !== 'help' && f.name !== 'duration' && !notForExplore(f.name, common));
  const cfg = { ...v.cfg, durationMs, ops: 0 };
  return {
    cfg, flags, strategy: get<StrategyKind>('strategy'), depth: get<number>('depth'), iterations, durationMs,
    opsPerActor: get<number>('ops-per-actor'), threads: get<number>('threads'), keepGoing: get<boolean>('keep-going'),
    shrink: get<boolean>('shrink'), shrinkBudgetMs: get<number>('shrink-budget'), maxSteps: get<number>('max-steps'),
    confidence: get<number>('confidence') / 100,
    help: p.help || v.help,
  };
}

function exploreHelp(ctx: Context): string[] {
  const { common, byScenario } = allRunFlags(ctx.registry);
  const runFlags = common.filter((f) => f.name !== 'help' && f.name !== 'duration' && !notForExplore(f.name, common));
  const lines = [
    'usage: pagelock-stress explore [scenario and variant flags] [--strategy portfolio|pct|random|novelty] [--depth D]',
    '                               [--iterations N | --duration DUR] [--ops-per-actor N] [--seed S] [--threads N]',
    '',
    'Controlled mode: every actor of the scenario runs in one thread and a seeded strategy picks, at',
    'every schedule point, which actor takes the next step. Each iteration starts from a fresh model',
    'and gives every actor --ops-per-actor operations from the seeded op stream "<seed>.<i>"; the',
    'same --seed gives the same iterations and schedules, byte for byte. --workers is the number of',
    'actors (they share one thread per explorer).',
    '',
    'On a find: repro-<scenario>-<id>-s<seed>-i<iteration>.json in --report-dir (or the current',
    'directory), shrunk to *.min.json, the interleaving printed and written as Markdown (*.md), and',
    'one line saying how to replay it. PCT finds a bug of depth d with probability at least',
    '1/(n*k^(d-1)) per iteration (n actors, k decisions): the final stats say how many iterations',
    'give 95% (--confidence) confidence.',
    '',
    'The exploration runs in worker threads (one with --threads 1); a step that does not return',
    'within 5 s (a protocol step looping without a schedule point) is reported as HUNG with its task',
    'and last label. SIGINT/SIGTERM stops it within a second with the iterations so far and any',
    'find; a second signal exits at once.',
    '',
    'Exit codes: 0 nothing found, 1 found, 2 bad usage, 3 interrupted with nothing found, 130 a second signal.',
    '',
    'Explore flags:',
    ...flagHelp([...EXPLORE_FLAGS, HELP_FLAG]),
    '',
    'Scenario and variant flags (as for run):',
    ...flagHelp(runFlags),
  ];
  for (const [name, fl] of byScenario) if (fl.length) lines.push('', `Flags of scenario ${name}:`, ...flagHelp(fl));
  return lines;
}

/** cli-progress on a terminal only: iterations/s, schedule points/s, finds. */
class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly t0 = performance.now();
  constructor(private readonly io: Io, private readonly a: ExploreArgs) {}
  update(s: ExploreStats): void {
    if (!this.io.errIsTTY || !this.io.errStream) return;
    const secs = Math.max(1e-3, (performance.now() - this.t0) / 1000);
    const payload = {
      its: s.iterations, itps: Math.round(s.iterations / secs), pps: fmtRate(s.steps / secs), finds: s.finds,
    };
    const frac = this.a.iterations !== Infinity ? s.iterations / this.a.iterations : (secs * 1000) / Math.max(1, this.a.durationMs);
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar({
        stream: this.io.errStream, clearOnComplete: true, hideCursor: true, forceRedraw: true,
        format: ' {bar} {percentage}% | {its} iterations | {itps} it/s | {pps} points/s | finds {finds}',
      }, cliProgress.Presets.shades_classic);
      this.bar.start(1000, 0, payload);
    }
    this.bar.update(Math.min(1000, Math.round(frac * 1000)), payload);
  }
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

const int = (n: number) => n.toLocaleString('en-US');

/** Write, shrink and show one find (src/run/finding.ts, in a worker so a signal can stop it).
 * Returns the file to replay, or null when stopped before the find was written. */
async function reportFind(ctx: Context, a: ExploreArgs, f: Find, dir: string, onSignal: (stop: () => void) => void): Promise<string | null> {
  const { io } = ctx;
  const shown = (p: string) => shownPath(ctx, p);
  let written: string | null = null;
  const job = writeFindInWorker(ctx, a.cfg, f, dir, {
    shrinkBudgetMs: a.shrink ? a.shrinkBudgetMs : null, title: `${f.violation.id} in ${a.cfg.scenario}${a.shrink ? ' (shrunk)' : ''}`,
    diagramTail: a.shrink ? 200 : 60,
  }, (path) => {
    written = path;
    io.out(`!!! FOUND ${violationHeadline(f.violation)}`);
    io.out(`    in iteration ${f.iteration} (${f.strategy}, ops seed ${f.opsSeed}): ${int(f.steps)} steps, ${int(f.decisions)} decisions, ${int(f.switches)} context switches`);
    io.out(`repro: ${shown(path)}`);
  });
  onSignal(() => job.stop());
  const r = await job.result;
  if (r === null) {
    // stopped: the find itself is on disk when it got that far (shrinking is what was cut short)
    if (written) {
      io.out(`shrinking ${job.timedOut ? 'took too long (a replay that never returned?)' : 'interrupted'}: the repro as found is ${shown(written)}`);
      io.out(replayLine(ctx, written));
    } else io.out(`!!! FOUND ${violationHeadline(f.violation)} (iteration ${f.iteration}, ops seed ${f.opsSeed}): interrupted before its repro file was written`);
    return written;
  }
  for (const l of r.lines) io.out(l);
  return r.path;
}

/** A step that never returned: reported, not written as a repro (its replay would hang too). */
function reportHungStep(ctx: Context, a: ExploreArgs, h: HungStep): void {
  const { io } = ctx;
  io.out(`!!! FOUND HUNG (task ${h.task}, op ${h.op}): task ${h.task} (${h.role}) did not return from its step at '${h.label}'`
    + `${h.page >= 0 ? ` (page ${h.page})` : ''} for ${(h.stepMs / 1000).toFixed(1)} s: a protocol step that never yields (a loop with no schedule point)`);
  io.out(`    in iteration ${h.iteration} (ops seed ${h.opsSeed}); the explorer thread was terminated. No repro file: replaying it would hang the same way.`);
}

export async function exploreMain(argv: string[], ctx: Context): Promise<number> {
  const { io } = ctx;
  const a = parseExplore(argv, ctx);
  if (a.help) {
    for (const l of exploreHelp(ctx)) io.out(l);
    return 0;
  }
  const dir = absPath(ctx, a.cfg.reportDir ?? '.');
  // a --report-dir is locked against a concurrent writer (finds have names of their own, so an
  // earlier run's files there are kept); the current directory is only checked
  let claim: ReportDirClaim | null = null;
  try {
    if (a.cfg.reportDir) claim = claimReportDir(dir, { refuse: false, shown: a.cfg.reportDir });
    else ensureWritableDir(dir);
  } catch (e) {
    if (e instanceof ReportDirError) throw new UsageError(e.message);
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`cannot write repro files to ${a.cfg.reportDir ?? '.'}: ${err.code ?? err.message}`);
  }
  const scenario = ctx.registry.scenarios.find((s) => s.name === a.cfg.scenario)!;
  const specs = strategySpecs(a.strategy, a.depth);
  const budget = a.iterations === Infinity ? `duration=${formatDuration(a.durationMs)}` : `iterations=${a.iterations}${a.durationMs ? ` duration=${formatDuration(a.durationMs)}` : ''}`;
  io.out(`--- explore: ${describeConfig(a.cfg, a.flags)} strategy=${a.strategy} depth=${a.depth} ${budget} `
    + `ops-per-actor=${a.opsPerActor} threads=${a.threads} max-steps=${a.maxSteps} actors=${scenario.roles(a.cfg).length} commit=${ctx.git().label}`);
  const progress = new Progress(io, a);
  const t0 = performance.now();
  // the exploration runs in worker threads (one with --threads 1): this thread stays free for
  // signals and for the watchdog that catches a step that never returns
  let stoppedBy = '';
  let onStop: () => void = () => undefined;
  const off = ctx.onSignal((sig) => {
    if (!stoppedBy) io.err(`${sig}: stopping the exploration; the iterations so far and any find will still be reported`);
    stoppedBy = sig;
    onStop();
  });
  let result: ExploreResult;
  const written: string[] = [];
  try {
    const px = exploreParallel({
      scenario: scenario.name, cfg: a.cfg, strategies: specs, iterations: a.iterations, durationMs: a.durationMs,
      opsPerActor: a.opsPerActor, seed: a.cfg.seed, keepGoing: a.keepGoing, maxSteps: a.maxSteps, confidence: a.confidence, threads: a.threads,
      onProgress: (s) => progress.update(s),
    });
    onStop = () => px.stop();
    result = await px.result;
    progress.stop();
    if (result.hungStep) reportHungStep(ctx, a, result.hungStep);
    for (const f of result.finds) {
      // after a signal a find is still written, as found: only the (long) shrink is skipped
      const p = await reportFind(ctx, stoppedBy ? { ...a, shrink: false } : a, f, dir, (stop) => (onStop = stop));
      if (p) written.push(p);
    }
  } finally {
    progress.stop();
    off();
    claim?.release();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const s = result.stats;
  const byId = Object.entries(s.findsById).map(([id, n]) => `${id} x${n}`).join(', ');
  io.out(`explore: ${int(s.iterations)} iterations, ${int(s.steps)} schedule points, ${int(s.decisions)} decisions `
    + `(at most ${int(s.maxDecisions)} in one iteration), ${s.finds} find${s.finds === 1 ? '' : 's'}${byId ? ` (${byId})` : ''}`
    + `${stoppedBy ? `, stopped by ${stoppedBy}` : s.stoppedBy === 'stop' ? ', stopped' : ''}`);
  for (const l of s.strategies) io.out(`  ${l}`);
  // the rates are over the exploration itself (the slowest explorer's loop): worker start-up and
  // the shrinking and writing of finds, which can take longer than the search, are in the total only
  const exploring = s.elapsedMs > 0 ? s.elapsedMs / 1000 : elapsed;
  io.out(`speed: ${exploring.toFixed(2)} s exploring (${elapsed.toFixed(2)} s in all, with start-up${result.finds.length ? ', shrinking and reports' : ''}), `
    + `${int(Math.round(s.iterations / Math.max(exploring, 1e-6)))} iterations/s, `
    + `${int(Math.round(s.steps / Math.max(exploring, 1e-6)))} schedule points/s${a.threads > 1 ? ` on ${a.threads} threads` : ''} `
    + `(${int(Math.round(s.steps / Math.max(s.driverMs / 1000, 1e-6)))} per second of driver time, without generating operations)`);
  const found = result.finds.length > 0 || !!result.hungStep;
  const state: EndState = found ? 'FAIL' : stoppedBy ? 'INTERRUPTED' : 'PASS';
  io.out(`End of exploration: ${found ? 'FAILURE' : stoppedBy ? `INTERRUPTED (stopped by ${stoppedBy}: ${int(s.iterations)} iterations explored, nothing found)` : 'SUCCESS'}`);
  return END_STATE_EXIT[state];
}

export const exploreCommand: Command = {
  name: 'explore',
  summary: 'controlled mode: search schedules (PCT / random / portfolio) for a violation, write a replayable repro',
  help: exploreHelp,
  run: exploreMain,
};
