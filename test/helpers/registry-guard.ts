// Set-up of the `shared` test project (vitest.config.ts): its files run one after another in a
// worker that keeps its modules, so a registration one file leaves in the process-wide registries
// would be seen by the files after it. This takes the registries as they are when a file starts
// (every built-in registered: the imports below are what registers them) and fails the file if it
// ends with something added or taken away.
import { afterAll } from 'vitest';
import '../../src/matrix/extra-cells.ts';
import { lockNames } from '../../src/locks/index.ts';
import { variantNames } from '../../src/variants/registry.ts';
import { explicitCells } from '../../src/matrix/cells.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { pluginRegistrations } from '../../src/plugin/plugin.ts';
import { loadedPlugins } from '../../src/run/plugin-paths.ts';

const registries = (): Record<string, string[]> => ({
  locks: lockNames({ hidden: true }),
  variants: variantNames({ hidden: true }),
  cells: explicitCells().map((c) => c.name),
  scenarios: [...SCENARIOS.keys()],
  'plug-in registrations': pluginRegistrations().map((r) => `${r.kind} ${r.name}`),
  'loaded plug-ins': [...loadedPlugins()],
});

const before = registries();

afterAll(() => {
  const after = registries();
  const changed = Object.keys(before).flatMap((k) => {
    const added = after[k].filter((x) => !before[k].includes(x)), gone = before[k].filter((x) => !after[k].includes(x));
    return added.length || gone.length ? [`${k}: ${[...added.map((x) => `+${x}`), ...gone.map((x) => `-${x}`)].join(' ')}`] : [];
  });
  if (changed.length)
    throw new Error(`this file changed the process-wide registries (${changed.join('; ')}): list it in ISOLATED in vitest.config.ts`);
});
