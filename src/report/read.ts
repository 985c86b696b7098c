// Reading run.json back (for `report` and `merge`): a missing, unreadable or foreign file is one
// line saying what is wrong, never a stack trace.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { RunResult } from './result.ts';

export class RunJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunJsonError';
  }
}

const list = z.array(z.unknown(), { error: 'is not a list' }).optional();
const obj = z.record(z.string(), z.unknown(), { error: 'is not an object' });

/** The shape of a run.json (src/report/result.ts RunResult) as far as the reports rely on it:
 * the fields every report needs, typed; the lists a writer may have left out (an early crash)
 * optional. Unknown fields are kept (newer writers). */
export const RUN_JSON_SCHEMA = z.object({
  runId: z.string({ error: 'is not a string' }),
  config: obj,
  outcome: z.enum(['SUCCESS', 'FAILURE'], { error: 'is not SUCCESS or FAILURE' }),
  violations: list,
  hung: list,
  tasks: z.array(obj, { error: 'is not a list' }).optional(),
  samples: list,
  notes: list,
  invariantsChecked: list,
}).loose();

/** `dir` as a run directory; a path to a run.json itself is accepted too. */
export function runJsonPath(dirOrFile: string): string {
  return dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'run.json');
}

/**
 * Parse and sanity-check a run.json. Fields every report needs must be there; lists a writer may
 * have left out (an early crash) default to empty, so an old or partial record still renders.
 */
export function readRunResult(dirOrFile: string): RunResult {
  const path = runJsonPath(dirOrFile);
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new RunJsonError(`${path}: is a directory`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof RunJsonError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new RunJsonError(code === 'ENOENT' ? `${path}: no such file (not a run directory?)` : `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RunJsonError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new RunJsonError(`${path}: not a run record (expected a JSON object)`);
  const r = raw as Record<string, unknown>;
  const missing = ['runId', 'config', 'outcome'].filter((k) => r[k] === undefined || r[k] === null);
  if (missing.length) throw new RunJsonError(`${path}: not a pagelock-stress run record (missing ${missing.join(', ')})`);
  if (r.outcome !== 'SUCCESS' && r.outcome !== 'FAILURE') throw new RunJsonError(`${path}: "outcome" is ${JSON.stringify(r.outcome)}, not SUCCESS or FAILURE`);
  const shape = RUN_JSON_SCHEMA.safeParse(r);
  if (!shape.success) {
    const i = shape.error.issues[0];
    const at = i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
    throw new RunJsonError(`${path}: "${at}" ${i.message.startsWith('is ') ? i.message : `is wrong (${i.message})`}`);
  }
  for (const k of ['violations', 'hung', 'tasks', 'samples', 'notes', 'invariantsChecked']) if (r[k] === undefined) r[k] = [];
  const num = (k: string, d: number) => { if (typeof r[k] !== 'number') r[k] = d; };
  num('elapsedMs', 0);
  num('cores', 0);
  num('memoryBytes', 0);
  num('violationCount', (r.violations as unknown[]).length);
  if (typeof r.extra !== 'object' || r.extra === null) r.extra = {};
  if (typeof r.tool !== 'object' || r.tool === null) r.tool = { name: 'pagelock-stress', version: '?', commit: '?', node: '?' };
  if (typeof r.mode !== 'string') r.mode = 'free';
  if (typeof r.endReason !== 'string') r.endReason = 'unknown';
  if (typeof r.startedAt !== 'string') r.startedAt = '';
  if (typeof r.oversubscribed !== 'boolean') r.oversubscribed = false;
  const cfg = r.config as Record<string, unknown>;
  if (typeof cfg.extra !== 'object' || cfg.extra === null) cfg.extra = {};
  for (const t of r.tasks as Record<string, unknown>[]) {
    if (typeof t.stats !== 'object' || t.stats === null) t.stats = {};
    if (!Array.isArray(t.waitHist)) t.waitHist = [];
  }
  return r as unknown as RunResult;
}
