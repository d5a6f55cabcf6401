#!/usr/bin/env node
// The `eim` command. Runs the bundle in dist/ (npm run build; made on npm install) when it is newer
// than every file under src/, else the TypeScript sources through tsx, so an edit is never hidden
// by a stale build.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// `eim server` serves the web console from dist/console: build it first when ui/ changed since.
if (process.argv[2] === 'server') {
  const { buildConsole, consoleIsStale } = await import('../scripts/build-console.mjs');
  if (consoleIsStale()) {
    process.stderr.write('building the web console (ui/ changed since the last build)…\n');
    await buildConsole().catch((e) => process.stderr.write(`the web console could not be built; / answers 503 until it is: ${e?.message ?? e}\n`));
  }
}

let built = 0;
try {
  built = statSync(join(root, 'dist', 'BUILT')).mtimeMs;
} catch {
  built = 0;
}
if (built > 0 && built >= newestSource(join(root, 'src'))) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
