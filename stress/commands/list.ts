// `list`: what can be run. Scenarios with their own flags, lock algorithms, invariants — all
// read from the registries the parser uses, so the list cannot drift from what `run` accepts.
import { HELP_FLAG, UsageError, allRunFlags, flagHelp, parseFlags, variantListLines } from '../../src/run/validate.ts';
import type { Command, Context } from './types.ts';
import { pluginListLines } from '../../src/plugin/list.ts';

function columns(rows: [string, string][], indent = '  '): string[] {
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`);
}

export function listLines(ctx: Context): string[] {
  const reg = ctx.registry;
  const { byScenario } = allRunFlags(reg);
  const mark = (name: string, def: string) => (name === def ? `${name} *` : name);
  const out: string[] = ['Scenarios (--scenario; * = default):'];
  const w = Math.max(0, ...reg.scenarios.map((s) => mark(s.name, reg.defaultScenario).length));
  for (const s of reg.scenarios) {
    out.push(`  ${mark(s.name, reg.defaultScenario).padEnd(w)}  ${s.description}`);
    if (s.invariants?.length) out.push(`      checks: ${s.invariants.join(', ')}`);
    const flags = byScenario.get(s.name) ?? [];
    if (flags.length) out.push(...flagHelp(flags, '      '));
  }
  out.push('', 'Lock algorithms (--lock; * = default):');
  out.push(...columns(reg.locks.filter((l) => !l.hidden).map((l) => [mark(l.name, reg.defaultLock), l.description])));
  const vars = variantListLines(reg);
  if (vars.length) out.push('', ...vars);
  const plugged = pluginListLines();
  if (plugged.length) out.push('', ...plugged);
  out.push('', 'Invariants (ids used in reports and junit.xml):');
  out.push(...columns(Object.entries(ctx.invariants) as [string, string][]));
  return out;
}

export const listCommand: Command = {
  name: 'list',
  summary: 'list scenarios (with their flags), lock algorithms and invariants',
  help: () => ['usage: pagelock-stress list', '', 'List scenarios with their own flags, lock algorithms and invariants.', '', 'Flags:', ...flagHelp([HELP_FLAG])],
  async run(argv, ctx) {
    const p = parseFlags(argv, [HELP_FLAG], 'list');
    if (p.help) {
      for (const l of listCommand.help(ctx)) ctx.io.out(l);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument '${p.positionals[0]}' for 'list'`);
    for (const l of listLines(ctx)) ctx.io.out(l);
    return 0;
  },
};
