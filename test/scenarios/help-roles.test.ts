// An option's help that names a role ("the 'killer' role") names one its scenario has: collapse,
// writeback and fuse-write share map-truncate's options, whose --killable-faults help named
// map-truncate's killer, a role none of them has.
import { describe, expect, it } from 'vitest';
import { getScenario } from '../../src/scenarios/index.ts';
import { ROLES } from '../../src/scenarios/map-truncate.ts';
import { COLLAPSE_ROLES } from '../../src/scenarios/collapse.ts';
import { WRITEBACK_ROLES } from '../../src/scenarios/writeback.ts';
import { FUSE_ROLES } from '../../src/scenarios/fuse-write.ts';
import { LOCK_ORDER_ROLES } from '../../src/scenarios/lock-order.ts';

const ROLES_OF: Record<string, readonly string[]> = {
  'map-truncate': ROLES, collapse: COLLAPSE_ROLES, writeback: WRITEBACK_ROLES, 'fuse-write': FUSE_ROLES, 'lock-order': LOCK_ORDER_ROLES,
};

describe('option help and roles', () => {
  it("every role an option's help names as \"the 'X' role\" is one of the scenario's roles", () => {
    let named = 0;
    for (const [name, roles] of Object.entries(ROLES_OF)) {
      for (const o of getScenario(name).options ?? []) {
        for (const m of (o.help ?? '').matchAll(/'([a-z-]+)' role/g)) {
          named++;
          expect(roles, `${name} --${o.name}: ${o.help}`).toContain(m[1]);
        }
      }
    }
    expect(named).toBeGreaterThan(0); // map-truncate's --killable-faults names its killer
  });

  it('collapse, writeback and fuse-write say what --killable-faults does without a killer', () => {
    for (const name of ['collapse', 'writeback', 'fuse-write']) {
      const help = getScenario(name).options!.find((o) => o.name === 'killable-faults')!.help;
      expect(help).toMatch(/no killer role/);
    }
    expect(getScenario('map-truncate').options!.find((o) => o.name === 'killable-faults')!.help).toMatch(/'killer' role/);
  });
});
