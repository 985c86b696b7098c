import { describe, expect, it } from 'vitest';
import {
  UsageError, allRunFlags, describeConfig, formatDuration, parseDuration, parseFlags, runFlagTable, validateRun,
} from '../../src/run/validate.ts';
import { DEFAULTS } from '../../src/kernel/config.ts';
import { stubRegistry } from '../helpers/cli-context.ts';

const reg = stubRegistry();

function usage(argv: string[], limit?: number): string {
  try {
    validateRun(argv, reg, limit);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('durations', () => {
  it('parses the suffixes', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['banana', '5', '5 s', '-1s', 's', '1w', '']) expect(parseDuration(bad)).toBeNaN();
  });
  it('formats back in the largest exact unit', () => {
    for (const t of ['500ms', '30s', '5m', '2h', '1d', '90s', '0']) expect(formatDuration(parseDuration(t))).toBe(t);
  });
});

describe('validateRun', () => {
  it('no arguments: the defaults, the default scenario, its option defaults', () => {
    const v = validateRun([], reg);
    expect(v.cfg).toEqual({ ...DEFAULTS, scenario: 'alpha', lock: 'v5.9-rc6', extra: { 'map-pages': 'mainline', truncators: 1, reclaim: true } });
    expect(v.cfg.durationMs).toBe(5_000);
    expect(v.memoryBytes).toBeGreaterThan(0);
  });

  it('every flag lands in the config', () => {
    const v = validateRun(['--scenario', 'alpha', '--lock=v4.10', '--unfairness', '3', '--duration', '2m', '--ops', '100',
      '--seed', 'abc', '--workers', '3', '--pages', '17', '--buckets', '1', '--perturb', 'off', '--no-stutter',
      '--hung', '500ms', '--stat-interval', '2s', '--report-dir', '/tmp/x', '--map-pages', 'patch4', '--truncators', '0', '--no-reclaim',
      '--lockdep', '--lost-wake', '250ms', '--checkpoint', '1m', '--no-reproduce', '--reproduce-budget', '5s'], reg);
    expect(v.cfg).toEqual({
      scenario: 'alpha', lock: 'v4.10', unfairness: 3, durationMs: 120_000, ops: 100, seed: 'abc', workers: 3, pages: 17,
      buckets: 1, perturb: 'off', stutter: false, reportDir: '/tmp/x', hungMs: 500, statIntervalMs: 2_000,
      lockdep: true, lostWakeMs: 250, checkpointMs: 60_000, reproduce: false, reproduceBudgetMs: 5_000,
      extra: { 'map-pages': 'patch4', truncators: 0, reclaim: false },
    });
    expect(v.warnings).toEqual(['--unfairness only affects v5.9-rc6, its -wake* fixes and v5.10, not v4.10']);
  });

  it('accepts a hidden (self-test) lock without listing it', () => {
    expect(validateRun(['--lock', 'busted-x'], reg).cfg.lock).toBe('busted-x');
    expect(usage(['--lock', 'nope'])).not.toContain('busted-x');
  });

  it('the scenario may come after its own flags', () => {
    expect(validateRun(['--map-pages', 'patch4', '--scenario', 'alpha'], reg).cfg.extra['map-pages']).toBe('patch4');
  });

  it('rejects bad input with one line each', () => {
    expect(usage(['--duration', 'banana'])).toMatch(/--duration wants a duration .*banana/);
    expect(usage(['--lock', 'nope'])).toMatch(/--lock: 'nope' is not one of v5.9-rc6, v5.9, v4.10/);
    expect(usage(['--pages', '-1'])).toMatch(/--pages must be between 1 and \d+ \(got -1\)/);
    expect(usage(['--workers', '0'])).toMatch(/--workers must be between 1 and 256 \(got 0\)/);
    expect(usage(['--buckets', '5000'])).toMatch(/--buckets must be between 1 and 4096 \(got 5000\)/);
    expect(usage(['--buckets', '0'])).toMatch(/--buckets must be between 1 and 4096/);
    expect(usage(['--frobnicate'])).toMatch(/unknown flag --frobnicate for 'run'/);
    expect(usage(['-x'])).toMatch(/unknown flag -x/);
    expect(usage(['--seed'])).toMatch(/--seed needs a value/);
    expect(usage(['--seed', '--workers', '2'])).toMatch(/--seed needs a value/);
    expect(usage(['--workers', '2.5'])).toMatch(/--workers wants a whole number/);
    expect(usage(['--perturb', 'medium'])).toMatch(/--perturb: 'medium' is not one of off, low, high/);
    expect(usage(['--scenario', 'nope'])).toMatch(/--scenario: 'nope' is not one of alpha, beta/);
    expect(usage(['--scenario', 'beta', '--map-pages', 'patch4'])).toMatch(/--map-pages is a flag of scenario alpha, not of beta/);
    expect(usage(['--map-pages', 'patch9'])).toMatch(/--map-pages: 'patch9' is not one of mainline, patch4/);
    expect(usage(['--truncators', '9'])).toMatch(/--truncators must be between 0 and 8/);
    expect(usage(['--no-stutter=yes'])).toMatch(/--no-stutter takes no value/);
    expect(usage(['--stutter=maybe'])).toMatch(/--stutter wants on or off/);
    expect(usage(['--duration', '0', '--ops', '0'])).toMatch(/nothing bounds the run/);
    expect(usage(['--hung', '10ms'])).toMatch(/--hung must be between 100ms and 1h/);
    expect(usage(['extra'])).toMatch(/unexpected argument 'extra'/);
  });

  it('refuses a model that cannot fit in memory, before any work', () => {
    expect(usage(['--pages', '16000000'], 64 * 1024 * 1024)).toMatch(/shared model would need .* more than the 64\.0 MiB allowed/);
    expect(usage(['--pages', '99999999999'])).toMatch(/--pages must be between/);
  });

  it('a scenario validate hook turns into a usage error', () => {
    const r = stubRegistry();
    (r.scenarios[1] as any).validate = (cfg: any) => (cfg.workers < 2 ? 'beta needs at least 2 workers' : null);
    expect(() => validateRun(['--scenario', 'beta', '--workers', '1'], r)).toThrow('beta needs at least 2 workers');
    expect(validateRun(['--scenario', 'beta', '--workers', '2'], r).cfg.workers).toBe(2);
  });

  it('--help wins over other errors', () => {
    expect(validateRun(['--lock', 'nope', '--help'], reg).help).toBe(true);
  });

  it('a scenario option clashing with a common flag is a programming error', () => {
    const r = stubRegistry();
    (r.scenarios[1] as any).options = [{ name: 'pages', kind: 'int', default: 1, help: 'x' }];
    expect(() => runFlagTable(r, 'beta')).toThrow(/clashes/);
  });
});

describe('flag table', () => {
  it('every flag in the table parses, and nothing outside it', () => {
    const sample: Record<string, string> = { int: '1', duration: '1s', string: 'x', bool: 'on' };
    for (const sc of ['alpha', 'beta']) {
      for (const f of runFlagTable(reg, sc)) {
        if (f.name === 'help') continue;
        const val = f.kind === 'enum' ? f.choices![0] : sample[f.kind];
        const p = parseFlags([`--${f.name}`, ...(f.kind === 'bool' ? [] : [val])], runFlagTable(reg, sc), 'run');
        expect(p.values.has(f.name)).toBe(true);
      }
    }
  });

  it('the start line echoes every flag of the table', () => {
    const v = validateRun(['--scenario', 'alpha'], reg);
    const line = describeConfig(v.cfg, v.flags);
    for (const f of v.flags) if (f.name !== 'help') expect(line).toMatch(new RegExp(`(^| )${f.name}=`));
    expect(line).toContain('scenario=alpha');
    expect(line).toContain('duration=5s');
    expect(line).toContain('map-pages=mainline');
    expect(line).toContain('stutter=on');
    expect(line).toContain('report-dir=-');
  });

  it('allRunFlags covers every scenario', () => {
    const { byScenario } = allRunFlags(reg);
    expect([...byScenario.keys()]).toEqual(['alpha', 'beta']);
    expect(byScenario.get('alpha')!.map((f) => f.name)).toEqual(['map-pages', 'truncators', 'reclaim']);
  });
});
