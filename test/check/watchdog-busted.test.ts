// The tool never hangs: with a lock whose unlock never wakes its waiters, the run ends by itself
// with a LOCK-WAKE report naming the sleeper and the page, and every worker gone.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { PG_locked } from '../../src/shm/shm.ts';

const cfg: RunConfig = {
  ...DEFAULTS, scenario: 'locks', lock: 'busted-nowake', workers: 4, pages: 4, seed: '1',
  durationMs: 60_000, ops: 0, perturb: 'low', stutter: false, hungMs: 1_000, statIntervalMs: 500, extra: {},
};

describe('watchdog', () => {
  it('busted-nowake: the run stops itself with a lost wake-up report and no worker left', async () => {
    const r = await runStress(cfg);
    expect(r.outcome).toBe('FAILURE');
    // the owed wake-up accounting reports the sleeper the instant its wake-up is lost and stops the
    // run (it no longer waits out the hung bound)
    expect(r.endReason).toBe('violation');
    expect(r.elapsedMs).toBeLessThan(20_000); // far below the 60 s duration: it stopped by itself

    const v = r.violations.find((x) => x.id === 'LOCK-WAKE')!;
    expect(v).toBeDefined();
    expect(v.page).toBeGreaterThanOrEqual(0);
    // values: sleeper, page flags, queued; the sleeper sleeps on an unlocked page, still queued
    const [sleeper, flags, queued] = v.values;
    expect(sleeper).toBeGreaterThanOrEqual(0);
    expect(sleeper).toBeLessThan(4);
    expect(flags & PG_locked).toBe(0);
    expect(queued).toBe(1);
    expect(v.flight.some((f) => f.task === sleeper && f.label === 'io_schedule')).toBe(true);

    const workers = r.extra.workers as { threadId: number; exitCode: number | null }[];
    expect(workers).toHaveLength(4);
    for (const w of workers) expect(w.exitCode, `thread ${w.threadId}`).not.toBeNull();
  }, 20_000);
});
