import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { deferCleanup } from './cleanup.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Under node_modules, so that the bundles find the packages (and the console) as dist/ does. */
const OUT_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'eim-bench');
const built = new Map<string, Promise<string>>();

/**
 * How a benchmark's child program (a server, the simulator, the watchers) runs: `node <args>`.
 *
 * By default the child is bundled with esbuild as `npm run build` bundles the CLI, and runs as
 * the product runs. Through tsx it would not: tsx compiles with esbuild's `keepNames`, which wraps
 * every function the code creates in a call that gives it an own `name` property. That costs CPU
 * on every closure created and about 250 bytes per closure: the simulator held 72,000 such closures
 * at 3,000 nodes (18 MB of property arrays), and the server's profiles showed `__name` among the
 * heaviest functions. `EIM_BENCH_TSX=1` runs the TypeScript through tsx as before, for profiles
 * named by source file (a bundle is one file) or to compare with earlier figures.
 * @example spawn(process.execPath, [...await childArgs(CHILD), JSON.stringify(options)])
 */
export async function childArgs(entry: string): Promise<string[]> {
  if (process.env.EIM_BENCH_TSX === '1') return ['--import', 'tsx', entry];
  let bundle = built.get(entry);
  if (!bundle) {
    bundle = bundleChild(entry);
    built.set(entry, bundle);
  }
  return [await bundle];
}

async function bundleChild(entry: string): Promise<string> {
  mkdirSync(OUT_DIR, { recursive: true });
  // One file per process of this run: two benchmarks running at once must not overwrite each other's.
  const outfile = join(OUT_DIR, `${basename(entry, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  deferCleanup(() => {
    rmSync(outfile, { force: true });
    rmSync(`${outfile}.map`, { force: true });
  });
  return outfile;
}
