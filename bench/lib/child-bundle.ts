import { bundle, THROUGH_TSX } from './bundle.mjs';

const built = new Map<string, Promise<string>>();

/**
 * How a benchmark's child program (a server, the simulator, the watchers) runs: `node <args>`.
 * Bundled by esbuild, as the product runs (see bench/run.mjs for why not through tsx): the
 * simulator took 425 MB at 3,000 nodes through tsx and 266 MB bundled. `EIM_BENCH_TSX=1` runs the
 * TypeScript through tsx as before.
 * @example spawn(process.execPath, [...(await childArgs(CHILD)), JSON.stringify(options)])
 */
export async function childArgs(entry: string): Promise<string[]> {
  if (THROUGH_TSX) return ['--import', 'tsx', entry];
  let file = built.get(entry);
  if (!file) {
    file = bundle(entry);
    built.set(entry, file);
  }
  return [await file];
}
