// Write a run's report files into its directory, each atomically. Other report formats add
// themselves to REPORT_WRITERS (file name + renderer) and get written the same way.
import { join } from 'node:path';
import type { RunResult } from './result.ts';
import { writeFileAtomic } from './atomic.ts';
import { junitXml } from './junit.ts';
import { summaryMarkdown } from './markdown.ts';
import { renderHtml } from './html.ts';

export interface ReportWriter {
  file: string;
  render(r: RunResult): string;
}

export const runJson = (r: RunResult): string => JSON.stringify(r, null, 2) + '\n';

export const REPORT_WRITERS: ReportWriter[] = [
  { file: 'run.json', render: runJson },
  { file: 'summary.md', render: summaryMarkdown },
  { file: 'junit.xml', render: junitXml },
  { file: 'index.html', render: renderHtml },
];

/** Writes every report; returns the files written. run.json goes first: it is the raw record the
 * others can be regenerated from. A renderer that throws does not stop the others. */
export function writeReports(dir: string, r: RunResult, writers = REPORT_WRITERS): { written: string[]; errors: string[] } {
  const written: string[] = [], errors: string[] = [];
  for (const w of writers) {
    try {
      writeFileAtomic(join(dir, w.file), w.render(r));
      written.push(w.file);
    } catch (e) {
      errors.push(`${w.file}: ${(e as Error).message}`);
    }
  }
  return { written, errors };
}
