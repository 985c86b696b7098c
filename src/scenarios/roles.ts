// --roles for the mm scenarios: 'writer*2,truncator,reader+zapper'. Each comma-separated item is
// one actor; '+' joins roles the actor alternates (one part per operation, chosen by the op
// stream); '*N' repeats the item. Shared by the scenarios that take a role list.
import type { RunConfig } from '../kernel/config.ts';

export function parseRoleList(spec: string, known: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z+-]+)(?:\*(\d+))?$/.exec(item);
    if (!m) throw new Error(`--roles: cannot read '${item}'`);
    for (const r of m[1].split('+'))
      if (!known.includes(r)) throw new Error(`--roles: unknown role '${r}' (roles: ${known.join(', ')})`);
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(m[1]);
  }
  return out;
}

/** The actors' roles: --roles if given, else the scenario's default mix for --workers. */
export function rolesOf(cfg: RunConfig, known: readonly string[], byWorkers: (workers: number) => string[]): string[] {
  const spec = String(cfg.extra.roles ?? '');
  return spec ? parseRoleList(spec, known) : byWorkers(cfg.workers);
}

/** validate(): --roles must name as many actors as --workers. */
export function checkRoles(cfg: RunConfig, known: readonly string[], byWorkers: (workers: number) => string[]): string | null {
  let r: string[];
  try {
    r = rolesOf(cfg, known, byWorkers);
  } catch (e) {
    return (e as Error).message;
  }
  if (cfg.extra.roles && r.length !== cfg.workers) return `--roles names ${r.length} actor(s) but --workers is ${cfg.workers}: give both the same count`;
  return null;
}

const partsOf = new Map<string, readonly string[]>();

/** The parts of a '+'-joined role ('reader+zapper+reclaimer'), split once per role string: a
 * scenario's nextOp picks one at every operation. */
export function roleParts(role: string): readonly string[] {
  let p = partsOf.get(role);
  if (p === undefined) partsOf.set(role, (p = role.split('+')));
  return p;
}

/** Whether --roles gives some actor `role` (alone or '+'-joined): the default mixes never hold the
 * roles asked for this way (the unmapper). */
export function rolesName(cfg: RunConfig, role: string): boolean {
  return String(cfg.extra.roles ?? '').split(/[,+]/).some((item) => item.trim().replace(/\*\d+$/, '') === role);
}

/** The 'unmapper' role (src/mm/mmap.ts) frees PTE tables, so the run must allocate them on demand. */
export function checkUnmapper(cfg: RunConfig): string | null {
  if (!rolesName(cfg, 'unmapper') || cfg.extra['pte-alloc'] === true || cfg.extra.pmd === 'on') return null;
  return '--roles unmapper needs --pte-alloc (or --pmd on): it frees the page tables a fault then allocates again';
}
