// --force (src/run/validate.ts extractForce): accepted by run and explore, kept off the run's
// configuration and its start line, handed to the command as Validated.force for claimReportDir.
import { describe, expect, it } from 'vitest';
import { UsageError, describeConfig, extractForce, validateRun } from '../../src/run/validate.ts';
import { parseExplore } from '../../stress/commands/explore.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { stubRegistry, testContext } from '../helpers/cli-context.ts';

describe('--force', () => {
  it('is taken out of argv (the last one wins, not after --)', () => {
    expect(extractForce(['--duration', '1s', '--force'])).toEqual({ force: true, argv: ['--duration', '1s'] });
    expect(extractForce(['--force', '--no-force'])).toEqual({ force: false, argv: [] });
    expect(extractForce(['--force=off', '--', '--force'])).toEqual({ force: false, argv: ['--', '--force'] });
    expect(() => extractForce(['--force=maybe'])).toThrow(UsageError);
  });

  it('validateRun reports it and leaves the configuration and the start line as they were', () => {
    const reg = stubRegistry();
    const a = validateRun(['--report-dir', 'r'], reg);
    const b = validateRun(['--report-dir', 'r', '--force'], reg);
    expect(a.force).toBe(false);
    expect(b.force).toBe(true);
    expect(b.cfg).toEqual(a.cfg);
    expect(describeConfig(b.cfg, b.flags)).toBe(describeConfig(a.cfg, a.flags));
    expect(describeConfig(b.cfg, b.flags)).not.toMatch(/force/);
  });

  it('explore accepts it', () => {
    const c = testContext();
    c.registry = buildRegistry();
    expect(() => parseExplore(['--scenario', 'locks', '--force', '--report-dir', 'x'], c)).not.toThrow();
  });
});
