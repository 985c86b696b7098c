// `npm run bench [-- [--quick] [section...] [--lock NAME]...]`: runs the benchmark sections in
// one process and prints a table each. Not tests: figures depend on the machine and its load.
// To add a section, write a file exporting a BenchSection and list it in SECTIONS.
import os from 'node:os';
import { lockNames } from '../../src/locks/index.ts';
import { printTable, type BenchSection } from './common.ts';
import { uncontended } from './uncontended.ts';
import { handoff } from './handoff.ts';
import { hotpage } from './hotpage.ts';
import { scenarioBench } from './scenario.ts';
import { controlledBench } from './controlled.ts';
import { lockdepBench } from './lockdep.ts';
import { soakRss } from './soak-rss.ts';
import { mapTruncateBench } from './map-truncate.ts';
import { exploreThreadsBench } from './explore-threads.ts';
import { directBench } from './direct.ts';
import { strategiesBench } from './strategies.ts';
import { detectBench } from './detect.ts';

export const SECTIONS: BenchSection[] = [uncontended, handoff, hotpage, scenarioBench, controlledBench, lockdepBench, mapTruncateBench, directBench, soakRss, exploreThreadsBench, strategiesBench, detectBench];

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const locks: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') continue;
    if (argv[i] === '--lock') locks.push(argv[++i] ?? '');
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: npm run bench -- [--quick] [--lock NAME]... [section...]');
      for (const s of SECTIONS) console.log(`  ${s.name.padEnd(12)} ${s.description}${s.optIn ? ' (only when named)' : ''}`);
      return 0;
    } else names.push(argv[i]);
  }
  const known = lockNames();
  for (const l of locks) if (!known.includes(l)) { console.error(`bench: unknown lock '${l}' (${known.join(', ')})`); return 2; }
  for (const n of names) if (!SECTIONS.some((s) => s.name === n)) { console.error(`bench: unknown section '${n}' (${SECTIONS.map((s) => s.name).join(', ')})`); return 2; }
  const sections = names.length ? SECTIONS.filter((s) => names.includes(s.name)) : SECTIONS.filter((s) => !s.optIn);
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`pagelock-stress benchmarks: Node ${process.version}, ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}, load average ${load}${quick ? ' (quick)' : ''}`);
  if (os.loadavg()[0] > os.availableParallelism()) console.log('WARNING: the machine is busy (load above the core count): figures are noisy, the ratios more than usual');
  for (const s of sections) for (const t of await s.run({ quick, locks: locks.length ? locks : known })) printTable(t);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
