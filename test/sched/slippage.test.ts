// No slippage: with two bugs present at once, shrinking keeps the find it was given. The
// self-test lock busted-nowake is v5.9-rc6 (which has its own killable lost wake-up) with an
// unlock that never wakes: both strand a waiter (DEADLOCK, or LOCK-WAKE as soon as the owed wake-up
// is seen lost). A DEADLOCK of a wait_on_page_locked() waiter
// (op kind waitlocked) can only be the never-waking unlock (rc6's lost wake-up needs an exclusive
// killable waiter); shrinking must not slide from one waiter's DEADLOCK to another's, which the
// same configuration has too.
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type RunConfig } from '../../src/kernel/config.ts';
import { makeLock, lockNames } from '../../src/locks/index.ts';
import { explore, type Find } from '../../src/sched/explore.ts';
import { reproFromFind, runRepro, validateRepro, type Resolver } from '../../src/sched/repro.ts';
import { shrink, shrunkRepro } from '../../src/sched/shrink.ts';
import { sameSignature, signatureText } from '../../src/sched/signature.ts';
import { getScenario, scenarioNames } from '../../src/scenarios/index.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../stress/commands/index.ts';
import { buildRegistry } from '../../stress/commands/context.ts';
import { testContext } from '../helpers/cli-context.ts';

const resolver: Resolver = {
  scenario: (n) => (scenarioNames().includes(n) ? getScenario(n) : undefined),
  scenarioNames,
  lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => lockNames({ hidden: true }),
};

describe('no slippage between two bugs that break the same invariant', () => {
  const cfg: RunConfig = { ...DEFAULTS, scenario: 'locks', lock: 'busted-nowake', workers: 3, seed: '1', durationMs: 0, ops: 0, extra: {} };
  const firstWith = (kind: string): Find => {
    const r = explore({
      scenario: getScenario('locks'), cfg, lock: makeLock('busted-nowake'), strategies: [{ kind: 'random', depth: 3 }], iterations: 2_000,
      opsPerActor: 4, seed: '1', keepGoing: true, until: (f) => f.violation.id === 'DEADLOCK' && f.signature.op === kind,
    });
    expect(r.stats.stoppedBy).toBe('find');
    return r.finds[r.finds.length - 1];
  };
  const fileOf = (f: Find) => JSON.parse(JSON.stringify(reproFromFind(f, { scenario: getScenario('locks'), cfg, seed: '1' })));

  it('every shrunk repro is the same find (signature) as the find it came from', () => {
    // the first 12 finds of seed 1 (DEADLOCK and, since controlled mode checks owed wake-ups,
    // LOCK-WAKE): when every one was a DEADLOCK, shrinking that compared invariant ids only
    // (before signatures) turned 3 of them into another waiter's DEADLOCK (a killable waiter's
    // into a lock() waiter's, a lock() waiter's into a killable one's, a killable waiter's into a
    // wait_on_page_locked() waiter's)
    const finds: Find[] = [];
    explore({
      scenario: getScenario('locks'), cfg, lock: makeLock('busted-nowake'), strategies: [{ kind: 'random', depth: 3 }], iterations: 2_000,
      opsPerActor: 4, seed: '1', keepGoing: true, until: (f) => (finds.push(f), finds.length >= 12),
    });
    expect(finds).toHaveLength(12);
    // several finds share an invariant with different signatures: each could slide to another
    const ids = new Set(finds.map((f) => f.violation.id));
    for (const id of ids) if (finds.filter((f) => f.violation.id === id).length > 1)
      expect(new Set(finds.filter((f) => f.violation.id === id).map((f) => signatureText(f.signature))).size).toBeGreaterThan(1);
    for (const f of finds) {
      const l = validateRepro(fileOf(f), resolver);
      const s = shrink(l, { maxRuns: 2_000 });
      expect(signatureText(s.signature), `iteration ${f.iteration}`).toBe(signatureText(f.signature));
      expect(s.after.steps).toBeLessThanOrEqual(s.before.steps);
      const min = validateRepro(JSON.parse(JSON.stringify(shrunkRepro(l, s, 'x.json'))), resolver);
      expect(min.file.signature).toEqual(f.signature);
      const r = runRepro(min);
      expect(r.reproduced).toBe(true);
      expect(r.signature).toEqual(f.signature);
    }
  }, 120_000);

  it('replay tells two bugs of one invariant apart', () => {
    const waitlocked = firstWith('waitlocked');
    const lock = firstWith('lock');
    expect(waitlocked.violation.id).toBe(lock.violation.id);
    expect(sameSignature(waitlocked.signature, lock.signature)).toBe(false);
    const l = validateRepro(fileOf(waitlocked), resolver);
    expect(runRepro(l).reproduced).toBe(true);
    // the same run judged against the other bug's signature is not a reproduction of it
    expect(runRepro(l, { want: lock.signature }).reproduced).toBe(false);
  }, 60_000);

  it('replay says when a repro fails with the same invariant but another signature', async () => {
    const c = testContext();
    c.registry = buildRegistry();
    const json = fileOf(firstWith('waitlocked'));
    writeFileSync(join(c.dir, 'same.json'), JSON.stringify(json));
    writeFileSync(join(c.dir, 'other.json'), JSON.stringify({ ...json, signature: firstWith('lock').signature }));
    expect(await main(['replay', 'same.json'], c)).toBe(1);
    expect(c.stdout.some((l) => l.startsWith('REPRODUCED DEADLOCK'))).toBe(true);
    c.stdout.length = 0;
    expect(await main(['replay', 'other.json'], c)).toBe(1);
    expect(c.stdout.find((l) => l.startsWith('DIFFERENT'))).toMatch(/^DIFFERENT find, same invariant: DEADLOCK/);
    expect(c.stdout.join('\n')).toContain('this run\'s differs: op waitlocked, not lock');
    expect(c.stderr).toEqual([]);
  }, 60_000);

  it('a file without a signature still loads, and shrinking keeps the signature of its first replay', () => {
    const f = firstWith('waitlocked');
    const json = fileOf(f);
    delete json.signature;
    const l = validateRepro(json, resolver);
    expect(l.file.signature).toBeUndefined();
    expect(runRepro(l).reproduced).toBe(true); // matched by its invariant id
    const s = shrink(l, { maxRuns: 3_000 });
    expect(s.signature).toEqual(f.signature);
  }, 60_000);
});
