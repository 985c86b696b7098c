#!/usr/bin/env node
// pagelock-stress: the command line. Commands live in stress/commands/ (see index.ts).
import { internalErrorLine, main } from './commands/index.ts';
import { realContext } from './commands/context.ts';
import { PluginError, extractPluginArgs, loadPlugins } from '../src/plugin/plugin.ts';

// Whatever escapes a command (a throw in a callback, a rejected promise nobody awaited) is one line
// naming the file its stack trace was saved to, and exit 1.
const fatal = (e: unknown) => {
  process.stderr.write(`${internalErrorLine(e)}\n`);
  process.exit(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// --plugin FILE (any command, repeatable) is loaded before the registries are read, so every
// command, its flag validation and `list` see the plug-in's variants.
let code: number;
try {
  const { plugins, argv } = extractPluginArgs(process.argv.slice(2));
  await loadPlugins(plugins);
  code = await main(argv, realContext());
} catch (e) {
  if (e instanceof PluginError) {
    process.stderr.write(`pagelock-stress: ${e.message.split('\n')[0]}\n`);
    code = e.exitCode;
  } else {
    process.stderr.write(`${internalErrorLine(e)}\n`);
    code = 1;
  }
}
process.exitCode = code;
// Never hang after the verdict: if some handle still keeps the process alive, leave anyway.
setTimeout(() => process.exit(code), 5_000).unref();
