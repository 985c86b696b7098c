// Plug-ins: users' own variants without forking the tool.
//
//   pagelock-stress <command> --plugin path/to/my-variant.ts [--plugin other.js] ...
//
// A plug-in is an ES module whose default export (or named export `register`) is a function
// taking the PluginApi below. It registers variants through the same registries the tool's own
// variants use (a lock algorithm, a ->map_pages, a scenario, a matrix cell), each with a name and
// an expected outcome, and gets the kernel building blocks (api.mm, api.locks) to write them
// with. Because everything it needs comes through `api`, a plug-in imports nothing from the tool
// at run time (type-only imports are fine: they vanish when the file is compiled), so it works
// the same from the sources and from the compiled dist/.
//
// The CLI loads plug-ins before it reads the registries (so `list` and flag validation see them),
// remembers their paths, and spawnWorker passes the paths to every worker it starts (actors,
// explorers): each worker imports them before it builds its task, so the registries in every
// thread hold the same variants. TypeScript plug-ins are loaded through tsx (`tsx/esm/api`
// tsImport(): a global register() followed by import() fails on Node 20 for a .ts file whose
// directory is not an ESM package, ERR_REQUIRE_CYCLE_MODULE); tsx is a devDependency of this
// package: without it, compile the plug-in to .js first.
//
// A bad plug-in never hangs the tool and is always named: a missing file, a syntax error, no
// register function, a name that is already registered, a register() that throws or never
// returns are a PluginError (one line, exit 2). Code a plug-in registers is wrapped so that an
// exception it throws while running says which plug-in and which variant threw (a CRASH finding).
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { attach, directOf } from '../kernel/direct.ts';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../run/validate.ts';
import type { Scenario } from '../kernel/scenario.ts';
import type { PageLock, LockFactory, LockOptions, PageLockOps } from '../locks/types.ts';
import type { InvariantId } from '../kernel/invariants.ts';
import { INVARIANTS } from '../kernel/invariants.ts';
import { SCENARIOS, registerScenario } from '../scenarios/index.ts';
import * as locksIndex from '../locks/index.ts';
import * as lockCommon from '../locks/common.ts';
import * as waitqueue from '../locks/waitqueue.ts';
import * as lockV4_10 from '../locks/v4_10.ts';
import * as lockV4_14 from '../locks/v4_14.ts';
import * as lockV5_10 from '../locks/v5_10.ts';
import * as lockBookmark from '../locks/bookmark.ts';
import * as lockV5_9 from '../locks/v5_9.ts';
import * as lockV5_9_rc6 from '../locks/v5_9_rc6.ts';
import { registerMapPages, type MapPagesVariant } from '../variants/map-pages/index.ts';
import { composeOps, kernelOps, registerVariant, type Variant } from '../variants/index.ts';
import { MAINLINE_MM } from '../mm/mainline.ts';
import type { KernelOps, OpsOverride } from '../kernel/task.ts';
import { registerFaultPath, type FaultPathVariant } from '../variants/fault/index.ts';
import { registerCell, type CellSpec, type Expected } from '../matrix/cells.ts';
import { addLoadedPlugin, loadedPlugins, PLUGINS_KEY } from '../run/plugin-paths.ts';
import * as page from '../shm/page.ts';
import * as files from '../shm/files.ts';
import * as shmMm from '../shm/mm.ts';
import * as alloc from '../mm/page_alloc.ts';
import * as spinlock from '../locks/spinlock.ts';
import * as shmConsts from '../shm/shm.ts';
import * as filemap from '../mm/filemap.ts';
import * as memory from '../mm/memory.ts';
import * as truncate from '../mm/truncate.ts';
import * as vmscan from '../mm/vmscan.ts';
import * as rmap from '../mm/rmap.ts';
import * as fault from '../kernel/fault.ts';
import * as step from '../kernel/step.ts';

export type { Task } from '../kernel/task.ts';
export type { Step } from '../kernel/step.ts';
export type { VmFault } from '../kernel/fault.ts';
export type { NextPage, NextPageFn } from '../mm/filemap.ts';
export type { MapPagesVariant } from '../variants/map-pages/index.ts';
export type { FaultPathVariant } from '../variants/fault/index.ts';
export type { PageLock, LockFactory, LockOptions } from '../locks/types.ts';
export type { Scenario, Op, Finding } from '../kernel/scenario.ts';
export type { CellSpec, Expected } from '../matrix/cells.ts';
export type { InvariantId } from '../kernel/invariants.ts';
// the operation tables (src/kernel/task.ts) and what a variant is (src/variants/registry.ts)
export type {
  KernelOps, TableName, OpsOverride, PageLockOps, PageCacheOps, VmOps, FaultOps, RmapOps, TruncateOps, ReclaimOps,
  WritebackOps, CollapseOps, FuseOps, ZapDetails, WakeKey, WritebackResult, ScanResult, IovIter, WritePages, FuseWritePath,
} from '../kernel/task.ts';
export type { Variant, VariantKind, KernelChoice } from '../variants/index.ts';

/** A plug-in that cannot be loaded or registered: one line naming it, exit 2. */
export class PluginError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'PluginError';
  }
}

/** How long a plug-in may take to import and register (a top-level await that never ends). */
export const PLUGIN_LOAD_TIMEOUT_MS = 20_000;

// ---- the building blocks a plug-in writes kernel paths with ------------------------------------

/** Names two of the modules below export with different values (the first one wins); a test
 * keeps this empty, so a plug-in never gets a helper other than the one its name promises. */
export const API_NAME_CLASHES: string[] = [];

/** Spread module namespaces into one object. */
function flat(...mods: object[]): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const m of mods) {
    for (const [k, v] of Object.entries(m)) {
      if (k === 'default') continue;
      if (k in out) {
        if (out[k] !== v) API_NAME_CLASHES.push(k);
        continue;
      }
      out[k] = v;
    }
  }
  return Object.freeze(out);
}

/** src/shm (page, files, mm, alloc, spinlock, flags), src/mm (filemap, memory, truncate, vmscan,
 * rmap, fault) and the step effects: `const { PageLocked, xaLoad, filemapMapPages } = api.mm`. */
const MM = flat(shmConsts, page, files, shmMm, alloc, spinlock, filemap, memory, truncate, vmscan, rmap, fault, step);
type Mod<T> = Omit<T, 'default'>;
export type MmHelpers = Mod<typeof shmConsts> & Mod<typeof page> & Mod<typeof files> & Mod<typeof shmMm> & Mod<typeof alloc>
  & Mod<typeof spinlock> & Mod<typeof filemap> & Mod<typeof memory> & Mod<typeof truncate> & Mod<typeof vmscan>
  & Mod<typeof rmap> & Mod<typeof fault> & Mod<typeof step>;

/** A lock table built by a factory, with `new` too (plug-ins written when the algorithms were
 * classes: `new api.locks.PageLockV5_9()`; they cannot be subclassed any more). */
type LockCtor = { (o?: LockOptions): PageLockOps; new (o?: LockOptions): PageLockOps };
const ctor = (f: (o?: LockOptions) => PageLockOps) => function (o?: LockOptions) { return f(o); } as unknown as LockCtor;
const LOCK_CTORS = Object.freeze({
  PageLockV4_10: ctor(lockV4_10.lockV4_10), PageLockV4_14: ctor(lockV4_14.lockV4_14), PageLockV5_10: ctor(lockV5_10.lockV5_10), PageLockV5_9: ctor(lockV5_9.lockV5_9), PageLockV5_9_rc6: ctor(lockV5_9_rc6.lockV5_9_rc6),
});

/** The lock tables and everything their entries are written with: the registry and
 * lockOverride() (a lock as a partial table over a built-in one), the common table
 * (PAGE_LOCK_COMMON, lockTable(), acquired(), ...), each algorithm's own entries (V4_10, V4_14,
 * V5_9, v5_9_rc6(o)) and table (lockV4_10(), ...), the bookmark walk (bookmarkWalk(),
 * WAIT_ON_WRITEBACK_ONCE), and the wait queue (pageWaitQueue, spinLock of a
 * bucket, wakeEntry, wakePageMatch, folioWakeBit, ioSchedule, finishWait, fatal signals, ...):
 * `const { lockOverride, wakeEntry } = api.locks`. */
const LOCKS_API = flat(locksIndex, lockCommon, waitqueue, lockV4_10, lockV4_14, lockV5_10, lockBookmark, lockV5_9, lockV5_9_rc6, LOCK_CTORS);
export type LockHelpers = Mod<typeof locksIndex> & Mod<typeof lockCommon> & Mod<typeof waitqueue> & Mod<typeof lockV4_10>
  & Mod<typeof lockV4_14> & Mod<typeof lockV5_10> & Mod<typeof lockBookmark>
  & Mod<typeof lockV5_9> & Mod<typeof lockV5_9_rc6> & typeof LOCK_CTORS;

export interface LockRegistration {
  description: string;
  /** not listed by `list` / --help; still accepted by --lock and run by the matrix */
  hidden?: boolean;
  /** what the locks scenario must show with it (default: clean if public, open if hidden) */
  expected?: Expected;
  /** why (needed with `expected`) */
  reasoning?: string;
  source?: string;
}

export interface PluginApi {
  /** the plug-in's own path, as loaded */
  readonly file: string;
  /** a lock_page algorithm: `--lock NAME`, and a matrix cell `locks/NAME`. The factory gets the
   * run's LockOptions (--unfairness) and returns a lock table, usually a built-in one with some
   * steps replaced: `(o) => api.locks.lockOverride('v5.9-rc6', o, { *wakePageFunction(t, b, e, key) {...} })` */
  registerLock(name: string, factory: LockFactory, o: LockRegistration): void;
  /** a ->map_pages variant: `--map-pages NAME` (scenario map-truncate), and a cell `map-truncate/NAME`
   * graded by its `expected` ('clean', 'open' or the invariant ids it must break) */
  registerMapPages(v: MapPagesVariant & { hidden?: boolean }): void;
  /** a fault path (do_read_fault / do_cow_fault / do_shared_fault): `--fault-path NAME` (scenario
   * writeback), and a cell `writeback/NAME` graded by its `expected` */
  registerFaultPath(v: FaultPathVariant): void;
  /** a whole scenario (its own roles, ops and checks): `--scenario NAME` */
  registerScenario(s: Scenario): void;
  /** an explicit matrix cell: a scenario with flags and an expected outcome */
  registerCell(c: CellSpec): void;
  /** a variant: a partial operation table over the tables it is composed on (any table, any
   * entries). kind 'variant' is chosen with `--variant NAME` (repeatable); 'map-pages' and
   * 'fault-path' also with their scenario flag and get the derived matrix cell. Every entry the
   * plug-in's ops() returns is wrapped so what it throws names the plug-in and the variant. */
  registerVariant(v: Variant): void;
  /** the tables a choice of lock and variants runs (mainline, the lock, then each variant) */
  kernelOps(c?: { lock?: string; variants?: readonly string[] }): KernelOps;
  /** `over` applied to `base`, as the registry composes variants */
  composeOps(base: KernelOps, over: OpsOverride): KernelOps;
  /** the mainline tables of src/mm (every table but lock), frozen: an entry may call mainline directly */
  readonly MAINLINE_MM: Omit<KernelOps, 'lock'>;
  readonly mm: MmHelpers;
  readonly locks: LockHelpers;
  /** the invariant ids and what each means */
  readonly invariants: Readonly<Record<InvariantId, string>>;
}

// ---- who registered what (list, matrix --list) ----------------------------------------------------

const registeredBy = new Map<string, string>();

/** The plug-in that registered `kind:name` ('lock:x', 'map-pages:x', 'scenario:x', 'cell:x'), if any. */
export function pluginOf(kind: string, name: string): string | undefined {
  return registeredBy.get(`${kind}:${name}`);
}

export function pluginRegistrations(): { kind: string; name: string; file: string }[] {
  return [...registeredBy].map(([k, file]) => {
    const i = k.indexOf(':');
    return { kind: k.slice(0, i), name: k.slice(i + 1), file };
  });
}

// ---- errors from plug-in code name the plug-in ------------------------------------------------------

const ANNOTATED = Symbol('pluginAnnotated');

function annotate(e: unknown, who: string): unknown {
  if (e && typeof e === 'object' && (e as Record<symbol, unknown>)[ANNOTATED]) return e;
  const inner = e instanceof Error ? e : new Error(String(e));
  const err = new Error(`${who} threw: ${inner.message}`, { cause: inner });
  err.stack = `Error: ${err.message}\n${(inner.stack ?? '').split('\n').slice(1).join('\n')}`;
  (err as unknown as Record<symbol, unknown>)[ANNOTATED] = true;
  return err;
}

function isGenerator(x: unknown): x is Generator {
  return !!x && typeof (x as Generator).next === 'function' && typeof (x as Generator).throw === 'function'
    && typeof (x as Generator)[Symbol.iterator] === 'function';
}

function* guardGen<T>(g: Generator<unknown, T, unknown>, who: string): Generator<unknown, T, unknown> {
  try {
    return yield* g;
  } catch (e) {
    throw annotate(e, who);
  }
}

/** Wrap a function so what it throws (or what the generator it returns throws) names `who`. The
 * wrapper keeps `f`'s direct form (src/kernel/direct.ts), guarded the same way, so free mode runs
 * a plug-in's code as directly as the built-ins'. */
function guard<F extends (...a: any[]) => any>(f: F, who: string, self?: unknown): F {
  const g = function (this: unknown, ...args: unknown[]) {
    let r: unknown;
    try {
      r = f.apply(self ?? this, args);
    } catch (e) {
      throw annotate(e, who);
    }
    return isGenerator(r) ? guardGen(r, who) : r;
  } as F;
  const d = directOf(f);
  if (d) {
    attach(g, function (this: unknown, ...args: unknown[]) {
      try {
        return d.apply(self ?? this, args);
      } catch (e) {
        throw annotate(e, who);
      }
    });
  }
  return g;
}

/** The plug-in's lock table with every entry (own or inherited: a table built over a built-in
 * one) wrapped by guard(). A new table, not a Proxy: tables are frozen, and a Proxy may not
 * return another value for a frozen property. Entries run with `this` = the plug-in's table, for
 * plug-ins that still use it. Missing entries are named here, not when a path first calls one. */
function guardLock(lock: PageLock, who: string): PageLock {
  if (!lock || typeof lock !== 'object') throw new Error(`${who}: the factory returned ${String(lock)}, not a lock table`);
  const out: Record<string, unknown> = {};
  for (let o: object | null = lock; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === 'constructor' || k in out) continue;
      const v = (lock as unknown as Record<string, unknown>)[k];
      out[k] = typeof v === 'function' ? guard(v as (...a: unknown[]) => unknown, `${who}.${k}`, lock) : v;
    }
  }
  const missing = lockCommon.PAGE_LOCK_ENTRIES.filter((k) => typeof out[k] !== 'function');
  if (missing.length || typeof out.name !== 'string')
    throw new Error(`${who}: the table has ${missing.length ? `no ${missing.join(', ')}` : 'no name'} (build it over a built-in lock: api.locks.lockOverride(NAME, o, {...}))`);
  return Object.freeze(out) as unknown as PageLock;
}

// ---- the api one plug-in gets ---------------------------------------------------------------------

/** Scenario options listing a registry's names (--map-pages, --fault-path) were built when their
 * module loaded: offer the plug-in's variant there too, so the flag validates. */
function offerChoice(optionName: string, value: string, hidden: boolean): void {
  for (const s of SCENARIOS.values()) {
    for (const o of (s.options ?? []) as readonly { name: string; kind: string; choices?: readonly string[]; hiddenChoices?: readonly string[] }[]) {
      if (o.name !== optionName || o.kind !== 'enum' || o.choices?.includes(value) || o.hiddenChoices?.includes(value)) continue;
      if (hidden) o.hiddenChoices = [...(o.hiddenChoices ?? []), value];
      else o.choices = [...(o.choices ?? []), value];
    }
  }
}

function apiFor(file: string, shown: string): PluginApi {
  const who = `plug-in ${shown}`;
  const note = (kind: string, name: string) => registeredBy.set(`${kind}:${name}`, shown);
  return Object.freeze({
    file,
    registerLock(name: string, factory: LockFactory, o: LockRegistration) {
      if (typeof factory !== 'function') throw new Error(`registerLock('${name}'): the factory must be a function returning a lock table (api.locks.lockOverride(...))`);
      const lockWho = `${who}: lock '${name}'`;
      locksIndex.registerLock(name, (opts) => guardLock(guard(factory, `${lockWho} factory`)(opts), lockWho), {
        description: o?.description ?? `plug-in lock (${shown})`, hidden: o?.hidden,
      });
      note('lock', name);
      if (o?.expected !== undefined) {
        registerCell({
          name: `locks/${name}`, scenario: 'locks', cfg: { lock: name }, controlled: { workers: 3, opsPerActor: 4 },
          expected: o.expected, reasoning: o.reasoning ?? o.description, source: o.source ?? shown, hidden: o.hidden,
        }, `plugin:${shown}`);
        note('cell', `locks/${name}`);
      }
    },
    registerMapPages(v: MapPagesVariant & { hidden?: boolean }) {
      if (!v || typeof v.mapPages !== 'function') throw new Error('registerMapPages: a variant needs a name and a mapPages(t, vmf, start, end) generator');
      registerMapPages({ ...v, mapPages: guard(v.mapPages, `${who}: map-pages '${v.name}'`) });
      note('map-pages', v.name);
      offerChoice('map-pages', v.name, !!v.hidden);
    },
    registerFaultPath(v: FaultPathVariant) {
      if (!v || typeof v.doReadFault !== 'function' || typeof v.doCowFault !== 'function' || typeof v.doSharedFault !== 'function')
        throw new Error('registerFaultPath: a fault path needs a name and doReadFault, doCowFault and doSharedFault generators');
      const fw = `${who}: fault-path '${v.name}'`;
      registerFaultPath({
        ...v, doReadFault: guard(v.doReadFault, `${fw} doReadFault`), doCowFault: guard(v.doCowFault, `${fw} doCowFault`),
        doSharedFault: guard(v.doSharedFault, `${fw} doSharedFault`),
      });
      note('fault-path', v.name);
      offerChoice('fault-path', v.name, !!v.hidden);
    },
    registerScenario(s: Scenario) {
      const sw = `${who}: scenario '${s?.name}'`;
      registerScenario({ ...s, runOp: guard(s.runOp, `${sw} runOp`), nextOp: guard(s.nextOp, `${sw} nextOp`) });
      note('scenario', s.name);
    },
    registerCell(c: CellSpec) {
      registerCell(c, `plugin:${shown}`);
      note('cell', c.name);
    },
    registerVariant(v: Variant) {
      if (!v || typeof v.name !== 'string' || typeof v.ops !== 'function')
        throw new Error('registerVariant: a variant needs a name, a kind, a summary, a source, an expected outcome and ops(base)');
      const vw = `${who}: variant '${v.name}'`;
      const ops = guard(v.ops, `${vw} ops`);
      registerVariant({
        ...v,
        ops(base: KernelOps): OpsOverride {
          const over = ops(base) as OpsOverride;
          const out: Record<string, Record<string, unknown>> = {};
          for (const [table, entries] of Object.entries(over ?? {})) {
            if (!entries) continue;
            out[table] = Object.fromEntries(Object.entries(entries).map(([k, f]) =>
              [k, typeof f === 'function' ? guard(f as (...a: unknown[]) => unknown, `${vw} ${table}.${k}`) : f]));
          }
          return out as OpsOverride;
        },
      });
      note(v.kind === 'variant' ? 'variant' : v.kind, v.name);
      if (v.kind !== 'variant') offerChoice(v.kind, v.name, !!v.hidden);
    },
    kernelOps: (c?: { lock?: string; variants?: readonly string[] }) => kernelOps(c),
    composeOps,
    MAINLINE_MM,
    mm: MM as unknown as MmHelpers,
    locks: LOCKS_API as unknown as LockHelpers,
    invariants: INVARIANTS,
  });
}

// ---- loading ----------------------------------------------------------------------------------------

/** Take every `--plugin FILE` / `--plugin=FILE` out of argv (before a `--`), in order. */
export function extractPluginArgs(argv: readonly string[]): { plugins: string[]; argv: string[] } {
  const plugins: string[] = [], rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--plugin') {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new PluginError('--plugin needs a file (a .ts or .js module)');
      plugins.push(v);
      i++;
    } else if (a.startsWith('--plugin=')) {
      const v = a.slice('--plugin='.length);
      if (!v) throw new PluginError('--plugin needs a file (a .ts or .js module)');
      plugins.push(v);
    } else rest.push(a);
  }
  return { plugins, argv: rest };
}

/** tsx's tsImport(): loads one TypeScript file (and what it imports) through tsx without changing
 * how anything else is loaded. Unlike a global register(), it works whether the plug-in's
 * directory says ESM or CommonJS ("type" in the nearest package.json), from the compiled CLI and
 * from the sources alike. */
type TsImport = (specifier: string, parentURL: string) => Promise<Record<string, unknown>>;
let tsImport: TsImport | null = null;

async function tsLoader(shown: string): Promise<TsImport> {
  if (tsImport) return tsImport;
  try {
    tsImport = ((await import('tsx/esm/api')) as { tsImport: TsImport }).tsImport;
  } catch {
    throw new PluginError(`plug-in ${shown}: a TypeScript plug-in needs tsx, a devDependency of pagelock-stress that is not installed here; `
      + 'install the devDependencies, or compile the plug-in to .js first and pass the .js (see docs/writing-a-variant.md)');
  }
  return tsImport;
}

/** The register function of a module namespace: `export default`, `export function register`, or
 * the same reached through a CommonJS wrapper (a .ts plug-in in a directory that is not ESM). */
function registerOf(ns: Record<string, unknown>): unknown {
  const d = ns.default as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  const inner = d && typeof d === 'object' ? d : undefined;
  return [d, ns.register, inner?.default, inner?.register].find((f) => typeof f === 'function') ?? null;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 2).join(' ');
}

/** `p`, or a PluginError after `ms`, or at once when the process has nothing left to wait for
 * (a top-level await on a promise nothing will settle: without this, Node exits 13 silently). */
function withTimeout<T>(p: Promise<T>, ms: number, what: () => string, stuck: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onEmpty: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginError(what())), ms);
    timer.unref?.();
    onEmpty = () => reject(new PluginError(stuck()));
    process.once('beforeExit', onEmpty);
  });
  return Promise.race([p, late]).finally(() => {
    clearTimeout(timer);
    if (onEmpty) process.off('beforeExit', onEmpty);
  });
}

/**
 * The plug-in with its protocol code's direct form (src/kernel/direct-transform.ts, as the build
 * does to src/): transpiled to a module in the temporary directory, which is imported instead of
 * the file. Only for a self-contained ES module (a plug-in imports nothing from the tool at run
 * time): one that still imports or requires anything at run time, or that does not transpile
 * cleanly, is loaded as it is (its generators run in free mode, at generator speed; its errors are
 * reported as they always were). PAGELOCK_DIRECT=off, or running from the sources, loads every
 * plug-in as it is.
 */
async function withDirectForm(file: string): Promise<string | null> {
  // from the sources (tsx) the tool's own code has no direct form either: load the plug-in as it is
  if (process.env.PAGELOCK_DIRECT === 'off' || !/\.(m?ts|m?js)$/.test(file) || !import.meta.url.endsWith('.js')) return null;
  try {
    const source = readFileSync(file, 'utf8');
    // keyed by the plug-in's path and text: the thread that loads it first (the CLI) transpiles;
    // the workers it starts find the result (or the note that there is none) without loading the
    // compiler
    const dir = join(tmpdir(), 'pagelock-stress-plugins');
    const hash = createHash('sha256').update(`${DIRECT_FORM_VERSION}\0${file}\0${source}`).digest('hex').slice(0, 16);
    const target = join(dir, `${basename(file).replace(/\.\w+$/, '')}-${hash}.mjs`);
    const none = `${target}.none`;
    if (existsSync(target)) return pathToFileURL(target).href;
    if (existsSync(none)) return null;
    const { transpileDirect } = await import('../kernel/direct-transform.ts');
    const out = transpileDirect(source, file);
    const selfContained = out !== null
      && !/\bimport\s*[({'"\w*]|\brequire\s*\(|\bmodule\.exports\b|\bexports\./.test(out.replace(/^\s*\/\/.*$/gm, ''));
    mkdirSync(dir, { recursive: true });
    const tmp = `${target}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, selfContained ? out : '');
    renameSync(tmp, selfContained ? target : none); // threads may write the same file at once: each rename is whole
    return selfContained ? pathToFileURL(target).href : null;
  } catch {
    return null;
  }
}

/** Bump when the transform changes what it emits (the cached transpiled plug-ins are keyed by it). */
const DIRECT_FORM_VERSION = 1;

/** Load one plug-in: import it, find its register function, call it with its api. */
async function loadOne(file: string, shown: string, timeoutMs: number): Promise<void> {
  if (!existsSync(file)) throw new PluginError(`plug-in ${shown}: no such file`);
  if (!statSync(file).isFile()) throw new PluginError(`plug-in ${shown}: not a file`);
  if (!/\.(m|c)?(t|j)s$/.test(file)) throw new PluginError(`plug-in ${shown}: want a .ts or .js module`);
  const url = pathToFileURL(file).href;
  let mod: Record<string, unknown>;
  try {
    const direct = await withDirectForm(file);
    const loading = direct ? (import(direct) as Promise<Record<string, unknown>>)
      : /\.(m|c)?ts$/.test(file) ? (await tsLoader(shown))(url, import.meta.url) : (import(url) as Promise<Record<string, unknown>>);
    mod = await withTimeout(loading, timeoutMs, () => `plug-in ${shown}: did not finish loading within ${timeoutMs / 1000} s`,
      () => `plug-in ${shown}: did not finish loading: a top-level await waits for something that never happens`);
  } catch (e) {
    if (e instanceof PluginError) throw e;
    throw new PluginError(`plug-in ${shown}: cannot load it: ${firstLine(e)}`);
  }
  const register = registerOf(mod);
  if (typeof register !== 'function')
    throw new PluginError(`plug-in ${shown}: exports no register function (want \`export default function register(api) {...}\` or \`export function register(api)\`)`);
  try {
    await withTimeout(Promise.resolve().then(() => (register as (api: PluginApi) => unknown)(apiFor(file, shown))), timeoutMs,
      () => `plug-in ${shown}: register() did not return within ${timeoutMs / 1000} s`,
      () => `plug-in ${shown}: register() did not return: it waits for something that never happens`);
  } catch (e) {
    if (e instanceof PluginError) throw e;
    throw new PluginError(`plug-in ${shown}: register() failed: ${firstLine(e)}`);
  }
}

/**
 * Load plug-ins in order (each file once per thread). Paths are taken relative to `cwd`.
 * Throws PluginError naming the first one that fails.
 */
export async function loadPlugins(paths: readonly string[], o: { cwd?: string; timeoutMs?: number } = {}): Promise<string[]> {
  const cwd = o.cwd ?? process.cwd();
  const done: string[] = [];
  for (const p of paths) {
    const file = isAbsolute(p) ? p : resolve(cwd, p);
    if (loadedPlugins().includes(file)) continue;
    const rel = relative(cwd, file);
    const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
    await loadOne(file, shown, o.timeoutMs ?? PLUGIN_LOAD_TIMEOUT_MS);
    addLoadedPlugin(file);
    done.push(file);
  }
  return done;
}

/** In a worker entry, before building the task: load what the spawning thread had loaded. */
export async function loadWorkerPlugins(workerData: unknown): Promise<void> {
  const paths = (workerData as Record<string, unknown> | null)?.[PLUGINS_KEY];
  if (Array.isArray(paths) && paths.length) await loadPlugins(paths as string[]);
}

export { loadedPlugins };
