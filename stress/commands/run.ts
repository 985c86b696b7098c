// `run`: one free-running stress run. Validates everything and proves the report directory is
// writable before any work starts; echoes every parameter; prints the stats lines; writes the
// reports even when stopped by a signal (a violation before reproducing it, again after);
// exits 0 PASS, 1 FAIL (violation, hang, crash), 3 INTERRUPTED (a signal, nothing found).
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import type { RunConfig } from '../../src/kernel/config.ts';
import { END_STATE_EXIT, type RunResult, type StatsSample } from '../../src/report/result.ts';
import {
  UsageError, allRunFlags, describeConfig, flagHelp, formatBytes, formatDuration, validateRun,
  FORCE_FLAG,
} from '../../src/run/validate.ts';
import { ReportDirError, claimReportDir, type ReportDirClaim } from '../../src/report/dirs.ts';
import { writeReports } from '../../src/report/write.ts';
import { Checkpointer, type RssSummary } from '../../src/run/checkpoint.ts';
import { violationLine } from '../../src/report/interleaving.ts';
import type { Command, Context, Io } from './types.ts';
import { replayLine, reproduceFreeFailureInWorker } from './controlled-io.ts';

/** UTC timestamp + scenario + seed: `20260127T004158Z-locks-s1` (a suffix makes it unique). */
export function runIdBase(at: Date, cfg: RunConfig): string {
  const ts = at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
  return `${ts}-${safe(cfg.scenario)}-s${safe(cfg.seed)}`;
}

/** Claim reports/<run-id>/ with a non-recursive mkdir, so two runs started in the same second
 * with the same scenario and seed get different directories. */
function claimRunDir(root: string, base: string): { dir: string; runId: string } {
  mkdirSync(root, { recursive: true });
  for (let n = 1; ; n++) {
    const runId = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(join(root, runId));
      return { dir: join(root, runId), runId };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw e;
    }
  }
}

function shown(cwd: string, p: string): string {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** Why a run failed, in one line (the end line and the exit message). */
export function failureReason(r: RunResult): string {
  const parts: string[] = [];
  if (r.hung.length) {
    const h = r.hung[0];
    parts.push(`hung: task ${h.task} (${h.role}) ${h.state}${r.hung.length > 1 ? ` (+${r.hung.length - 1} more)` : ''}`);
  }
  if (r.violationCount > 0) {
    const byId = new Map<string, number>();
    for (const v of r.violations) byId.set(v.id, (byId.get(v.id) ?? 0) + 1);
    const ids = [...byId].map(([id, n]) => `${id} x${n}`).join(', ');
    const roleOf = (t: number) => r.tasks.find((x) => x.task === t)?.role ?? '';
    const first = r.violations[0] ? `; first: ${violationLine(r.violations[0], roleOf)}` : '';
    parts.push(`${r.violationCount} violation${r.violationCount === 1 ? '' : 's'} (${ids})${first}`);
  }
  if (r.endReason === 'crash') {
    const note = r.notes.find((n) => n.startsWith('crash: '));
    parts.push(note ? note.split('\n')[0] : 'crash');
  }
  return parts.length ? parts.join('; ') : r.endReason;
}

/** A result for a run whose engine threw: the reports still say what was asked and what broke. */
function crashResult(cfg: RunConfig, ctx: Context, runId: string, startedAt: Date, memoryBytes: number, e: unknown): RunResult {
  const git = ctx.git();
  return {
    tool: { name: 'pagelock-stress', version: ctx.version, commit: git.dirty ? `${git.commit}-dirty` : git.commit, node: process.version },
    runId, config: cfg, mode: 'free', cores: ctx.cores, oversubscribed: cfg.workers > ctx.cores, memoryBytes,
    startedAt: startedAt.toISOString(), elapsedMs: ctx.now().getTime() - startedAt.getTime(),
    endReason: 'crash', outcome: 'FAILURE', endState: 'FAIL', invariantsChecked: [], violations: [], violationCount: 0, hung: [],
    tasks: [], samples: [], notes: [`crash: ${(e as Error)?.stack ?? String(e)}`], extra: {},
  };
}

/** The progress bar: stderr only, only on a terminal; stats lines (stdout) are written around it. */
class Progress {
  private bar: cliProgress.SingleBar | null = null;
  constructor(private readonly io: Io) {}
  update(fraction: number, s: StatsSample): void {
    if (!this.io.errIsTTY || !this.io.errStream) return;
    const payload = { violations: s.violations, acq: s.acquisitions };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar({
        stream: this.io.errStream, clearOnComplete: true, hideCursor: true, forceRedraw: true,
        format: ' {bar} {percentage}% | {duration_formatted} | acquisitions {acq} | violations {violations}',
      }, cliProgress.Presets.shades_classic);
      this.bar.start(1000, 0, payload);
    }
    this.bar.update(Math.min(1000, Math.round(fraction * 1000)), payload);
  }
  /** Write a stdout line without leaving a half-drawn bar on the terminal. */
  line(text: string): void {
    const s = this.io.errStream;
    if (this.bar && s) {
      s.clearLine?.(0);
      s.cursorTo?.(0);
    }
    this.io.out(text);
    if (this.bar) this.bar.render();
  }
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
/** RssMonitor's default: fewer samples than this and growth is not judged. */
const RSS_MIN_SAMPLES = 9;

/** One line on the process's memory over the run (soak runs print it; any run warns on growth). */
export function rssLine(rss: RssSummary): string {
  return `--- RSS: first ${mib(rss.firstBytes)}, min ${mib(rss.minBytes)}, max ${mib(rss.maxBytes)}, last ${mib(rss.lastBytes)}; `
    + (rss.judged === false || rss.samples.length < RSS_MIN_SAMPLES
      ? `growth not judged (${rss.samples.length} samples${rss.judged === false && rss.samples.length >= RSS_MIN_SAMPLES ? ', too few after the first minute' : ''})`
      : `growth ${rss.growthPct.toFixed(1)} % (last third's low vs first third's peak, ${rss.samples.length} samples)`);
}

export interface RunOptions {
  /** the command's name in help and messages */
  command?: string;
  /** help text (default: run's) */
  help?: (ctx: Context) => string[];
  /** print the RSS line at the end (soak) */
  showRss?: boolean;
}

export async function runMain(argv: string[], ctx: Context, o: RunOptions = {}): Promise<number> {
  const { io } = ctx;
  const v = validateRun(argv, ctx.registry, undefined, o.command ?? 'run');
  if (v.help) {
    for (const l of (o.help ?? runHelp)(ctx)) io.out(l);
    return 0;
  }
  const cfg = v.cfg;
  const startedAt = ctx.now();

  // the report directory must be writable before any work starts
  let dir: string, runId: string;
  let claim: ReportDirClaim | null = null;
  try {
    if (cfg.reportDir) {
      dir = isAbsolute(cfg.reportDir) ? cfg.reportDir : join(ctx.cwd, cfg.reportDir);
      runId = runIdBase(startedAt, cfg);
      // never over another run's reports silently, never two writers at once (src/report/dirs.ts)
      claim = claimReportDir(dir, { force: v.force, shown: cfg.reportDir });
    } else {
      ({ dir, runId } = claimRunDir(join(ctx.cwd, 'reports'), runIdBase(startedAt, cfg)));
      claim = claimReportDir(dir, { shown: shown(ctx.cwd, dir) });
    }
  } catch (e) {
    if (e instanceof ReportDirError) throw new UsageError(e.message);
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`cannot write reports to ${cfg.reportDir ?? join('reports', '<run-id>')}: ${err.code ?? err.message}`);
  }
  cfg.reportDir = shown(ctx.cwd, dir);

  const git = ctx.git();
  io.out(`--- Start of test: ${describeConfig(cfg, v.flags)} commit=${git.label} version=${ctx.version} node=${process.version} run-id=${runId}`);
  for (const w of v.warnings) io.out(`WARNING: ${w}`);
  let memoryShown = false;
  const showMemory = (bytes: number) => {
    if (memoryShown) return;
    memoryShown = true;
    io.out(`--- shared model: ${formatBytes(bytes)} (${bytes} bytes)`);
  };
  io.out(`--- workers ${cfg.workers} on ${ctx.cores} cores`);
  if (cfg.workers > ctx.cores)
    io.out(`WARNING: ${cfg.workers} workers outnumber ${ctx.cores} cores: threads get preempted mid-step (more interleavings, lower throughput)`);

  const ac = new AbortController();
  let stoppedBy = '';
  // the handler stays installed until the end (reproduction included): the first signal stops
  // whatever is running and the reports are written; a second one exits at once (context.ts)
  let onStop: () => void = () => undefined;
  const uninstall = ctx.onSignal((sig) => {
    if (!stoppedBy) io.err(`${sig}: stopping the run; the reports will still be written`);
    stoppedBy = sig;
    ac.abort(new Error(sig));
    onStop();
  });
  try {
    return await afterStart();
  } finally {
    uninstall();
    (claim as ReportDirClaim | null)?.release();
  }

  async function afterStart(): Promise<number> {
    const progress = new Progress(io);
    // checkpoints: every --checkpoint interval the report files are rewritten (each atomically)
    // from the run so far, the first one as soon as the run starts
    let checkpoints: Checkpointer | null = null;
    if (cfg.checkpointMs) io.out(`--- checkpoint every ${formatDuration(cfg.checkpointMs)}: ${shown(ctx.cwd, dir)}/ is rewritten from the run so far`);
    let result: RunResult;
    try {
      result = await ctx.runStress(cfg, {
        onStart: (info) => {
          showMemory(info.memoryBytes);
          if (!cfg.checkpointMs) return;
          let failed = false;
          checkpoints = new Checkpointer({
            dir, intervalMs: cfg.checkpointMs,
            snapshot: () => {
              const r = info.partialRunResult();
              r.runId = runId;
              if (!r.tool.commit || r.tool.commit === 'unknown') r.tool.commit = git.dirty ? `${git.commit}-dirty` : git.commit;
              return r;
            },
            onError: (e) => {
              if (!failed) io.err(`pagelock-stress: a checkpoint could not be written (the run goes on): ${e.message}`);
              failed = true;
            },
          });
          checkpoints.checkpoint();
          checkpoints.start();
        },
        onStats: (_s, line) => progress.line(line),
        onProgress: (f, s) => progress.update(f, s),
      }, ac.signal);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      progress.stop();
      io.err(`pagelock-stress: the run crashed: ${(e as Error)?.stack ?? String(e)}`);
      result = crashResult(cfg, ctx, runId, startedAt, v.memoryBytes, e);
    } finally {
      (checkpoints as Checkpointer | null)?.stop(); // no checkpoint may land after the final report
      progress.stop();
    }
    showMemory(result.memoryBytes || v.memoryBytes);

    result.runId = runId;
    if (!result.tool.commit || result.tool.commit === 'unknown')
      result.tool.commit = git.dirty ? `${git.commit}-dirty` : git.commit;
    if (stoppedBy && !result.notes.some((n) => n.includes(stoppedBy))) result.notes.push(`stopped by ${stoppedBy}`);
    // honest end state: a run a signal cut short found nothing in the part that ran, no more
    result.endState = result.outcome === 'FAILURE' ? 'FAIL' : stoppedBy || result.endReason === 'signal' ? 'INTERRUPTED' : 'PASS';

    // Free mode cannot replay what it found: rebuild the involved tasks' operations from the seed and
    // search controlled schedules for the same invariant, so the report carries an exact repro.
    // The violation is on disk before that starts; the reports are rewritten when it ends.
    const target = result.violations.find((x) => x.id !== 'HUNG' && x.id !== 'CRASH');
    let { written, errors } = { written: [] as string[], errors: [] as string[] };
    if (cfg.reproduce && target && !stoppedBy) {
      const budgetMs = cfg.reproduceBudgetMs ?? 30_000;
      result.extra.reproduction = {
      violation: target.id, reproduced: false, status: 'running', budgetMs,
      lines: [`reproduce: ${target.id} is being searched under the controlled driver (at most ${formatDuration(budgetMs)}); these reports are rewritten when that ends (still this line: the process was killed first)`],
    };
      ({ written, errors } = writeReports(dir, result));
      io.out(`--- reproducing ${target.id} under the controlled driver (at most ${formatDuration(budgetMs)}; --no-reproduce skips this; `
        + `the reports are already written: ${shown(ctx.cwd, dir)}/)`);
      let reproFile: string | null = null;
      try {
        const job = reproduceFreeFailureInWorker(ctx, cfg, target, dir, { budgetMs }, (p) => (reproFile = p), (line) => io.out(line));
        onStop = () => job.stop();
        if (stoppedBy) job.stop();
        const rep = await job.result;
        onStop = () => undefined;
        if (rep === null) {
          const found = reproFile as string | null;
          const msg = `reproduce: ${job.timedOut ? 'stopped: it ran past its budget (a replay that never returned?)' : `interrupted by ${stoppedBy || 'a signal'}`}${found ? `; the repro as found (not shrunk): ${shown(ctx.cwd, found)}` : ' before a schedule was found'}`;
          io.out(msg);
          if (found) io.out(replayLine(ctx, found));
          result.extra.reproduction = { violation: target.id, reproduced: found !== null, status: 'interrupted', repro: found && shown(ctx.cwd, found), lines: [msg] };
          result.notes.push(msg);
        } else {
          for (const l of rep.lines) io.out(l);
          // with the replay command and the shrunk diagram, for the reports (summary.md, index.html)
          result.extra.reproduction = {
            violation: target.id, reproduced: rep.path !== null, status: 'done', repro: rep.path && shown(ctx.cwd, rep.path),
            elapsedMs: Math.round(rep.elapsedMs), lines: rep.lines,
            ...(rep.replay && rep.path ? { replay: rep.replay } : {}), ...(rep.diagram?.length ? { diagram: rep.diagram } : {}),
          };
          result.notes.push(rep.lines[0]);
        }
      } catch (e) {
        const msg = `reproduce: failed: ${(e as Error)?.message ?? String(e)}`;
        io.out(msg);
        result.extra.reproduction = { violation: target.id, reproduced: false, status: 'failed', error: msg };
        result.notes.push(msg);
      }
    } else if (cfg.reproduce && target) {
      const msg = `reproduce: skipped, the run was stopped by ${stoppedBy}`;
      result.extra.reproduction = { violation: target.id, reproduced: false, status: 'interrupted', lines: [msg] };
      result.notes.push(msg);
    }

    ({ written, errors } = writeReports(dir, result));
    for (const e of errors) io.err(`pagelock-stress: could not write a report: ${e}`);

    const rss = result.extra?.rss as RssSummary | undefined;
    if (rss && Array.isArray(rss.samples)) {
      if (o.showRss) io.out(rssLine(rss));
      if (rss.warning) io.out(`WARNING: ${rss.warning.replace(/^\?\?\? /, '')}`);
    }
    const cps = (checkpoints as Checkpointer | null)?.count ?? 0;
    if (cps) io.out(`--- ${cps} checkpoint${cps === 1 ? '' : 's'} written during the run`);
    const state = result.endState;
    const end = state === 'FAIL' ? `FAILURE (${failureReason(result)})`
      : state === 'INTERRUPTED' ? `INTERRUPTED (stopped by ${stoppedBy || 'a signal'} before its end; nothing found in the part that ran)` : 'SUCCESS';
    io.out(`End of test: ${end}`);
    io.out(`--- reports: ${shown(ctx.cwd, dir)}/ (${written.join(', ') || 'none written'})`);
    return state === 'PASS' && errors.length ? 1 : END_STATE_EXIT[state];
  }
}

export function runHelp(ctx: Context): string[] {
  const { common, byScenario } = allRunFlags(ctx.registry);
  const out = [
    'usage: pagelock-stress run [--scenario NAME] [--lock NAME] [flags]',
    '',
    'Run one scenario on real worker threads against the shared page model, checking invariants',
    'as it goes. No arguments at all runs the default scenario for 5 s.',
    '',
    'Flags:',
    ...flagHelp([...common, FORCE_FLAG]),
  ];
  for (const [name, flags] of byScenario) {
    if (!flags.length) continue;
    out.push('', `Flags of scenario ${name} (with --scenario ${name}):`, ...flagHelp(flags));
  }
  out.push('', 'Durations: 500ms, 30s, 5m, 2h, 1d.',
    'Exit codes: 0 PASS, 1 FAIL (violation, hang or crash), 2 bad usage, 3 INTERRUPTED (stopped by SIGINT/SIGTERM',
    'before its end, nothing found: the reports say INTERRUPTED), 130 a second signal (exits at once).');
  return out;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a scenario on real worker threads and write the reports',
  help: runHelp,
  run: runMain,
};
