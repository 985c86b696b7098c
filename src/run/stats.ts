// Periodic statistics: a StatsSample read from the per-task counters in shared memory, and the
// greppable stats line printed for it, in the style of locktorture:
//
//   locks-torture: t=5s Ops: 130210 (26042/s) Acq: 123456 (24691/s) Contended: 3456 MaxWait: 812us Overtaken: 12 Max/Min: 31000/29000 Violations: 0
//
// ` !!!` ends the line once any violation was reported, ` ???` when something is suspicious: one
// task got less than half the acquisitions (or operations) of the busiest task of its role, or a
// task made no progress during the interval. Max/Min is shown when every task plays one role;
// scenarios with several roles get their per-role rates (`[mapper 1200/s truncator 40/s]`)
// instead. Non-zero scenario counters follow (`Faults: 9 SIGBUS: 2 Trunc: 5`).
import { STAT_NAMES, STAT_STRIDE, type StatName } from '../shm/layout.ts';
import { TASK_DONE, TASK_PARKED, type Shm } from '../shm/shm.ts';
import { violationCount } from '../check/violations.ts';
import type { StatsSample } from '../report/result.ts';

/** One task's counters. */
export function taskStats(shm: Shm, task: number): Record<StatName, number> {
  const base = task * STAT_STRIDE;
  const out = {} as Record<StatName, number>;
  for (let i = 0; i < STAT_NAMES.length; i++) out[STAT_NAMES[i]] = Atomics.load(shm.stats, base + i);
  return out;
}

/** Counters shown on the line when non-zero (scenario work beyond locking). */
const EXTRA_COUNTERS: [StatName, string][] = [
  ['faults', 'Faults'], ['sigbus', 'SIGBUS'], ['mapped', 'Mapped'], ['truncations', 'Trunc'],
  ['reclaimed', 'Reclaimed'], ['zapped', 'Zapped'], ['reads', 'Reads'], ['eintr', 'EINTR'],
];

export class StatsSampler {
  private prev: StatsSample | null = null;
  private readonly maxMin = new WeakMap<StatsSample, [number, number]>();
  private prevBeat: number[];

  constructor(private readonly shm: Shm, private readonly roles: readonly string[]) {
    this.prevBeat = roles.map(() => 0);
  }

  /** Read a sample at `tMs` since the start, with its suspicions. */
  sample(tMs: number): StatsSample {
    const shm = this.shm;
    const opsByRole: Record<string, number> = {};
    const counters: Partial<Record<StatName, number>> = {};
    let maxWaitUs = 0;
    const perTask = this.roles.map((role, t) => {
      const s = taskStats(shm, t);
      opsByRole[role] = (opsByRole[role] ?? 0) + s.ops;
      for (const n of STAT_NAMES) if (n !== 'maxWaitUs') counters[n] = (counters[n] ?? 0) + s[n];
      maxWaitUs = Math.max(maxWaitUs, s.maxWaitUs);
      return s;
    });
    counters.maxWaitUs = maxWaitUs;
    const suspicions = this.suspicions(perTask);
    // Max/Min over the tasks (when they all play one role): acquisitions if they take locks, else ops
    const key: StatName = perTask.some((x) => x.acquisitions > 0) ? 'acquisitions' : 'ops';
    const vals = perTask.map((x) => x[key]);
    const oneRole = this.roles.every((r) => r === this.roles[0]);
    const sample: StatsSample = {
      t: Math.round(tMs), opsByRole,
      acquisitions: counters.acquisitions ?? 0, contended: counters.contended ?? 0, maxWaitUs,
      overtaken: counters.overtaken ?? 0, violations: violationCount(shm), counters, suspicions,
    };
    if (oneRole) this.maxMin.set(sample, [Math.max(...vals), Math.min(...vals)]);
    return sample;
  }

  /** The stats line for sample `s` (from this sampler), with rates since the previous line. */
  line(scenario: string, s: StatsSample): string {
    const p = this.prev;
    this.prev = s;
    const dt = p ? (s.t - p.t) / 1000 : s.t / 1000;
    const rate = (now: number, before: number) => (dt > 0 ? Math.round((now - before) / dt) : 0);
    const ops = sum(s.opsByRole), prevOps = p ? sum(p.opsByRole) : 0;
    const parts = [`${scenario}-torture: t=${fmtSeconds(s.t)}`, `Ops: ${ops} (${rate(ops, prevOps)}/s)`];
    const roles = Object.keys(s.opsByRole);
    if (roles.length > 1)
      parts.push(`[${roles.map((r) => `${r} ${rate(s.opsByRole[r], p?.opsByRole[r] ?? 0)}/s`).join(' ')}]`);
    parts.push(
      `Acq: ${s.acquisitions} (${rate(s.acquisitions, p?.acquisitions ?? 0)}/s)`,
      `Contended: ${s.contended}`, `MaxWait: ${s.maxWaitUs}us`, `Overtaken: ${s.overtaken}`,
    );
    const mm = this.maxMin.get(s);
    if (mm) parts.push(`Max/Min: ${mm[0]}/${mm[1]}`);
    for (const [n, label] of EXTRA_COUNTERS) if (s.counters?.[n]) parts.push(`${label}: ${s.counters[n]}`);
    parts.push(`Violations: ${s.violations}`);
    let line = parts.join(' ');
    if (s.violations > 0) line += ' !!!';
    if (s.suspicions?.length) line += ` ??? ${s.suspicions.join('; ')}`;
    return line;
  }

  private suspicions(perTask: Record<StatName, number>[]): string[] {
    const out: string[] = [];
    const shm = this.shm;
    // fairness within each role, on acquisitions when the role takes locks, else on operations
    const byRole = new Map<string, number[]>();
    this.roles.forEach((r, t) => byRole.set(r, [...(byRole.get(r) ?? []), t]));
    for (const [role, tasks] of byRole) {
      if (tasks.length < 2) continue;
      const key: StatName = tasks.some((t) => perTask[t].acquisitions > 0) ? 'acquisitions' : 'ops';
      const vals = tasks.map((t) => perTask[t][key]);
      const max = Math.max(...vals), min = Math.min(...vals);
      if (max >= 64 && max / 2 > min)
        out.push(`unfair: ${role} ${key} max ${max} (task ${tasks[vals.indexOf(max)]}) > 2 x min ${min} (task ${tasks[vals.indexOf(min)]})`);
    }
    // a stall: a task that is neither parked nor done completed nothing since the last sample
    const stalled: number[] = [];
    this.roles.forEach((_, t) => {
      const beat = Atomics.load(shm.heartbeat, t);
      const state = Atomics.load(shm.taskState, t);
      if (beat === this.prevBeat[t] && state !== TASK_DONE && state !== TASK_PARKED) stalled.push(t);
      this.prevBeat[t] = beat;
    });
    if (stalled.length) out.push(`stall: task${stalled.length > 1 ? 's' : ''} ${stalled.join(',')} made no progress`);
    return out;
  }
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

function fmtSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 || Number.isInteger(s) ? `${Math.round(s)}s` : `${s.toFixed(1)}s`;
}

