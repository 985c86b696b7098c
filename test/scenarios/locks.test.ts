// Mutual exclusion with real worker threads, for every lock_page algorithm: a locks run bounded
// by operations must end clean, with no LOCK-EXCL and no lost update of the page data each holder
// increments non-atomically (read, schedule points, write + 1). The same test with a lock that does
// not exclude (busted-noexcl) must fail, so the test can fail.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { runStress } from '../../src/run/orchestrate.ts';
import type { RunResult } from '../../src/report/result.ts';

const OPS = 1500;

const cfg = (lock: string): RunConfig => ({
  ...DEFAULTS, scenario: 'locks', lock, workers: 4, pages: 4, durationMs: 0, ops: OPS, seed: '1',
  // high perturbation: long holds while a lock is held make every algorithm's slow path run
  perturb: 'high', stutter: true, hungMs: 10_000, statIntervalMs: 1_000,
  // Mutual exclusion is what this test judges. Without signals the killable lost wake-ups that
  // v4.14 and v5.9-rc6 carry (docs/findings; cells locks/v4.14, locks/v5.9-rc6) cannot happen, and
  // for v4.14 k = 1000 leaves its starvation (cell locks/v4.14-starve) unjudged here: both are real
  // finds of those algorithms that a loaded machine can hit in a run this short. (v5.9-rc6 keeps the
  // default k, so its hand-off path runs.)
  unfairness: lock === 'v4.14' ? 1000 : DEFAULTS.unfairness, extra: { signals: false },
});

interface LocksSummary { lockedUpdates: number; dataCounter: number; lostUpdates: number }
const summary = (r: RunResult) => r.extra.locks as LocksSummary;
const sumStat = (r: RunResult, name: 'acquisitions' | 'contended' | 'ops') => r.tasks.reduce((a, t) => a + t.stats[name], 0);

describe('locks scenario with real workers: mutual exclusion', () => {
  for (const lock of ['v4.14', 'v5.9', 'v5.9-rc6']) {
    it(`${lock}: no two owners, no lost update`, async () => {
      const r = await runStress(cfg(lock));
      const ids = r.violations.map((v) => `${v.id}: ${v.message}`);
      expect(ids).toEqual([]);
      expect(r.outcome).toBe('SUCCESS');
      expect(r.endReason).toBe('ops');
      expect(r.tasks.map((t) => t.ops)).toEqual([OPS, OPS, OPS, OPS]);
      const s = summary(r);
      // every successful acquisition of the run made exactly one update, and none was lost
      expect(s.lostUpdates).toBe(0);
      expect(s.dataCounter).toBe(s.lockedUpdates);
      expect(s.lockedUpdates).toBe(sumStat(r, 'acquisitions'));
      expect(s.lockedUpdates).toBeGreaterThan(OPS);
      // the slow path (sleeping waiters, wake-ups or hand-offs) really ran
      expect(sumStat(r, 'contended')).toBeGreaterThan(0);
      expect((r.extra.workers as { exitCode: number | null }[]).every((w) => w.exitCode !== null)).toBe(true);
    }, 20_000);
  }

  it('busted-noexcl (trylock is check-then-set) fails the same test', async () => {
    // it stops at the first violation; high perturbation finds one within a few thousand operations
    const r = await runStress({ ...cfg('busted-noexcl'), ops: 25_000 });
    expect(r.outcome).toBe('FAILURE');
    expect(r.endReason).toBe('violation');
    const s = summary(r);
    // two owners, seen by the shadow-owner check at acquire (and usually a lost update too)
    expect(r.violations.filter((v) => v.id === 'LOCK-EXCL').length).toBeGreaterThan(0);
    expect(s.lockedUpdates).toBeGreaterThan(0);
    expect((r.extra.workers as { exitCode: number | null }[]).every((w) => w.exitCode !== null)).toBe(true);
  }, 20_000);
});
