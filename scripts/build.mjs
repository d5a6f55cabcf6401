#!/usr/bin/env node
// Bundles the CLI (and everything it lazily loads) into dist/ with esbuild: one file per lazily
// loaded command, dependencies left in node_modules. bin/eim.js runs it when it is newer than
// every source file, and the TypeScript sources through tsx otherwise, so a stale build never runs.
// Then builds the web console into dist/console (scripts/build-console.mjs).
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildConsole } from './build-console.mjs';

// Bundled: typebox, which most commands load (~200 ms as its many ES modules,
// a few ms as one bundled chunk). Left in node_modules: native and server-side packages.
const BUNDLED = new Set(['typebox']);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.has(d)).flatMap((d) => [d, `${d}/*`]);

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  outdir: 'dist',
  sourcemap: 'linked',
  logLevel: 'warning',
});
writeFileSync('dist/BUILT', `${new Date().toISOString()}\n`);
await buildConsole();
