#!/usr/bin/env node
// Runs every *.test.ts under src/ and ui/ (the console's logic and its browser tests) with node:test (Node 20's --test takes no globs).
// Extra arguments are passed to node --test (e.g. --test-name-pattern).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = ['src', 'ui']
  .flatMap((dir) => readdirSync(dir, { recursive: true, withFileTypes: true }))
  .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
  .map((e) => join(e.parentPath ?? e.path, e.name))
  .sort();
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...process.argv.slice(2), ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
