// The plug-in files this thread loaded (absolute paths, in load order). Kept free of imports so
// spawnWorker can hand them to every worker it starts without pulling the registries in.
const loaded: string[] = [];

export function loadedPlugins(): readonly string[] {
  return loaded;
}

export function addLoadedPlugin(path: string): void {
  if (!loaded.includes(path)) loaded.push(path);
}

/** workerData key under which spawnWorker passes the plug-in paths. */
export const PLUGINS_KEY = '__plugins';
