#!/usr/bin/env node
// Bundles the CLI (and everything it lazily loads) into dist/ with esbuild: one file per lazily
// loaded command, dependencies left in node_modules. bin/eim.js runs it when it is newer than
// every source file, and the TypeScript sources through tsx otherwise, so a stale build never runs.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir: 'dist',
  sourcemap: 'linked',
  logLevel: 'warning',
});
writeFileSync('dist/BUILT', `${new Date().toISOString()}\n`);
