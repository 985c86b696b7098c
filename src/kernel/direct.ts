// The direct form of the protocol code: what free mode runs instead of the generators.
//
// Protocol code is written once, as generators (step.ts). Controlled mode must suspend a task at
// every schedule point, so it drives the generators. Free mode never suspends a task at a schedule
// point: it records the step and sometimes perturbs, and for that a generator resume per step is
// pure overhead. So the build (scripts/build.mjs, with direct-transform.ts; the plug-in loader does
// the same to a plug-in) gives every generator function `f` a direct form `f.$d`: the same body as
// a plain function in which
//
//   yield 'label'     becomes  point(<label>)            the running driver's schedule point
//   yield effect      becomes  effect(e)                 the driver's Atomics.wait / notify / clock
//   yield* g(...)     becomes  g.$d(...), or drive(g(...)) when g has no direct form
//
// `yield* t.ops.lock.trylockFast(t, pfn)` reads the entry from the same operation table, so a
// variant that replaces an entry is reached in the direct form too. A function that returns a
// generator without being one (a wrapper) has no direct form: the driver runs what it returns as
// a generator, the same steps at generator speed.
//
// The driver is per thread (one actor per worker thread in free mode): enterDirect() installs it.
// This module also sits on globalThis (DIRECT_GLOBAL) for code transformed outside the build (a
// plug-in), which has no import path to it.
import { setFlagsFromString } from 'node:v8';
import type { Effect, Step, Yielded } from './step.ts';

/** A schedule point's label as the direct form passes it: interned once per call site, its id
 * cached per label table (the driver's), so recording a step needs no string lookup. */
export interface Label {
  readonly s: string;
  tab: unknown;
  id: number;
}

/** What a driver of the direct form provides. */
export interface DirectDriver {
  /** A schedule point. */
  point(l: Label): void;
  /** An effect: what the generator would have been sent back. */
  effect(e: Effect): unknown;
  /** Run code that has no direct form (a generator object) to its end, as the generator driver. */
  drive<T>(g: Step<T>): T;
}

/** The direct form of a function, where the build gave it one. */
export type DirectFn = (...args: any[]) => any;

let cur: DirectDriver = {
  point(l) {
    throw new Error(`direct form run with no driver (schedule point '${l.s}')`);
  },
  effect() {
    throw new Error('direct form run with no driver (an effect)');
  },
  drive() {
    throw new Error('direct form run with no driver');
  },
};

/**
 * V8's cumulative inlining budget while the direct form runs (free mode): bytecode inlined into
 * one optimized function, in all, from 920 (V8 11's default) to DIRECT_INLINE_BUDGET. An
 * uncontended lock_page + unlock_page is two calls of about 1,000 and 800 bytes of bytecode once
 * their own callees are inlined (the schedule points, Task.recordId, acquired(), the held list,
 * the settle checks): at 920 a caller can take in one of the two at most, so each pair pays one
 * or two calls whose frames and argument checks are most of what separated the pair from 3x the
 * raw CAS + store (stress/bench uncontended: v5.9 ~50-55 ns at 920, ~41-44 ns at 2,000 or more;
 * 1,200 and 1,500 as 920). The flag is the process's: set by the free-mode worker entries
 * (workers/actor.ts, the uncontended bench's worker) before their protocol code is hot, and read
 * by V8 each time it optimizes a function, so it reaches every thread from then on. Controlled
 * mode (the explorer workers) does not set it. PAGELOCK_DIRECT_V8=off leaves V8's default.
 */
export const DIRECT_INLINE_BUDGET = 2400;
export const DIRECT_V8_ENV = 'PAGELOCK_DIRECT_V8';
let v8Set = false;
/** Set DIRECT_INLINE_BUDGET for this process, once per thread; false if left alone (PAGELOCK_DIRECT_V8=off). */
export function directV8Flags(): boolean {
  if (process.env[DIRECT_V8_ENV] === 'off') return false;
  if (!v8Set) setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${DIRECT_INLINE_BUDGET}`);
  v8Set = true;
  return true;
}

/** Make `d` this thread's driver of the direct form; returns the one it replaces. */
export function enterDirect(d: DirectDriver): DirectDriver {
  const prev = cur;
  cur = d;
  return prev;
}

/** The direct form of `f`, or undefined (not a generator function of transformed code). */
export function directOf(f: unknown): DirectFn | undefined {
  return typeof f === 'function' ? ((f as unknown as { $d?: DirectFn }).$d ?? undefined) : undefined;
}

// ---- what transformed code calls (short names: direct-transform.ts emits them) ----------------

export function label(s: string): Label {
  return { s, tab: null, id: 0 };
}

/** `yield 'label'` with a literal label. */
export function point(l: Label): void {
  cur.point(l);
}

/** `yield x` for anything else: a computed label or an effect. */
export function y(v: Yielded): unknown {
  if (typeof v === 'string') {
    cur.point(label(v));
    return undefined;
  }
  return cur.effect(v);
}

/** `yield* x` where x has no direct form. */
export function drive<T>(g: Step<T>): T {
  return cur.drive(g);
}

/** A generator function declaration gets its direct form. */
export function attach(gen: Function, d: DirectFn): void {
  Object.defineProperty(gen, '$d', { value: d });
}

/** A generator function expression with its direct form. */
export function withDirect<F extends Function>(gen: F, d: DirectFn): F {
  Object.defineProperty(gen, '$d', { value: d });
  return gen;
}

/** An object literal's generator methods get their direct forms (`ds`, by method name). */
export function methods<T extends object>(o: T, ds: Record<string, DirectFn>): T {
  for (const k of Object.keys(ds)) {
    const f = (o as Record<string, unknown>)[k];
    if (typeof f === 'function') Object.defineProperty(f, '$d', { value: ds[k] });
  }
  return o;
}

/** Where code transformed outside the build finds this module. */
export const DIRECT_GLOBAL = Symbol.for('pagelock-stress.direct');
(globalThis as Record<symbol, unknown>)[DIRECT_GLOBAL] = { label, point, y, drive, attach, withDirect, methods };
