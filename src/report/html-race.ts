// What a violation's report adds to the free run's flight records: the race as `run --reproduce`
// replayed it under the controlled driver (the shrunk diagram, one column per task) and the
// command that replays it, and which tasks' rings no longer reach back to the race.
import type { Reproduction } from './result.ts';
import { esc } from './html-page.ts';
import { reproductionOutcome } from './diagram.ts';

/** The reproduction under a violation: outcome, replay command, the shrunk diagram. */
export function reproductionBlock(rep: Reproduction): string {
  const lines = rep.lines ?? [];
  const outcome = `<p${rep.error ? ' class="fail"' : rep.reproduced && rep.status !== 'interrupted' ? '' : ' class="legend-note"'}>${esc(reproductionOutcome(rep))}</p>`;
  const replay = rep.replay ? `<h4>Replay</h4>\n<pre class="replay" id="replay-command">${esc(rep.replay)}</pre>` : '';
  const diagram = rep.diagram?.length
    ? `<h4>The race, shrunk and replayed under the controlled driver</h4>\n<pre class="diagram shrunk" id="shrunk-diagram">${esc(rep.diagram.join('\n'))}</pre>`
    : rep.reproduced ? `<p class="legend-note">No diagram was recorded (replay the file with --trace to draw it).</p>` : '';
  const more = lines.length > 1 ? `<details><summary>What the reproduction printed</summary><pre>${esc(lines.join('\n'))}</pre></details>` : '';
  return `<section class="reproduction" id="reproduction">
<h4>Reproduction (run --reproduce)</h4>
${outcome}
${replay}
${diagram}
${more}
</section>`;
}
