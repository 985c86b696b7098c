#!/usr/bin/env node
// pagelock-stress: the command line. Commands live in stress/commands/ (see index.ts).
import { main } from './commands/index.ts';
import { realContext } from './commands/context.ts';

const code = await main(process.argv.slice(2), realContext());
process.exitCode = code;
// Never hang after the verdict: if some handle still keeps the process alive, leave anyway.
setTimeout(() => process.exit(code), 5_000).unref();
