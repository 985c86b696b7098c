#!/usr/bin/env node
// pagelock-stress: the command line. Commands live in stress/commands/ (see index.ts).
import { main } from './commands/index.ts';
import { realContext } from './commands/context.ts';
import { PluginError, extractPluginArgs, loadPlugins } from '../src/plugin/plugin.ts';

// --plugin FILE (any command, repeatable) is loaded before the registries are read, so every
// command, its flag validation and `list` see the plug-in's variants.
let code: number;
try {
  const { plugins, argv } = extractPluginArgs(process.argv.slice(2));
  await loadPlugins(plugins);
  code = await main(argv, realContext());
} catch (e) {
  if (!(e instanceof PluginError)) throw e;
  process.stderr.write(`pagelock-stress: ${e.message.split('\n')[0]}\n`);
  code = e.exitCode;
}
process.exitCode = code;
// Never hang after the verdict: if some handle still keeps the process alive, leave anyway.
setTimeout(() => process.exit(code), 5_000).unref();
