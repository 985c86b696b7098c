// Re-validation of live findings. A live check reads many words without a lock while the actors
// race, so one scan can see a state that never existed as a whole (a torn read) or an instant of a
// legal update in flight. A finding is reported only when it is seen in `confirmScans` scans over
// at least `confirmMs`, with the involved page's words unchanged, and every actor has since finished
// an operation or is parked or done: no update that was in flight at the first sighting can still
// be in flight (a task asleep in a wait may be in the middle of one, so it must finish too; if it
// never does, the watchdog reports it). A legal race is never reported.
import type { Finding } from '../kernel/scenario.ts';
import { TASK_DONE, TASK_PARKED, type Shm } from '../shm/shm.ts';

interface Pending {
  since: number;
  scans: number;
  page: number[];
  beats: number[];
}

export class LiveRevalidator {
  private readonly pending = new Map<string, Pending>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly shm: Shm, private readonly actors: number,
    private readonly confirmMs = 50, private readonly confirmScans = 3,
  ) {}

  private pageWords(pfn: number): number[] {
    const s = this.shm;
    if (pfn < 0 || pfn >= s.sizes.pages) return [];
    return [s.flags, s.refcount, s.mapcount, s.mapping, s.index, s.owner].map((a) => Atomics.load(a, pfn));
  }

  /** Feed one scan's findings; returns those confirmed now (each id+page+values once per run). */
  scan(findings: Finding[], nowMs: number): Finding[] {
    const shm = this.shm;
    const seen = new Set<string>();
    const out: Finding[] = [];
    for (const f of findings) {
      const k = `${f.id}:${f.page}:${(f.values ?? []).join(',')}`;
      if (seen.has(k)) continue;
      seen.add(k);
      if (this.reported.has(k)) continue;
      const page = this.pageWords(f.page);
      const beats = Array.from({ length: this.actors }, (_, t) => Atomics.load(shm.heartbeat, t));
      const p = this.pending.get(k);
      if (!p || p.page.some((w, i) => w !== page[i])) {
        this.pending.set(k, { since: nowMs, scans: 1, page, beats });
        continue;
      }
      p.scans++;
      if (p.scans < this.confirmScans || nowMs - p.since < this.confirmMs) continue;
      const settled = beats.every((b, t) => {
        if (b !== p.beats[t]) return true;
        const s = Atomics.load(shm.taskState, t);
        return s === TASK_PARKED || s === TASK_DONE;
      });
      if (!settled) continue;
      this.pending.delete(k);
      this.reported.add(k);
      out.push(f);
    }
    for (const k of this.pending.keys()) if (!seen.has(k)) this.pending.delete(k);
    return out;
  }
}
