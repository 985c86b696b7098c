// `replay <file>`: run a repro file's iteration again, exactly: the same operations, the same
// choice at every decision. Exit 1 when a violation happens (REPRODUCED when it is the file's
// invariant id, DIFFERENT otherwise), 0 when the run is clean (NOT REPRODUCED: e.g. the bug was
// fixed), 2 for a bad file or bad usage, 3 when a signal stopped it. --trace prints the
// interleaving. The run is in a worker (replay-worker.ts): a signal stops it at once, and a
// protocol step that never returns is reported as HUNG (exit 1) instead of hanging the command.
// A find is matched by its signature (src/sched/signature.ts; an older file: its invariant id), and
// a DIFFERENT find of the same invariant says which part of the signature differs.
import { HELP_FLAG, UsageError, flagHelp, parseFlags, type FlagSpec } from '../../src/run/validate.ts';
import { fileSignature, readRepro } from '../../src/sched/repro.ts';
import { END_STATE_EXIT } from '../../src/report/result.ts';
import { hungStepLines, runReproJobWithSignals } from './replay-worker.ts';
import { diagramMarkdown } from '../../src/report/diagram.ts';
import { signatureDiff, signatureText } from '../../src/sched/signature.ts';
import { absPath, asUsage, diagramLines, loadedTraced, resolverFor, shownPath, violationHeadline } from './controlled-io.ts';
import type { Command, Context } from './types.ts';

export const REPLAY_FLAGS: FlagSpec[] = [
  { name: 'trace', kind: 'bool', default: false, help: 'print the interleaving: one column per actor, one row per step' },
  { name: 'markdown', kind: 'bool', default: false, help: 'print the interleaving as a Markdown table (implies --trace)' },
  HELP_FLAG,
];

function replayHelp(): string[] {
  return [
    'usage: pagelock-stress replay <repro.json> [--trace] [--markdown]',
    '',
    'Re-executes a repro file written by explore or shrink: the same scenario, variant, operations',
    'and the same choice at every scheduling decision, so the same interleaving.',
    '',
    'A protocol step that does not return for 5 s (a plug-in loop with no schedule point) is',
    'reported as HUNG with its task and last label. SIGINT/SIGTERM stops the replay at once.',
    '',
    'A find is matched by its signature: the invariant, the reporting task\'s role and operation kind,',
    'the schedule point it reported at and the kind of page state (files without one: the invariant).',
    '',
    'Exit codes: 1 a violation happened (REPRODUCED: the file\'s find; DIFFERENT: another one), or HUNG,',
    '            0 the run was clean (NOT REPRODUCED: the protocol no longer breaks here),',
    '            2 bad usage or a bad repro file (one line says why),',
    '            3 interrupted by SIGINT/SIGTERM before the run ended; 130 a second signal.',
    '',
    'Flags:',
    ...flagHelp(REPLAY_FLAGS),
  ];
}

export async function replayMain(argv: string[], ctx: Context): Promise<number> {
  const { io } = ctx;
  const p = parseFlags(argv, REPLAY_FLAGS, 'replay');
  if (p.help) {
    for (const l of replayHelp()) io.out(l);
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError(`replay wants one repro file (got ${p.positionals.length ? p.positionals.join(' ') : 'none'})`);
  const path = absPath(ctx, p.positionals[0]);
  const l = asUsage(() => readRepro(path, resolverFor(ctx)));
  const f = l.file;
  const actors = l.ops.filter((o) => o.length).length;
  io.out(`--- replay: ${shownPath(ctx, path)}: scenario=${f.scenario} lock=${l.cfg.lock}${Object.entries(l.cfg.extra).map(([k, v]) => ` ${k}=${v}`).join('')} `
    + `actors=${actors} operations=${l.ops.reduce((n, o) => n + o.length, 0)} decisions=${f.decisions} expect=${f.violation.id}`);
  const trace = p.values.get('trace') === true || p.values.get('markdown') === true;
  const end = await runReproJobWithSignals(ctx, { kind: 'replay', file: f, trace }, { message: 'stopping the replay', now: true });
  if (end.hung) {
    for (const line of hungStepLines(end.hung)) io.out(line);
    return END_STATE_EXIT.FAIL;
  }
  if (!end.outcome || end.outcome.kind !== 'replay') {
    io.out(`replay: INTERRUPTED by ${end.stoppedBy || 'a signal'} before the run ended`);
    return END_STATE_EXIT.INTERRUPTED;
  }
  const r = end.outcome.run;
  const res = r.result;
  if (trace) {
    const t = loadedTraced(l, res);
    const lines = p.values.get('markdown') === true
      ? diagramMarkdown({ trace: res.trace ?? [], roles: t.roles, ops: t.ops, violation: res.violation, violationStep: res.violationStep })
      : diagramLines(t);
    io.out('');
    for (const line of lines) io.out(line);
    io.out('');
  }
  if (r.diverged || r.beyond || res.decisions !== f.decisions)
    io.out(`note: the run did not follow the file exactly (${r.diverged} recorded choices not runnable, ${r.beyond} decisions past the end, `
      + `${res.decisions} decisions instead of ${f.decisions}): the protocol code or the scenario changed since it was written`);
  // 'v4.10' named the 4.14-5.8 form (now 'v4.14') until 4.10 itself was modelled under its name
  if (l.cfg.lock === 'v4.10' && (r.diverged || r.beyond || res.decisions !== f.decisions || !r.reproduced))
    io.out(`note: --lock v4.10 is now 4.10 as shipped (62906027091f); a file written when 'v4.10' named the 4.14-5.8 form `
      + `replays as written with "lock": "v4.14" in its config`);
  const v = res.violation;
  // an operation the scenario does not know (validateRepro refuses them; a scenario whose op
  // stream cannot be sampled still ends here): the file is bad, not the protocol
  if (v && v.id === 'CRASH' && f.violation.id !== 'CRASH' && /unknown op\b/.test(v.message))
    throw new UsageError(`bad repro file: ${v.message.split('\n')[0]}`);
  if (v && r.reproduced) {
    io.out(`REPRODUCED ${violationHeadline(v)}`);
    io.out(`  at step ${res.violationStep} of ${res.steps} (${res.decisions} decisions)`);
    return 1;
  }
  const want = fileSignature(f);
  if (v && v.id === f.violation.id && want && r.signature) {
    // the same invariant broken another way: another bug, or the same one reached elsewhere
    io.out(`DIFFERENT find, same invariant: ${violationHeadline(v)}`);
    io.out(`  (the file's find is ${signatureText(want)}; this run's differs: ${signatureDiff(r.signature, want)})`);
    return 1;
  }
  if (v) {
    io.out(`DIFFERENT violation: ${violationHeadline(v)}`);
    io.out(`  (the file expects ${f.violation.id}: ${f.violation.message})`);
    return 1;
  }
  io.out(`NOT REPRODUCED: the run ended clean after ${res.steps} steps (the file expects ${f.violation.id}: ${f.violation.message})`);
  return 0;
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run a repro file again, exactly; --trace prints the interleaving',
  help: replayHelp,
  run: replayMain,
};
