// Start a worker from compiled JS (dist/) or, when running from TypeScript sources (tests, tsx),
// through a bootstrap that registers tsx first (new Worker on a .ts file fails on Node 20).
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { loadedPlugins, PLUGINS_KEY } from './plugin-paths.ts';

const here = dirname(fileURLToPath(import.meta.url)); // src/run in sources, dist/src/run compiled
const fromSources = import.meta.url.endsWith('.ts');
const root = join(here, '..', '..'); // repo root, or dist/

/** `name` is a worker entry under workers/, without extension (e.g. 'actor'). */
export function spawnWorker(name: string, options: WorkerOptions = {}): Worker {
  // the --plugin files this thread loaded: the worker entry loads them before building its task
  const plugins = loadedPlugins();
  if (plugins.length) options = { ...options, workerData: { ...(options.workerData ?? {}), [PLUGINS_KEY]: [...plugins] } };
  if (fromSources) {
    const entry = pathToFileURL(join(root, 'workers', `${name}.ts`)).href;
    return new Worker(join(root, 'workers', 'bootstrap.mjs'), {
      ...options,
      workerData: { ...(options.workerData ?? {}), __entry: entry },
    });
  }
  return new Worker(join(root, 'workers', `${name}.js`), options);
}
