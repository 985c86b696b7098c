// Time to detect as one figure per mode: over the known-bad rows of a matrix (expected
// `breaks ...`), how many were caught and the median time (and, controlled, iterations) to the
// first find. run.json, junit.xml, summary.md, the console and index.html all show it.

/** The fields of a matrix row this needs (matrix-run.ts RowResult). */
export interface DetectRow {
  mode: string;
  expected: string;
  detectMs: number | null;
  detectIterations: number | null;
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
    const rows = m.rows.filter((r) => r.mode === mode && r.expected.startsWith('breaks'));
    if (!rows.length) continue;
    const caught = rows.filter((r) => r.detectMs !== null);
    out.push({
      mode, rows: rows.length, caught: caught.length, medianMs: medianOf(caught.map((r) => r.detectMs!)),
      medianIterations: mode === 'controlled' ? medianOf(caught.map((r) => r.detectIterations).filter((x): x is number => x !== null)) : null,
    });
  }
  return out;
}

