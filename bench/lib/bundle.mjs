// Bundles a benchmark program, or a child program one starts, with esbuild, as `npm run build`
// bundles the CLI: one ES module, the packages left in node_modules. Plain JavaScript, so that
// bench/run.mjs can load it without tsx.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** `EIM_BENCH_TSX=1`: run the TypeScript through tsx instead, as before (profiles named by source file). */
export const THROUGH_TSX = process.env.EIM_BENCH_TSX === '1';
/** Under node_modules, so that a bundle finds the packages (and dist/console) as dist/ does. */
const OUT_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'eim-bench');

/**
 * Each module keeps its source file's `import.meta.url`: the programs find files next to them
 * (`new URL('./server-child.ts', import.meta.url)`, `../../`), which one bundle elsewhere would break.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(b) {
    // The packages stay external (never loaded here): only the repository's own modules pass.
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: /ts$/.test(args.path) ? 'ts' : 'js' };
    });
  },
};

/**
 * Bundles `entry` into a file of its own for this process (two benchmarks at once do not share
 * one), removed when the process exits.
 * @param {string} entry
 * @returns {Promise<string>} the bundle's path
 */
export async function bundle(entry) {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = join(OUT_DIR, `${basename(entry).replace(/\.[cm]?[jt]s$/, '')}-${process.pid}.mjs`);
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', outfile, logLevel: 'warning', plugins: [sourceUrls] });
  process.once('exit', () => rmSync(outfile, { force: true }));
  return outfile;
}
