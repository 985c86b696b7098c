// What every command gets: IO, the plug-in registry, the run engine and the environment, all
// injected so tests can run a command in-process with fakes.
import type { runStress } from '../../src/run/orchestrate.ts';
import type { Registry } from '../../src/run/validate.ts';
import type { GitInfo } from '../../src/run/gitinfo.ts';
import type { InvariantId } from '../../src/kernel/invariants.ts';

export interface Io {
  /** one line to stdout */
  out(line: string): void;
  /** one line to stderr */
  err(line: string): void;
  /** the progress bar is drawn only on a terminal */
  errIsTTY: boolean;
  /** the terminal stream the progress bar draws on (when errIsTTY) */
  errStream?: NodeJS.WriteStream;
}

/** The run engine (src/run/orchestrate.ts), injectable so tests can stub it. */
export type RunStress = typeof runStress;

export interface Context {
  io: Io;
  registry: Registry;
  invariants: Record<InvariantId, string>;
  runStress: RunStress;
  git(): GitInfo;
  version: string;
  cores: number;
  cwd: string;
  now(): Date;
  /** Call `stop(signalName)` on SIGINT/SIGTERM; returns the uninstaller. */
  onSignal(stop: (signal: string) => void): () => void;
}

export interface Command {
  name: string;
  /** one line for the command list */
  summary: string;
  /** help text, generated from the flag table the command parses with */
  help(ctx: Context): string[];
  /** returns the exit code; throws UsageError for bad input */
  run(argv: string[], ctx: Context): Promise<number>;
}
