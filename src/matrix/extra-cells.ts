// The matrix's cells from the live registries (see registry.ts for the rules). Kept apart from
// registry.ts so that variant files can import registerCell without an import cycle through the
// registries they register into.
import { SCENARIOS } from '../scenarios/index.ts';
import { lockInfo, lockNames } from '../locks/index.ts';
import { MAINLINE_MAP_PAGES } from '../variants/map-pages/index.ts';
import { MAINLINE_FAULT_PATH } from '../variants/fault/index.ts';
import { variants } from '../variants/index.ts';
import { LOCKS, MAP_TRUNCATE, WRITEBACK, deriveCells, expectedText, explicitCells, type Cell } from './cells.ts';
import { pluginRegistrations } from '../plugin/plugin.ts';

export function matrixCells(): Cell[] {
  return deriveCells({
    scenarios: [...SCENARIOS.values()],
    mapPages: [MAINLINE_MAP_PAGES, ...variants({ kind: 'map-pages', hidden: true })],
    locks: lockNames({ hidden: true }).map((name) => {
      const l = lockInfo(name)!;
      return { name, description: l.description, hidden: l.hidden };
    }),
    faultPaths: [MAINLINE_FAULT_PATH, ...variants({ kind: 'fault-path', hidden: true })],
    explicit: explicitCells(),
  });
}

/** `list`'s lines for what plug-ins registered: kind, name, the matrix cell's expected outcome. */
export function pluginListLines(): string[] {
  const regs = pluginRegistrations();
  if (!regs.length) return [];
  const cells = new Map(matrixCells().map((c) => [c.name, c]));
  const cellOf = (kind: string, name: string) =>
    kind === 'cell' ? cells.get(name) : kind === 'map-pages' ? cells.get(`${MAP_TRUNCATE}/${name}`) : kind === 'lock' ? cells.get(`${LOCKS}/${name}`)
      : kind === 'fault-path' ? cells.get(`${WRITEBACK}/${name}`) : undefined;
  const rows = regs.filter((r) => r.kind !== 'cell' || !regs.some((x) => x.kind !== 'cell' && cellOf(x.kind, x.name)?.name === r.name))
    .map((r) => {
      const c = cellOf(r.kind, r.name);
      return [`${r.kind} ${r.name}`, c ? `cell ${c.name}: ${expectedText(c.expected)}` : '', r.file];
    });
  const w = [0, 1].map((i) => Math.max(...rows.map((x) => x[i].length)));
  return ['Registered by plug-ins (--plugin):', ...rows.map((x) => `  ${x[0].padEnd(w[0])}  ${x[1].padEnd(w[1])}  ${x[2]}`.trimEnd())];
}
