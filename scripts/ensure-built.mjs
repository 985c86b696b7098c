// Rebuild dist/ when any source is newer than the last build, so `npm run stress` always runs
// what is checked out.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const stamp = 'dist/.built';
function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const src = Math.max(newest('src'), newest('stress'), newest('workers'), statSync('tsconfig.json').mtimeMs,
  statSync('tsconfig.build.json').mtimeMs, newest('scripts'));
if (!existsSync(stamp) || statSync(stamp).mtimeMs < src) {
  // the build with the protocol code's direct form (scripts/build.mjs), which writes the stamp
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
