// The tool never hangs: with a lock whose unlock never wakes its waiters, the run ends by itself
// with a HUNG report naming the waiter, the page and who last unlocked it, and every worker gone.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import { PG_locked } from '../../src/shm/shm.ts';

const cfg: RunConfig = {
  ...DEFAULTS, scenario: 'locks', lock: 'busted-nowake', workers: 4, pages: 4, seed: '1',
  durationMs: 60_000, ops: 0, perturb: 'low', stutter: false, hungMs: 1_000, statIntervalMs: 500, extra: {},
};

describe('watchdog', () => {
  it('busted-nowake: the run stops itself with a HUNG report and no worker left', async () => {
    const r = await runStress(cfg);
    expect(r.outcome).toBe('FAILURE');
    expect(r.endReason).toBe('hung');
    expect(r.elapsedMs).toBeLessThan(20_000); // far below the 60 s duration: it stopped by itself

    expect(r.hung.length).toBeGreaterThan(0);
    const h = r.hung[0];
    expect(h.waitPage).toBeGreaterThanOrEqual(0);
    expect(h.state).toContain(`waiting on page ${h.waitPage}`);

    const v = r.violations.find((x) => x.id === 'HUNG' && x.task === h.task)!;
    expect(v).toBeDefined();
    expect(v.page).toBe(h.waitPage);
    expect(v.message).toContain(`task ${h.task} (locker) blocked for more than`);
    expect(v.message).toContain(`page ${h.waitPage}`);
    // the owner, or with no owner left (the unlock happened, the wake did not) who touched it last,
    // or that nobody did within the flight recorders' reach (they wrap while the others keep running)
    expect(v.message).toMatch(/owned by task \d+ \(|the last step on page \d+ was task \d+'s '[^']+' in op \d+|page \d+ has no owner; no other task's recent steps touch page \d+/);
    // and, when the page was unlocked at that moment, says what it is: a lost wake-up
    if (!(h.pageFlags & PG_locked)) expect(r.violations.some((x) => x.id === 'LOCK-WAKE' && x.task === h.task)).toBe(true);
    expect(v.flight.some((f) => f.task === h.task && f.label === 'io_schedule')).toBe(true);

    const workers = r.extra.workers as { threadId: number; exitCode: number | null }[];
    expect(workers).toHaveLength(4);
    for (const w of workers) expect(w.exitCode, `thread ${w.threadId}`).not.toBeNull();
  }, 20_000);
});
