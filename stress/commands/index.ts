// The command table and the dispatcher. A command is one file exporting a Command; add it to
// COMMANDS and it gets `help <command>`, `<command> --help` and the command list for free.
import { HELP_FLAG, UsageError, flagHelp, parseFlags } from '../../src/run/validate.ts';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command, Context } from './types.ts';
import { runCommand } from './run.ts';
import { listCommand } from './list.ts';
import { reportCommand } from './report.ts';
import { mergeCommand } from './merge.ts';
import { exploreCommand } from './explore.ts';
import { replayCommand } from './replay.ts';
import { shrinkCommand } from './shrink.ts';
import { matrixCommand } from './matrix.ts';
import { soakCommand } from './soak.ts';
import { compareCommand } from './compare.ts';

export const helpCommand: Command = {
  name: 'help',
  summary: 'show help for the tool or for one command',
  help: () => ['usage: pagelock-stress help [command]', '', 'Without a command: the command list. With one: its flags.', '', 'Flags:', ...flagHelp([HELP_FLAG])],
  async run(argv, ctx) {
    const p = parseFlags(argv, [HELP_FLAG], 'help');
    if (p.help) {
      for (const l of helpCommand.help(ctx)) ctx.io.out(l);
      return 0;
    }
    if (p.positionals.length > 1) throw new UsageError(`'help' takes at most one command (got ${p.positionals.join(' ')})`);
    const lines = p.positionals.length ? findCommand(p.positionals[0]).help(ctx) : toolHelp();
    for (const l of lines) ctx.io.out(l);
    return 0;
  },
};

export const COMMANDS: Record<string, Command> = {
  run: runCommand,
  soak: soakCommand,
  compare: compareCommand,
  list: listCommand,
  report: reportCommand,
  merge: mergeCommand,
  explore: exploreCommand,
  replay: replayCommand,
  shrink: shrinkCommand,
  matrix: matrixCommand,
  help: helpCommand,
};

export function findCommand(name: string): Command {
  const c = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!c) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  return c;
}

export function toolHelp(): string[] {
  const w = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'pagelock-stress: a multithreaded stress tester for the Linux page-cache locking protocols',
    '',
    'usage: pagelock-stress <command> [flags]',
    '       pagelock-stress            (= run the default scenario for 5 s)',
    '       pagelock-stress --flag...  (= run --flag...)',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "Flags of a command: pagelock-stress help <command>, or <command> --help.",
    'Global flag, any command: --plugin FILE (repeatable) loads a plug-in module (.ts or .js) first.',
    'Any command: --plugin FILE (repeatable) loads your own variants (docs/writing-a-variant.md).',
    'Exit codes: 0 clean, 1 violation or hang, 2 bad usage or config.',
  ];
}

/** Dispatch argv (without node and the script) and return the exit code. Usage errors become
 * one line on stderr and exit 2; nothing else a user types should produce a stack trace. */
export async function main(argv: string[], ctx: Context): Promise<number> {
  try {
    if (argv.length === 0) return await COMMANDS.run.run([], ctx);
    const [first, ...rest] = argv;
    if (first === '--help' || first === '-h') return await COMMANDS.help.run([], ctx);
    if (first === '--version') {
      ctx.io.out(ctx.version);
      return 0;
    }
    if (first.startsWith('--')) return await COMMANDS.run.run(argv, ctx);
    return await findCommand(first).run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.io.err(`pagelock-stress: ${e.message.split('\n')[0]}`);
      return e.exitCode;
    }
    ctx.io.err(internalErrorLine(e));
    return 1;
  }
}

/** Where the stack trace of an internal error is saved (a file per error). */
export function crashFilePath(now = new Date()): string {
  return join(tmpdir(), `pagelock-stress-error-${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}.txt`);
}

/** An error nobody expected: one line naming it and the file its stack trace was saved to (the
 * trace itself when even that file cannot be written). */
export function internalErrorLine(e: unknown, argv: readonly string[] = process.argv.slice(2)): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message || err.name).split('\n')[0].trim();
  const path = crashFilePath();
  try {
    writeFileSync(path, [`pagelock-stress ${argv.join(' ')}`, `node ${process.version}, ${new Date().toISOString()}`, '', err.stack ?? String(e), ''].join('\n'));
  } catch {
    return `pagelock-stress: internal error: ${first} (the stack trace could not be saved: ${(err.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' ')})`;
  }
  return `pagelock-stress: internal error: ${first} (stack trace saved to ${path})`;
}
