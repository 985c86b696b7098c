// `list`'s section for plug-ins: what each registered, and the matrix cell that grades it.
import { pluginRegistrations } from './plugin.ts';
import { matrixCells } from '../matrix/extra-cells.ts';
import { LOCKS, MAP_TRUNCATE, WRITEBACK, expectedText } from '../matrix/cells.ts';

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
