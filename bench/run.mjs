#!/usr/bin/env node
// Runs a benchmark program, bench/<name>.ts, bundled by esbuild: the code measured in the
// benchmark's own process (the in-process scenarios) runs as the product runs, as do the servers,
// simulators and watchers it starts (bench/lib/child-bundle.ts). Through tsx it would not: tsx
// compiles with esbuild's keepNames, which gives every function the code creates an own `name`
// property, costing CPU per closure and about 250 bytes each. EIM_BENCH_TSX=1 runs the TypeScript
// through tsx instead, for CPU profiles named by source file or to compare with earlier figures.
// Usage: node bench/run.mjs <name> [args]   (npm run bench:<name> -- [args])
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, REPO_ROOT, THROUGH_TSX } from './lib/bundle.mjs';

const [name, ...args] = process.argv.slice(2);
const entry = join(REPO_ROOT, 'bench', `${name ?? ''}.ts`);
if (!name || !existsSync(entry)) {
  process.stderr.write(`usage: node bench/run.mjs <name> [args]: no bench/${name ?? '<name>'}.ts\n`);
  process.exit(2);
}
if (THROUGH_TSX) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const outfile = await bundle(entry);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
