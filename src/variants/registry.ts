// Variants: named partial operation tables over mainline (src/kernel/task.ts), and the one place
// that turns a configuration into the tables a task runs.
//
// A variant replaces some entries of some tables; everything else stays mainline. Its `ops(base)`
// gets the tables it is composed over (mainline plus the variants chosen before it), so an entry
// can call the one it wraps: `ops: (base) => ({ vmOps: { *fault(t, vmf) { ...; return yield*
// base.vmOps.fault(t, vmf); } } })`. Variants compose: a lock, a map_pages variant, a fault path
// and any number of --variant choices at once, in that order.
//
// Each variant says what the tester must show for it (DESIGN.md "Variants and expected outcomes"):
// 'clean', the invariant ids a known-bad protocol must break, or 'open'. Self-test mutants are
// hidden: their flags accept them, listings do not show them.
import type { InvariantId } from '../kernel/invariants.ts';
import type { KernelOps, LockOptions, OpsOverride, PageLockOps, TableName } from '../kernel/task.ts';
import type { RunConfig } from '../kernel/config.ts';
import { mainlineOps } from '../mm/mainline.ts';
import { DEFAULT_LOCK, makeLock } from '../locks/index.ts';

/** The flag a variant is chosen with: --map-pages, --fault-path, or only --variant ('variant'). */
export type VariantKind = 'map-pages' | 'fault-path' | 'variant';
export const VARIANT_KINDS: readonly VariantKind[] = ['map-pages', 'fault-path', 'variant'];

export interface Variant {
  name: string;
  kind: VariantKind;
  /** one line for `list` and reports */
  summary: string;
  /** where it comes from: commit, Msg-ID */
  source: string;
  expected: 'clean' | 'open' | readonly InvariantId[];
  /** why that is the expected outcome, in a sentence or two (matrix cells, reports) */
  reasoning?: string;
  /** share of the matrix budget (default by expectation, src/matrix/cells.ts) */
  weight?: number;
  /** a self-test mutant or an experiment: accepted by its flag, not listed */
  hidden?: boolean;
  /** The entries it replaces, given the tables it is composed over. */
  ops(base: KernelOps): OpsOverride;
}

const VARIANTS = new Map<string, Variant>();

export function registerVariant(v: Variant): void {
  if (VARIANTS.has(v.name)) throw new Error(`${v.kind === 'variant' ? '' : `${v.kind} `}variant '${v.name}' registered twice`);
  if (!VARIANT_KINDS.includes(v.kind)) throw new Error(`variant '${v.name}': kind must be one of ${VARIANT_KINDS.join(', ')}`);
  VARIANTS.set(v.name, v);
}

/** Registered variants of one kind (all kinds when none is given); hidden ones only when asked. */
export function variants(o: { kind?: VariantKind; hidden?: boolean } = {}): Variant[] {
  return [...VARIANTS.values()].filter((v) => (o.kind === undefined || v.kind === o.kind) && (o.hidden || !v.hidden));
}

export function variantNames(o: { kind?: VariantKind; hidden?: boolean } = {}): string[] {
  return variants(o).map((v) => v.name);
}

export function findVariant(name: string): Variant | undefined {
  return VARIANTS.get(name);
}

/** The variant called `name`; with a kind other than 'variant', only one of that kind. */
export function getVariant(name: string, kind?: VariantKind): Variant {
  const v = VARIANTS.get(name);
  const flagKind = kind !== undefined && kind !== 'variant' ? kind : undefined;
  if (!v || (flagKind !== undefined && v.kind !== flagKind)) {
    // a flag's own default, 'mainline', chooses nothing but is a valid answer (configVariants)
    const known = [...(flagKind !== undefined ? ['mainline'] : []), ...variantNames({ kind: flagKind, hidden: true })];
    throw new Error(`unknown ${flagKind ? `--${flagKind}` : 'variant'} '${name}' (known: ${known.join(', ') || 'none'})`);
  }
  return v;
}

/**
 * `over` applied to `base`: each replaced table is a new object whose prototype is the base
 * table and whose own entries are the replacements, so an entry not replaced is found in the
 * table below, and entries that call each other through `t.ops` reach the replacements.
 */
export function composeOps(base: KernelOps, over: OpsOverride): KernelOps {
  const out = { ...base };
  for (const k of Object.keys(over) as TableName[]) {
    const entries = over[k];
    if (entries === undefined) continue;
    if (!(k in base)) throw new Error(`no table '${k}' (tables: ${Object.keys(base).join(', ')})`);
    // defined, not assigned: the base table is frozen, and assigning a name its prototype holds
    // read-only throws in strict code
    (out as Record<TableName, unknown>)[k] = Object.freeze(Object.create(base[k], Object.getOwnPropertyDescriptors(entries)));
  }
  return Object.freeze(out);
}

/** What a configuration chooses: the lock algorithm (by name or as a table) and the variants, in
 * the order they compose. */
export interface KernelChoice {
  lock?: string | PageLockOps;
  lockOptions?: LockOptions;
  variants?: readonly string[];
}

/** The tables of a choice: mainline, the lock, then each variant over what came before. */
export function kernelOps(c: KernelChoice = {}): KernelOps {
  const lock = typeof c.lock === 'object' ? c.lock : makeLock(c.lock ?? DEFAULT_LOCK, c.lockOptions);
  let ops = mainlineOps(lock);
  for (const name of c.variants ?? []) ops = composeOps(ops, getVariant(name).ops(ops));
  return ops;
}

/** The variants a run configuration chooses, in composition order: --map-pages, --fault-path
 * (scenario flags, in cfg.extra), then every --variant. 'mainline' chooses nothing. */
export function configVariants(cfg: Pick<RunConfig, 'extra'> & { variants?: readonly string[] }): string[] {
  const out: string[] = [];
  for (const kind of ['map-pages', 'fault-path'] as const) {
    const name = cfg.extra[kind];
    if (name === undefined || name === 'mainline') continue;
    getVariant(String(name), kind);
    out.push(String(name));
  }
  for (const name of cfg.variants ?? []) {
    getVariant(name);
    out.push(name);
  }
  return out;
}

/** The tables a run configuration runs. */
export function configOps(cfg: Pick<RunConfig, 'lock' | 'unfairness' | 'extra'> & { variants?: readonly string[] }): KernelOps {
  return kernelOps({ lock: cfg.lock, lockOptions: { unfairness: cfg.unfairness }, variants: configVariants(cfg) });
}
