// The scenario registry: `--scenario NAME` and `list` read it; workers look their scenario up here
// by name, so a scenario registered here runs in both drivers.
import type { Scenario } from '../kernel/scenario.ts';
import { locksScenario } from './locks.ts';
import { mapTruncateScenario } from './map-truncate.ts';
import { writebackScenario } from './writeback.ts';
import { lockOrderScenario } from './lock-order.ts';
import { collapseScenario } from './collapse.ts';
import { fuseWriteScenario } from './fuse-write.ts';
// the hidden self-test locks of src/variants/mutants/ (registered wherever scenarios are)
import '../variants/mutants/lock-mutants.ts';

export const SCENARIOS = new Map<string, Scenario>();

export function registerScenario(s: Scenario): void {
  if (SCENARIOS.has(s.name)) throw new Error(`scenario '${s.name}' registered twice`);
  SCENARIOS.set(s.name, s);
}

export function getScenario(name: string): Scenario {
  const s = SCENARIOS.get(name);
  if (!s) throw new Error(`unknown scenario '${name}' (known: ${[...SCENARIOS.keys()].join(', ')})`);
  return s;
}

export function scenarioNames(): string[] {
  return [...SCENARIOS.keys()];
}

registerScenario(locksScenario);
registerScenario(mapTruncateScenario);
registerScenario(writebackScenario);
registerScenario(lockOrderScenario);
registerScenario(collapseScenario);
registerScenario(fuseWriteScenario);
