// Matrix cells: what the nightly matrix runs and what each run must show.
//
// A cell is one (scenario, configuration) pair with an expected outcome, graded the way jcstress
// grades outcomes and locktorture's busted lock proves the checker works (DESIGN.md "Variants and
// expected outcomes"):
//   'clean'              no violation is allowed;
//   { breaks: [ids] }    a known-bad protocol: the run must catch one of these invariants within
//                        its budget, else the detector regressed;
//   'open'               nobody proved it either way: the run reports what it showed.
//
// Nobody keeps a central list of cells by hand. They are derived from the per-kind registries at
// the moment the matrix asks for them, so a variant registered anywhere (a file in the tree or a
// --plugin) becomes a cell:
//   - every ->map_pages variant (registerMapPages)  x  the map-truncate scenario, and every fault
//     path (registerFaultPath)  x  the writeback scenario, expected = the variant's own `expected`;
//   - every lock algorithm (registerLock, hidden self-test locks included)  x  the locks scenario:
//     public algorithms model kernel history and must be clean; a hidden lock says nothing about
//     what it must show, so it is 'open' until a cell declares it (below);
//   - every scenario no other cell covers: one 'open' cell with its defaults, so a new scenario
//     shows up in the matrix the day it is registered.
// A variant file adds cells the derivation cannot know with registerCell() (another scenario, a
// lock x unfairness pair, a combination). A cell registered under a derived cell's name replaces
// it: that is how a lock, whose registry carries no expected outcome, declares what it must show.
import type { InvariantId } from '../kernel/invariants.ts';
import { INVARIANT_IDS } from '../kernel/invariants.ts';
import type { CellCfg, CellMode, CellSpec, ControlledCellCfg, Expected } from '../kernel/cells.ts';

export type { CellCfg, CellMode, CellSpec, ControlledCellCfg, Expected } from '../kernel/cells.ts';
import { CELL_MODES } from '../kernel/cells.ts';
import { otherInvariantsUnfairness } from '../locks/index.ts';
export { CELL_MODES };

export interface Cell extends Required<Omit<CellSpec, 'cfg' | 'controlled' | 'source' | 'modes'>> {
  cfg: CellCfg;
  controlled: ControlledCellCfg;
  source: string;
  modes: readonly CellMode[];
  /** 'derived:map-pages', 'derived:lock', 'derived:scenario', 'cell', or 'plugin:<file>' */
  origin: string;
  /** a derived cell whose variant declares no valid expected outcome: the matrix fails it
   * without running it (one bad declaration must not stop the other cells) */
  error?: string;
}

// ---- expectations --------------------------------------------------------------------------

export const isBreaks = (e: Expected): e is Exclude<Expected, string> => typeof e === 'object';

/** 'clean' | 'open' | 'breaks LOCK-EXCL,HUNG' */
export function expectedText(e: Expected): string {
  return isBreaks(e) ? `breaks ${e.breaks.join(',')}` : e;
}

/** The map-pages registry's form (a list of ids) or a cell's form, checked. */
export function toExpected(e: unknown, what: string): Expected {
  if (e === 'clean' || e === 'open') return e;
  const ids = Array.isArray(e) ? e : (typeof e === 'object' && e !== null && Array.isArray((e as { breaks?: unknown }).breaks) ? (e as { breaks: unknown[] }).breaks : null);
  if (!ids) throw new Error(`${what}: expected outcome must be 'clean', 'open' or { breaks: [invariant ids] } (got ${JSON.stringify(e)})`);
  if (ids.length === 0) throw new Error(`${what}: { breaks: [] } names no invariant: say which ones the bug must trip`);
  for (const id of ids)
    if (!(INVARIANT_IDS as readonly unknown[]).includes(id)) throw new Error(`${what}: '${String(id)}' is not an invariant id (known: ${INVARIANT_IDS.join(', ')})`);
  return { breaks: [...new Set(ids as InvariantId[])] };
}

/**
 * Default budget weights. A known-bad cell gets 3: it stops at its first find, so the extra share
 * costs nothing while the detector works, and when it does not fire the cell has searched three
 * times as long before the matrix calls it a regression. Open cells get 2 (the proposals to run
 * long); clean cells 1.
 */
export function defaultWeight(e: unknown): number {
  return e === 'clean' ? 1 : e === 'open' ? 2 : 3;
}

// ---- explicit cells ------------------------------------------------------------------------

const explicit = new Map<string, Cell>();

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+=,-]*(\/[A-Za-z0-9][A-Za-z0-9._+=,-]*)*$/;

export function makeCell(s: CellSpec, origin: string): Cell {
  const what = `cell '${s?.name}'`;
  if (!s || typeof s.name !== 'string' || !NAME_RE.test(s.name)) throw new Error(`${what}: a cell name is 'scenario/variant' (letters, digits, . _ + = , -)`);
  if (typeof s.scenario !== 'string' || !s.scenario) throw new Error(`${what}: needs a scenario`);
  if (typeof s.reasoning !== 'string' || !s.reasoning.trim()) throw new Error(`${what}: say why it is expected to be ${JSON.stringify(s.expected)} (reasoning)`);
  const weight = s.weight ?? defaultWeight(s.expected);
  if (!(weight > 0 && weight <= 100)) throw new Error(`${what}: weight must be in (0, 100]`);
  const modes = s.modes ?? CELL_MODES;
  if (modes.length === 0 || modes.some((m) => !CELL_MODES.includes(m))) throw new Error(`${what}: modes must be a non-empty list of ${CELL_MODES.join(', ')}`);
  return {
    name: s.name, scenario: s.scenario, cfg: s.cfg ?? {}, controlled: s.controlled ?? {},
    expected: toExpected(s.expected, what), reasoning: s.reasoning.trim(), source: s.source ?? '',
    weight, hidden: s.hidden ?? false, modes: [...modes], origin,
  };
}

/** Add a cell. Throws if a cell of that name was registered already (derived names may be
 * replaced: see the file comment). */
export function registerCell(s: CellSpec, origin = 'cell'): void {
  const c = makeCell(s, origin);
  if (explicit.has(c.name)) throw new Error(`cell '${c.name}' is already registered (by ${explicit.get(c.name)!.origin})`);
  explicit.set(c.name, c);
}

export function explicitCells(): Cell[] {
  return [...explicit.values()];
}

// ---- derivation ------------------------------------------------------------------------------

/** What derivation reads from each registry (plain data, so tests can pass their own). */
export interface CellSources {
  scenarios: readonly { name: string }[];
  mapPages: readonly { name: string; summary: string; source: string; expected: unknown; hidden?: boolean; weight?: number }[];
  locks: readonly { name: string; description: string; hidden: boolean }[];
  /** fault-path variants (--fault-path of the writeback scenario) */
  faultPaths?: readonly { name: string; summary: string; source: string; reasoning?: string; expected: unknown; hidden?: boolean; weight?: number }[];
  explicit: readonly Cell[];
}

export const MAP_TRUNCATE = 'map-truncate';
export const LOCKS = 'locks';
export const WRITEBACK = 'writeback';

/** Controlled mode for map-truncate: one mapper, one truncator, one faulter/reader/zapper/
 * reclaimer (the racing pair first, as defaultRoles(3) lays them out). */
const MAP_TRUNCATE_CONTROLLED: ControlledCellCfg = { workers: 3, opsPerActor: 4 };
const LOCKS_CONTROLLED: ControlledCellCfg = { workers: 3, opsPerActor: 4 };
const WRITEBACK_CONTROLLED: ControlledCellCfg = { workers: 3, opsPerActor: 4 };

/** A variant's own declaration as a cell; a declaration that is not a valid outcome becomes a
 * cell carrying the error (the matrix fails it without running it: one bad declaration must not
 * stop the other cells). */
function variantCell(kind: string, v: { name: string; summary: string; source: string; reasoning?: string; expected: unknown; hidden?: boolean; weight?: number },
  scenario: string, flag: string, controlled: ControlledCellCfg): Cell {
  let expected: Expected = 'open', error: string | undefined;
  try {
    expected = toExpected(v.expected, `${kind} variant '${v.name}'`);
  } catch (e) {
    error = (e as Error).message;
  }
  const c = makeCell({
    name: `${scenario}/${v.name}`, scenario, cfg: { extra: { [flag]: v.name } }, controlled, expected,
    reasoning: v.reasoning || v.summary || `${kind} variant ${v.name}`, source: v.source, hidden: v.hidden ?? false, weight: v.weight,
  }, `derived:${kind}`);
  return error ? { ...c, error } : c;
}

/**
 * Every cell, in a stable order (by name). Derived cells come from the registries; an explicit
 * cell of the same name replaces the derived one; scenarios nothing covers get an 'open' cell.
 */
export function deriveCells(src: CellSources): Cell[] {
  const out = new Map<string, Cell>();
  const scenarioNames = new Set(src.scenarios.map((s) => s.name));
  if (scenarioNames.has(MAP_TRUNCATE))
    for (const v of src.mapPages) out.set(`${MAP_TRUNCATE}/${v.name}`, variantCell('map-pages', v, MAP_TRUNCATE, 'map-pages', MAP_TRUNCATE_CONTROLLED));
  if (scenarioNames.has(WRITEBACK))
    for (const v of src.faultPaths ?? []) out.set(`${WRITEBACK}/${v.name}`, variantCell('fault-path', v, WRITEBACK, 'fault-path', WRITEBACK_CONTROLLED));
  if (scenarioNames.has(LOCKS)) {
    for (const l of src.locks) {
      out.set(`${LOCKS}/${l.name}`, makeCell({
        name: `${LOCKS}/${l.name}`, scenario: LOCKS, cfg: { lock: l.name }, controlled: LOCKS_CONTROLLED,
        expected: l.hidden ? 'open' : 'clean',
        reasoning: l.hidden
          ? `${l.description} (a hidden lock with no declared outcome: register a cell '${LOCKS}/${l.name}' saying what it must show)`
          : `${l.description}; a lock algorithm that modelled kernel history must keep every lock invariant`,
        hidden: l.hidden,
      }, 'derived:lock'));
    }
  }
  for (const c of src.explicit) out.set(c.name, c);
  const covered = new Set([...out.values()].map((c) => c.scenario));
  for (const s of scenarioNames) {
    if (covered.has(s)) continue;
    out.set(`${s}/default`, makeCell({
      name: `${s}/default`, scenario: s, expected: 'open',
      reasoning: `no cell declares what scenario ${s} must show; it runs with its defaults and reports what it saw`,
    }, 'derived:scenario'));
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- the kernel lock versions with fatal signals ----------------------------------------------
// The derived cell locks/<lock> is the locks scenario as it runs by default. Killable waits that
// race a wake-up are where the kernel's page lock has lost wake-ups before, so each algorithm also
// gets a cell that says what is known of it with signals and one that must be clean without them.

for (const lock of ['v4.10', 'v4.14', 'v5.9', 'v5.9-rc6', 'v5.10']) {
  // the pre-5.9 locks starve a waiter without bound (LOCK-FAIR: locks/v4.14-starve); here they get
  // k = 1000 so the cell judges the other lock invariants and the wake-ups
  const preFair = otherInvariantsUnfairness(lock).unfairness !== undefined;
  registerCell({
    name: `locks/${lock}-nosignals`, scenario: LOCKS, cfg: { lock, ...otherInvariantsUnfairness(lock), extra: { signals: false } },
    controlled: LOCKS_CONTROLLED,
    expected: 'clean',
    reasoning: 'lock, trylock, killable lock and wait_on_page_locked without fatal signals: every lock algorithm that '
      + 'modelled kernel history must keep every lock invariant and lose no wake-up'
      + (preFair ? ' (its unbounded unfairness is judged by locks/v4.14-starve: k = 1000 here)' : ''),
    source: 'kernel-protocols §5.3, §5.6, §5.8',
  });
}
registerCell({
  name: 'locks/v5.9', scenario: LOCKS, cfg: { lock: 'v5.9' }, controlled: LOCKS_CONTROLLED, expected: 'clean',
  reasoning: 'the fair hand-off decides the outcome in the wake function, under the queue lock: a killable waiter is '
    + 'either handed the lock (WQ_FLAG_DONE, returns 0) or never woken, so no wake-up is consumed by a waiter that leaves',
  source: '2a9127fcf229 "mm: rewrite wait_on_page_bit_common() logic" (stable backport 20230626180739.640524541@linuxfoundation.org)',
});
// Oleg's missed wake-up is found in controlled mode by the novelty-guided strategy (the random walk
// did not find it: 4 workers, seeds 1-3, none in 100,000 iterations each; 3 workers on 1 page,
// none in 301,060): in LOCKS_CONTROLLED's configuration, cap 30,000, on 16 of seeds 1-20, seeds
// 1-3 at iterations 10,634 / 3,839 / 11,914 (docs/strategies.md). The free row stays open, as the
// cell was before.
const V4_14_SOURCE = 'Oleg Nesterov 20200624161142.GA12184@redhat.com, Linus CAHk-=wjJA2Z3kUFb-5s=6+n0qbTs8ELqKFt9B3pH85a8fGD73w@mail.gmail.com';
registerCell({
  name: 'locks/v4.14', scenario: LOCKS, cfg: { lock: 'v4.14' }, controlled: { ...LOCKS_CONTROLLED, strategy: 'novelty' }, modes: ['controlled'],
  // 3,839-11,914 iterations on seeds 1-3, 0.4-0.9 s on a quiet machine: close to the matrix's 1 s
  // floor, which a 5m matrix gives every row (it missed there at load ~7); a bigger share, as patch1-3
  weight: 12,
  expected: { breaks: ['DEADLOCK', 'HUNG', 'LOCK-WAKE'] },
  reasoning: "the pre-5.9 loop has Oleg's missed wake-up: a killable waiter that lost test_and_set_bit_lock() is woken while still "
    + 'queued, then sees its fatal signal and returns -EINTR without passing the exclusive wake-up on; the waiter behind it sleeps on '
    + 'an unlocked page (LOCK-WAKE; DEADLOCK when nobody locks the page again). Found by the novelty-guided strategy '
    + '(seeds 1-3: iterations 10,634 / 3,839 / 11,914; docs/strategies.md)',
  source: V4_14_SOURCE,
});
registerCell({
  name: 'locks/v4.14-free', scenario: LOCKS, cfg: { lock: 'v4.14' }, modes: ['free'], expected: 'open',
  reasoning: 'the same missed wake-up on real threads: whether a free run hits it within its budget is what the row reports',
  source: V4_14_SOURCE,
});
// 4.10 as shipped: the signal is tested before the trylock. Controlled mode finds the lost
// wake-up with the random walk and 4 actors (two of them send signals): on 64 pages, seeds 1-3,
// iterations 74,720 / none in 100,000 / 38,723; on 4 pages (the cell) 12,573 / 10,793 / 4,146.
// Free mode (4 workers, 64 pages, 30 s, seeds 1-3) does not show it (the next locker heals it), so
// the free row stays open.
const V4_10_CONTROLLED: ControlledCellCfg = { workers: 4, opsPerActor: 4, strategy: 'random' };
const V4_10_SOURCE = '62906027091f "mm: add PageWaiters indicating tasks are waiting for a page bit"; fixed by a8b169afbf06 '
  + '"Avoid page waitqueue race leaving possible page locker waiting"';
registerCell({
  name: 'locks/v4.10', scenario: LOCKS, cfg: { lock: 'v4.10', pages: 4 }, controlled: V4_10_CONTROLLED, modes: ['controlled'],
  expected: { breaks: ['DEADLOCK', 'HUNG', 'LOCK-WAKE'] },
  reasoning: 'wait_on_page_bit_common() tests the signal right after io_schedule(), before the trylock: a killable waiter that the '
    + 'unlock woke (the walk ends at it) and that then sees a fatal signal returns -EINTR without passing the exclusive wake-up on; '
    + 'the waiter behind it sleeps on an unlocked page (controlled: DEADLOCK when nobody locks the page again)',
  source: V4_10_SOURCE,
});
registerCell({
  name: 'locks/v4.10-free', scenario: LOCKS, cfg: { lock: 'v4.10' }, modes: ['free'], expected: 'open',
  reasoning: 'the same lost wake-up on real threads: the next locker of the page wakes the stranded waiter, so a free run rarely '
    + 'shows it; the row reports whether it did',
  source: V4_10_SOURCE,
});
// The bookmark walk (2554db916586 / 11a19c7b099f) with a break after every entry, on one bucket so
// waiters of every page share the walk: the walk drops q->lock part-way and resumes, with waiters
// coming and going meanwhile. It must keep every lock invariant and lose no wake-up.
for (const lock of ['v4.14-walk0', 'v5.10-walk0']) {
  registerCell({
    name: `locks/${lock}`, scenario: LOCKS, cfg: { lock, buckets: 1, extra: { signals: false } },
    controlled: { workers: 4, opsPerActor: 4 }, expected: 'clean', hidden: true,
    reasoning: 'the wake walk with bookmarks, WAITQUEUE_WALK_BREAK_CNT = 0 so a handful of waiters reach it: resuming after the '
      + 'bookmark, skipping other wakers\' bookmarks and re-queued waiters behind it, no wake-up may be lost',
    source: '2554db916586 "sched/wait: Break up long wake list walk", 11a19c7b099f "sched/wait: Introduce wakeup boomark in wake_up_page_bit"',
  });
}
// The killable-wait lost wake-up of 5ef64cc8987a (docs/findings/killable-lost-wakeup.md). Controlled
// mode finds it with the random walk (explore, configuration of LOCKS_CONTROLLED, seeds 1-5:
// iterations 22,288 / 973 / 2,326 / 175,396 / 14,729); PCT misses it, so these cells explore with
// the random walk. Free mode does not show it within a minute (4 workers, seeds 1-3: the next
// locker of the page heals the lost wake-up before LOCK-WAKE's bound), so the free row stays open.
const LOST_WAKE_CONTROLLED: ControlledCellCfg = { ...LOCKS_CONTROLLED, strategy: 'random' };
const LOST_WAKE_SOURCE = '5ef64cc8987a "mm: allow a controlled amount of unfairness in the page lock"; mainline folio_wait_bit_common(); docs/findings/killable-lost-wakeup.md';
registerCell({
  name: 'locks/v5.9-rc6', scenario: LOCKS, cfg: { lock: 'v5.9-rc6' }, controlled: LOST_WAKE_CONTROLLED, modes: ['controlled'],
  expected: { breaks: ['DEADLOCK', 'HUNG', 'LOCK-WAKE'] },
  reasoning: 'a killable waiter that saw its fatal signal and is then woken without the lock (WQ_FLAG_WOKEN, not DONE: a non-hand-off '
    + 'wake) before finish_wait() returns -EINTR, and the exclusive wake-up it consumed is not passed on: the waiter behind it '
    + 'sleeps on an unlocked page (controlled: DEADLOCK when nobody locks the page again)',
  source: LOST_WAKE_SOURCE,
});
registerCell({
  name: 'locks/v5.10', scenario: LOCKS, cfg: { lock: 'v5.10' }, controlled: LOST_WAKE_CONTROLLED, modes: ['controlled'],
  expected: { breaks: ['DEADLOCK', 'HUNG', 'LOCK-WAKE'] },
  reasoning: 'the 5ef64cc8987a algorithm as the 5.9 and 5.10 releases had it (with bookmarks): the same killable-wait lost wake-up '
    + 'as v5.9-rc6; no walk in this configuration reaches WAITQUEUE_WALK_BREAK_CNT, so the schedules are v5.9-rc6\'s (seed 2: '
    + 'the same find at iteration 973, 84 steps; with 4 workers, seeds 1-3: iterations 47,039 / 30,588 / 19,036)',
  source: LOST_WAKE_SOURCE,
});
registerCell({
  name: 'locks/v5.9-rc6-free', scenario: LOCKS, cfg: { lock: 'v5.9-rc6' }, modes: ['free'], expected: 'open',
  reasoning: 'the same lost wake-up on real threads: the next locker of the page wakes the stranded waiter long before LOCK-WAKE\'s '
    + 'bound, so a free run rarely shows it; the row reports whether it did',
  source: LOST_WAKE_SOURCE,
});
for (const lock of ['v5.9-rc6-wakefix', 'v5.9-rc6-wakepass']) {
  registerCell({
    name: `locks/${lock}`, scenario: LOCKS, cfg: { lock }, controlled: LOST_WAKE_CONTROLLED, expected: 'clean',
    reasoning: 'a proposed fix: the waiter woken without the lock after its signal test takes the lock (wakefix) or passes the wake '
      + 'on (wakepass), so no exclusive wake-up is lost; explored with the random walk that finds the unfixed lock',
    source: LOST_WAKE_SOURCE,
  });
}
registerCell({
  name: 'locks/v5.9-rc6-k0', scenario: LOCKS, cfg: { lock: 'v5.9-rc6', unfairness: 0 }, controlled: LOST_WAKE_CONTROLLED, expected: 'clean',
  reasoning: 'sysctl_page_lock_unfairness = 0: every exclusive wait asks for a hand-off (WQ_FLAG_CUSTOM), so a woken waiter is '
    + 'either handed the lock (DONE) or not woken at all; the lost wake-up needs a non-hand-off wake',
  source: LOST_WAKE_SOURCE,
});

// ---- the busted self-test locks (src/variants/mutants/) -------------------------------------------
// Their registry (registerLock) has no field for an expected outcome, so they are declared here.

registerCell({
  name: 'locks/busted-nowake', scenario: LOCKS, cfg: { lock: 'busted-nowake' }, controlled: LOCKS_CONTROLLED,
  expected: { breaks: ['HUNG', 'LOCK-WAKE', 'DEADLOCK'] }, hidden: true,
  reasoning: 'unlock clears PG_locked but never wakes the queue: a waiter sleeps forever. Free mode sees the '
    + 'watchdog fire (HUNG, LOCK-WAKE when the page is unlocked); controlled mode sees no runnable actor (DEADLOCK)',
  source: "locktorture's lock_busted; kernel-protocols §5.2 (unlock_page must wake when PG_waiters)",
});
registerCell({
  name: 'locks/busted-noexcl', scenario: LOCKS, cfg: { lock: 'busted-noexcl' }, controlled: LOCKS_CONTROLLED,
  expected: { breaks: ['LOCK-EXCL', 'LOCK-UNLOCK'] }, hidden: true,
  reasoning: 'trylock is a non-atomic test-then-set: two tasks can both see PG_locked clear and both own the '
    + 'page; the shadow owner (LOCK-EXCL) or the owner check at unlock (LOCK-UNLOCK) trips',
  source: 'kernel-protocols §5.2 (test_and_set_bit_lock is one atomic RMW)',
});
registerCell({
  name: 'locks/busted-unfair', scenario: LOCKS, cfg: { lock: 'busted-unfair', unfairness: 0, workers: 4, pages: 2 }, controlled: LOCKS_CONTROLLED,
  expected: { breaks: ['LOCK-FAIR'] }, hidden: true,
  reasoning: 'v5.9-rc6 without the hand-off after k steals: a woken waiter can lose the race more than k+1 '
    + 'times (LOCK-FAIR). Run with k = 0 on two hot pages: the bound is then two steals of one waiter, which '
    + 'free mode reaches in a few hundred operations (k = 5 needs seven in a row and can take minutes)',
  source: '5ef64cc8987a "mm: allow a controlled amount of unfairness in the page lock"',
});
