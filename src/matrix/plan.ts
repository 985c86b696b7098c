// Planning a matrix: which cells (--cells, --shard), in which order, and how one time budget is
// split across them. Pure functions; the matrix command does the running.
import type { Cell, CellMode } from './cells.ts';
import { isBreaks } from './cells.ts';

// ---- --shard i/N -------------------------------------------------------------------------------

/** FNV-1a, 32 bits: a stable hash of a cell name (the same on every machine and Node version). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(s);
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

/** '2/4' → { index: 2, count: 4 }; null when malformed. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return null;
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || count > 1000 || index < 1 || index > count) return null;
  return { index, count };
}

/** The shard a cell belongs to (1-based): a function of its name only, so adding or removing
 * other cells never moves it, and N machines running shards 1..N cover every cell once. */
export const shardOf = (name: string, count: number): number => (fnv1a(name) % count) + 1;

export function inShard<T extends { name: string }>(cells: readonly T[], s: Shard): T[] {
  return cells.filter((c) => shardOf(c.name, s.count) === s.index);
}

// ---- --cells filter -------------------------------------------------------------------------------

/** Comma-separated globs ('*' matches any run of characters, the rest literally) over cell names.
 * Returns the matching cells and the patterns that matched none (a typo must not pass silently). */
export function filterCells<T extends { name: string }>(cells: readonly T[], spec: string): { cells: T[]; unmatched: string[] } {
  const pats = spec.split(',').map((p) => p.trim()).filter(Boolean);
  const res = pats.map((p) => new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  const used = new Set<number>();
  const out = cells.filter((c) => {
    let hit = false;
    res.forEach((re, i) => {
      if (re.test(c.name)) {
        used.add(i);
        hit = true;
      }
    });
    return hit;
  });
  return { cells: out, unmatched: pats.filter((_, i) => !used.has(i)) };
}

// ---- order and rows ---------------------------------------------------------------------------------

/** One (cell, mode) run of the matrix. */
export interface Row {
  cell: Cell;
  mode: CellMode;
}

/** Known-bad cells first (they stop at their first find, so the time they leave flows to the
 * rest), then clean ones, then open ones (the proposals to run long, so they get the leftovers);
 * by name inside each group, free before controlled. */
export function orderRows(cells: readonly Cell[], modes: readonly CellMode[]): Row[] {
  const rank = (c: Cell) => (isBreaks(c.expected) ? 0 : c.expected === 'clean' ? 1 : 2);
  const rows: Row[] = [];
  for (const cell of cells) for (const mode of modes) if (cell.modes.includes(mode)) rows.push({ cell, mode });
  return rows.sort((a, b) => rank(a.cell) - rank(b.cell) || (a.cell.name < b.cell.name ? -1 : a.cell.name > b.cell.name ? 1 : 0)
    || modes.indexOf(a.mode) - modes.indexOf(b.mode));
}

// ---- the budget -------------------------------------------------------------------------------------

/**
 * How one time budget is split (jcstress TimeBudget: timeLeft / testsLeft, clamped; here weighted):
 *
 *   share = clamp((timeLeft - overhead x rowsLeft) x weight / weightLeft, floor, ceiling)
 *
 * recomputed before every row from the wall clock, so a row that ends early (a known-bad cell
 * stops at its first find) or late (worker start-up) changes what the rows after it get.
 * `overhead` is the measured mean of (wall time - granted share) of the rows so far: worker
 * start-up, the final checks, writing reports. A budget of 0 gives every row the floor (a sanity
 * pass, like jcstress -tb 0). Otherwise the budget is kept: a row runs only when the time left
 * holds its floor plus the overhead (fits()), its share never goes past the time left less the
 * overhead, and a row that does not fit is not run (matrix-run.ts marks it SKIPPED and says why),
 * rather than running every row at the floor past the budget (580 s for --budget 5m on a machine
 * at load 20, where the overhead of a row grows to seconds). Rows are ordered known-bad first
 * (orderRows), so the open cells are the first left out. A known-bad row not caught within its
 * share gets a second try after all the other rows (matrix-run.ts); from then on it counts as a
 * row left (reserve()), so the rows after it leave it its part of the time, and, when not every
 * row left can have its floor, its floor (fits()): in a 5m matrix of 385 rows, where every row
 * got the floor, locks/v4.14 and folios-6.6-beyond-eof (0.4-0.9 s quiet) FAILED at load 3-7 with
 * "no time was left for a second try".
 */
export interface BudgetLimits {
  floorMs: number;
  ceilingMs: number;
}

export const BUDGET_LIMITS: Record<CellMode, BudgetLimits> = {
  free: { floorMs: 1_000, ceilingMs: 60_000 },
  controlled: { floorMs: 1_000, ceilingMs: 60_000 },
};

export function shareMs(o: {
  timeLeftMs: number; weight: number; weightLeft: number; rowsLeft: number; overheadMs: number; limits: BudgetLimits;
}): number {
  const usable = Math.max(0, o.timeLeftMs - o.overheadMs * o.rowsLeft);
  const raw = o.weightLeft > 0 ? (usable * o.weight) / o.weightLeft : 0;
  return Math.round(Math.min(o.limits.ceilingMs, Math.max(o.limits.floorMs, raw)));
}

/** Running bookkeeping of the split: call next() before a row and done() after it. */
export class BudgetSplitter {
  private readonly weights: number[];
  private i = 0;
  private overheadSum = 0;
  private overheadRuns = 0;
  /** rows promised a second try at the end: they keep a claim on the time left */
  private reservedWeight = 0;
  private reservedRows = 0;

  constructor(private readonly budgetMs: number, private readonly rows: readonly Row[], private readonly initialOverheadMs = 500) {
    this.weights = rows.map((r) => r.cell.weight);
  }

  /** The share of the next row, given the time already spent: never more than the time left
   * less the overhead, unless that is below the floor (then the row does not fit()). */
  next(spentMs: number): number {
    const r = this.rows[this.i];
    const weightLeft = this.weights.slice(this.i).reduce((a, b) => a + b, 0) + this.reservedWeight;
    const timeLeftMs = this.budgetMs - spentMs, limits = BUDGET_LIMITS[r.mode];
    const share = shareMs({
      timeLeftMs, weight: r.cell.weight, weightLeft, rowsLeft: this.rows.length - this.i + this.reservedRows,
      overheadMs: this.overheadMs(), limits,
    });
    return Math.max(limits.floorMs, Math.min(share, Math.round(timeLeftMs - this.overheadMs())));
  }

  /** Whether the next row fits in what is left of the budget: its floor plus the overhead of a
   * row. When the rows left cannot all have theirs, some will not run, and then the rows promised
   * a second try (reserve()) come first, as known-bad rows do in the order: a floor and an
   * overhead each are kept for them, or a missed known-bad row would FAIL for want of time while
   * a clean row ran. When the row does not fit, `why` says so in a line for its report. */
  fits(spentMs: number): { ok: true } | { ok: false; why: string } {
    const floor = BUDGET_LIMITS[this.rows[this.i].mode].floorMs, over = this.overheadMs();
    const rowsLeft = this.rows.length - this.i;
    const kept = this.reservedRows * (floor + over);
    const left = this.budgetMs - spentMs;
    if (left >= rowsLeft * (floor + over) + kept) return { ok: true }; // every row left fits
    if (left - kept >= floor + over) return { ok: true };
    const s = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
    const forRetries = kept > 0 ? ` (${s(kept)} of it kept for ${this.reservedRows} second tr${this.reservedRows === 1 ? 'y' : 'ies'} of known-bad rows)` : '';
    return {
      ok: false,
      why: `not run: ${s(left)} of the budget was left${forRetries}, less than a row needs (its ${s(floor)} floor and ${s(over)} of start-up, checks and reports, the mean of the rows so far)`,
    };
  }

  /** The row just done will run again at the end: the rows after it leave it its part. */
  reserve(weight: number): void {
    this.reservedWeight += weight;
    this.reservedRows++;
  }

  /** Mean (wall time - time actually running the protocol) of the rows so far. */
  overheadMs(): number {
    return this.overheadRuns ? this.overheadSum / this.overheadRuns : this.initialOverheadMs;
  }

  /** The row took `wallMs`, of which `activeMs` ran the protocol (a row that stopped at its first
   * find ran less than its share; the rest is start-up, checks and reports). */
  done(wallMs: number, activeMs: number): void {
    if (wallMs > 0) {
      this.overheadSum += Math.max(0, wallMs - activeMs);
      this.overheadRuns++;
    }
    this.i++;
  }
}
