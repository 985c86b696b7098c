// --killable-faults: filemap_fault() locks the page killable (mainline's lock_folio_maybe_drop_mmap()),
// and the 'killer' role sends fatal signals. The killable-wait lost wake-up of v5.9-rc6
// (docs/findings/killable-lost-wakeup.md) then shows in the mm scenario too: the shrunk find
// replays on mainline's lock, and the same schedule does not fail with either proposed fix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockNames, makeLock } from '../../src/locks/index.ts';
import { runRepro, validateRepro, type Resolver } from '../../src/sched/repro.ts';
import { getScenario, scenarioNames } from '../../src/scenarios/index.ts';

const resolver: Resolver = {
  scenario: (n) => (scenarioNames().includes(n) ? getScenario(n) : undefined),
  scenarioNames,
  lock: (cfg) => (lockNames({ hidden: true }).includes(cfg.lock) ? makeLock(cfg.lock, { unfairness: cfg.unfairness }) : undefined),
  lockNames: () => lockNames({ hidden: true }),
};
const FILE = join(import.meta.dirname, '..', '..', 'docs', 'findings', 'killable-lost-wakeup-fault.repro.json');
const load = (lock?: string) => {
  const json = JSON.parse(readFileSync(FILE, 'utf8'));
  if (lock) json.config.lock = lock;
  return validateRepro(json, resolver);
};

describe('killable faults in map-truncate', () => {
  it('v5.9-rc6: a faulter killed while queued consumes the wake; the truncator behind it sleeps on an unlocked page', () => {
    const l = load();
    expect(l.cfg.extra['killable-faults']).toBe(true);
    expect(l.file.actors.map((a) => a.role)).toContain('killer');
    const r = runRepro(l);
    expect(r.reproduced).toBe(true);
    // the truncator is the sleeper the owed wake-up accounting reports, asleep on the unlocked page
    expect(r.result.violation?.id).toBe('LOCK-WAKE');
    expect(r.signature).toMatchObject({ role: 'truncator', op: 'truncate', label: 'io_schedule' });
    expect(r.result.violation?.message).toMatch(/sleeper \d+, flags PG_uptodate\|PG_waiters, queued 1/);
  });

  for (const lock of ['v5.9-rc6-wakefix', 'v5.9-rc6-wakepass'])
    it(`${lock}: the same schedule does not lose the wake-up`, () => {
      const r = runRepro(load(lock));
      expect(r.reproduced).toBe(false);
      expect(r.result.violation ?? null).toBeNull();
    });
});
