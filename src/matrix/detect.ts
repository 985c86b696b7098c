// Time to detect as one figure per mode: over the known-bad rows of a matrix (expected
// `breaks ...`), how many were caught and the median time (and, controlled, iterations) to the
// first find. run.json, junit.xml, summary.md, the console and index.html all show it.

/** The fields of a matrix row this needs (matrix-run.ts RowResult). */
export interface DetectRow {
  cell?: string;
  mode: string;
  expected: string;
  detectMs: number | null;
  detectIterations: number | null;
  /** a known-bad cell's rows: the modes that caught the cell */
  caughtBy?: string[] | null;
  /** a SKIPPED row did not run (interrupted, or no budget left for it): it counts nowhere */
  verdict?: string;
}

export interface DetectSummary {
  mode: 'free' | 'controlled';
  /** known-bad rows of this mode */
  rows: number;
  /** of those, caught (something found) */
  caught: number;
  /** median time to detect over the caught ones, ms (null: none caught) */
  medianMs: number | null;
  /** controlled: median iterations to detect */
  medianIterations: number | null;
}

const medianOf = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
};

/** Time to detect over the known-bad rows, per mode (a mode without such rows is left out). */
export function detectSummary(m: { rows: readonly DetectRow[] }): DetectSummary[] {
  const out: DetectSummary[] = [];
  for (const mode of ['free', 'controlled'] as const) {
    const rows = m.rows.filter((r) => r.mode === mode && r.expected.startsWith('breaks') && r.verdict !== 'SKIPPED');
    if (!rows.length) continue;
    const caught = rows.filter((r) => r.detectMs !== null);
    out.push({
      mode, rows: rows.length, caught: caught.length, medianMs: medianOf(caught.map((r) => r.detectMs!)),
      medianIterations: mode === 'controlled' ? medianOf(caught.map((r) => r.detectIterations).filter((x): x is number => x !== null)) : null,
    });
  }
  return out;
}


/** The known-bad cells of a matrix (a cell counts as caught when either of its modes catches it),
 * and which modes caught them. */
export interface CellsCaught {
  cells: number;
  caught: number;
  /** caught by free mode only, controlled mode only, both */
  freeOnly: number;
  controlledOnly: number;
  both: number;
}

export function cellsCaught(m: { rows: readonly DetectRow[] }): CellsCaught {
  const by = new Map<string, string[]>();
  for (const r of m.rows) if (r.cell && r.caughtBy && r.mode !== 'replay' && r.verdict !== 'SKIPPED') by.set(r.cell, r.caughtBy);
  const all = [...by.values()];
  const has = (l: string[], x: string) => l.includes(x);
  return {
    cells: all.length, caught: all.filter((l) => l.length > 0).length,
    freeOnly: all.filter((l) => has(l, 'free') && !has(l, 'controlled')).length,
    controlledOnly: all.filter((l) => has(l, 'controlled') && !has(l, 'free')).length,
    both: all.filter((l) => has(l, 'free') && has(l, 'controlled')).length,
  };
}

export function cellsCaughtLine(c: CellsCaught): string {
  return `known-bad cells caught: ${c.caught}/${c.cells} (free mode only ${c.freeOnly}, controlled only ${c.controlledOnly}, both ${c.both})`;
}
