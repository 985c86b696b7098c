// The command line in-process, with a stub run engine: dispatch, usage errors, the start and
// end lines, reports, signals. test/cli-built.test.ts runs the compiled CLI as a child process.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, COMMANDS } from '../../stress/commands/index.ts';
import { runHelp } from '../../stress/commands/run.ts';
import { listLines } from '../../stress/commands/list.ts';
import { FORCE_FLAG, allRunFlags } from '../../src/run/validate.ts';
import { INVARIANT_IDS } from '../../src/kernel/invariants.ts';
import { result, testContext, violation } from '../helpers/cli-context.ts';

function oneUsageLine(ctx: ReturnType<typeof testContext>) {
  expect(ctx.stderr).toHaveLength(1);
  expect(ctx.stderr[0]).toMatch(/^pagelock-stress: /);
  expect(ctx.stderr[0]).not.toMatch(/\bat .*:\d+:\d+/); // no stack frames
  expect(ctx.calls).toHaveLength(0); // no work started
}

describe('dispatch', () => {
  it('no arguments runs the default scenario for 5 s', async () => {
    const ctx = testContext();
    expect(await main([], ctx)).toBe(0);
    expect(ctx.calls).toHaveLength(1);
    expect(ctx.calls[0].scenario).toBe('alpha');
    expect(ctx.calls[0].durationMs).toBe(5_000);
    expect(ctx.stdout.at(-2)).toBe('End of test: SUCCESS');
  });

  it('flags without a command mean run', async () => {
    const ctx = testContext();
    expect(await main(['--scenario', 'beta', '--report-dir', 'out'], ctx)).toBe(0);
    expect(ctx.calls[0].scenario).toBe('beta');
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run', '--duration', 'banana'], /--duration wants a duration/],
    [['run', '--lock', 'nope'], /--lock: 'nope' is not one of/],
    [['run', '--pages', '-1'], /--pages must be between 1/],
    [['run', '--workers', '0'], /--workers must be between 1/],
    [['run', '--buckets', '5000'], /--buckets must be between 1 and 4096/],
    [['run', '--bogus'], /unknown flag --bogus for 'run'/],
    [['run', '--seed'], /--seed needs a value/],
    [['list', '--bogus'], /unknown flag --bogus for 'list'/],
    [['list', 'extra'], /unexpected argument 'extra'/],
    [['help', 'nope'], /unknown command 'nope'/],
  ])('%j exits 2 with one line', async (argv, msg) => {
    const ctx = testContext();
    expect(await main(argv as string[], ctx)).toBe(2);
    oneUsageLine(ctx);
    expect(ctx.stderr[0]).toMatch(msg);
  });

  it('an unwritable report directory exits 2 before any work', async () => {
    const ctx = testContext();
    writeFileSync(join(ctx.dir, 'file'), 'x');
    expect(await main(['run', '--report-dir', join(ctx.dir, 'file', 'sub')], ctx)).toBe(2);
    oneUsageLine(ctx);
    expect(ctx.stderr[0]).toMatch(/cannot write reports to .*ENOTDIR/);
    expect(ctx.stdout).toEqual([]);
  });

  it('every command has --help, and help <command> prints the same', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const a = testContext(), b = testContext();
      expect(await main([name, '--help'], a)).toBe(0);
      expect(await main(['help', name], b)).toBe(0);
      expect(a.stdout.join('\n')).toBe(b.stdout.join('\n'));
      expect(a.stdout[0]).toMatch(new RegExp(`^usage: pagelock-stress ${name}`));
      expect(a.calls).toHaveLength(0);
    }
    const c = testContext();
    expect(await main(['--help'], c)).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(c.stdout.join('\n')).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });
});

describe('help is true', () => {
  it('run --help lists exactly the flags the parser accepts', () => {
    const ctx = testContext();
    const text = runHelp(ctx).join('\n');
    const shown = new Set([...text.matchAll(/(?<![\w-])--(?:no-)?([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    const { common, byScenario } = allRunFlags(ctx.registry);
    const accepted = new Set([...common, FORCE_FLAG, ...[...byScenario.values()].flat()].map((f) => f.name));
    // every accepted flag is documented, every documented flag is accepted
    expect([...accepted].filter((f) => !shown.has(f))).toEqual([]);
    expect([...shown].filter((f) => !accepted.has(f))).toEqual([]);
    expect(text).toContain('--stutter, --no-stutter');
    expect(text).toContain('Flags of scenario alpha');
    expect(text).toMatch(/--buckets N +.*\(1\.\.4096, default 256\)/);
  });
});

describe('list', () => {
  it('shows every scenario with its flags, every lock and every invariant', async () => {
    const ctx = testContext();
    expect(await main(['list'], ctx)).toBe(0);
    const text = ctx.stdout.join('\n');
    expect(text).toBe(listLines(ctx).join('\n'));
    for (const s of ctx.registry.scenarios) expect(text).toContain(s.name);
    expect(text).toContain('alpha *');
    expect(text).toContain('--map-pages mainline|patch4');
    expect(text).not.toContain('busted-x');
    for (const l of ctx.registry.locks.filter((x) => !x.hidden)) expect(text).toMatch(new RegExp(`^  ${l.name.replace(/\./g, '\\.')}( \\*)? +${l.description}`, 'm'));
    for (const id of INVARIANT_IDS) expect(text).toMatch(new RegExp(`^  ${id} +\\S`, 'm'));
  });
});

describe('run', () => {
  it('start line, stats lines, end line, reports', async () => {
    const ctx = testContext(undefined, 2);
    expect(await main(['run', '--scenario', 'alpha', '--workers', '4', '--seed', '42', '--report-dir', 'r'], ctx)).toBe(0);
    const [start] = ctx.stdout;
    expect(start).toMatch(/^--- Start of test: scenario=alpha lock=v5\.9-rc6 unfairness=5 duration=5s ops=0 seed=42 workers=4 pages=64 buckets=256 perturb=low stutter=on hung=5s stat-interval=1s lockdep=off lost-wake=1s checkpoint=0 reproduce=on reproduce-budget=30s variant=- report-dir=r map-pages=mainline truncators=1 reclaim=on commit=aaaaaaa version=0\.0\.0-test node=v\S+ run-id=20260127T004158Z-alpha-s42$/);
    expect(ctx.stdout).toContain('--- workers 4 on 2 cores');
    expect(ctx.stdout.some((l) => /^WARNING: 4 workers outnumber 2 cores/.test(l))).toBe(true);
    expect(ctx.stdout).toContain('--- shared model: 4.0 KiB (4096 bytes)');
    expect(ctx.stdout).toContain('stats: acq/s 10 contended 0 !!! 0');
    expect(ctx.stdout.slice(-2)).toEqual(['End of test: SUCCESS', '--- reports: r/ (run.json, summary.md, junit.xml, index.html)']);
    const dir = join(ctx.dir, 'r');
    expect(readdirSync(dir).sort()).toEqual(['index.html', 'junit.xml', 'run.json', 'summary.md']);
    const json = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(json.runId).toBe('20260127T004158Z-alpha-s42');
    expect(json.tool.commit).toBe('a'.repeat(40));
    expect(json.config.seed).toBe('42');
    expect(json.config.reportDir).toBe('r');
  });

  it('default reports go to reports/<run-id>/, unique per run', async () => {
    const ctx = testContext();
    expect(await main(['run', '--seed', 'x/y'], ctx)).toBe(0);
    expect(await main(['run', '--seed', 'x/y'], ctx)).toBe(0);
    expect(readdirSync(join(ctx.dir, 'reports')).sort()).toEqual(['20260127T004158Z-alpha-sx_y', '20260127T004158Z-alpha-sx_y-2']);
    expect(existsSync(join(ctx.dir, 'reports', '20260127T004158Z-alpha-sx_y-2', 'junit.xml'))).toBe(true);
  });

  it('a violation exits 1 with FAILURE and the reason', async () => {
    const ctx = testContext(async (cfg) => result(cfg, { outcome: 'FAILURE', endReason: 'violation', violationCount: 1, violations: [violation()] }));
    expect(await main(['run', '--report-dir', 'r'], ctx)).toBe(1);
    expect(ctx.stdout.at(-2)).toMatch(/^End of test: FAILURE \(1 violation \(LOCK-EXCL x1\); first: LOCK-EXCL by task 1 \(locker\) op 7: page 3 locked by task 1/);
    expect(readFileSync(join(ctx.dir, 'r', 'junit.xml'), 'utf8')).toContain('<failure type="LOCK-EXCL"');
  });

  it('a hang exits 1 naming the task', async () => {
    const ctx = testContext(async (cfg) => result(cfg, {
      outcome: 'FAILURE', endReason: 'hung',
      hung: [{ task: 1, role: 'locker', op: 3, state: 'waiting on page 2', waitPage: 2, pageFlags: 0x81, owner: 0, ownerState: 'done' }],
    }));
    expect(await main(['run', '--report-dir', 'r'], ctx)).toBe(1);
    expect(ctx.stdout.at(-2)).toBe('End of test: FAILURE (hung: task 1 (locker) waiting on page 2)');
  });

  it('SIGINT aborts the run through the signal and the reports are still written', async () => {
    const ctx = testContext((cfg, signal) => new Promise((resolve) => {
      signal!.addEventListener('abort', () => resolve(result(cfg, { endReason: 'signal' })));
    }));
    const done = main(['run', '--duration', '1h', '--report-dir', 'r'], ctx);
    await new Promise((r) => setTimeout(r, 10));
    ctx.signal('SIGINT');
    expect(await done).toBe(3); // INTERRUPTED, not a PASS
    expect(ctx.stderr).toEqual(['SIGINT: stopping the run; the reports will still be written']);
    expect(ctx.stdout.at(-2)).toBe('End of test: INTERRUPTED (stopped by SIGINT before its end; nothing found in the part that ran)');
    const json = JSON.parse(readFileSync(join(ctx.dir, 'r', 'run.json'), 'utf8'));
    expect(json.endReason).toBe('signal');
    expect(json.notes).toContain('stopped by SIGINT');
  });

  it('an engine crash exits 1 and still writes reports', async () => {
    const ctx = testContext(async () => { throw new Error('worker exploded'); });
    expect(await main(['run', '--report-dir', 'r'], ctx)).toBe(1);
    expect(ctx.stderr[0]).toMatch(/the run crashed: Error: worker exploded/);
    expect(ctx.stdout.at(-2)).toBe('End of test: FAILURE (crash: Error: worker exploded)');
    expect(readFileSync(join(ctx.dir, 'r', 'junit.xml'), 'utf8')).toContain('<error type="CRASH"');
  });
});

describe('the end line names every cause', () => {
  it('a hang and violations together', async () => {
    const ctx = testContext(async (cfg) => result(cfg, {
      outcome: 'FAILURE', endReason: 'hung', violationCount: 2, violations: [violation(), violation({ id: 'LOCK-WAKE', message: 'lost wake' })],
      hung: [{ task: 0, role: 'locker', op: 3, state: 'waiting on page 1', waitPage: 1, pageFlags: 0x80, owner: -1, ownerState: 'none' }],
    }));
    expect(await main(['run', '--report-dir', 'r'], ctx)).toBe(1);
    expect(ctx.stdout.at(-2)).toMatch(/^End of test: FAILURE \(hung: task 0 \(locker\) waiting on page 1; 2 violations \(LOCK-EXCL x1, LOCK-WAKE x1\); first: LOCK-EXCL/);
  });
});
