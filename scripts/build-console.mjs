// Builds the web console (ui/, Preact + Vite) into dist/console: index.html and content-hashed
// files under assets/. bin/eim.js calls consoleIsStale() before `eim server` and builds when the
// sources are newer than the last build, so `npm start` never serves a stale console.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_DIR = join(root, 'dist', 'console');
// What the bundle is made of: the app, and the API modules it shares with the server.
const SOURCES = [join(root, 'ui', 'src'), join(root, 'ui', 'index.html'), join(root, 'src', 'api', 'filter.ts'), join(root, 'src', 'api', 'errors.ts')];

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let n = 0;
  for (const e of readdirSync(p)) n = Math.max(n, newest(join(p, e)));
  return n;
}

/** Whether dist/console is missing or older than a source file. */
export function consoleIsStale() {
  const stamp = join(CONSOLE_DIR, 'BUILT');
  if (!existsSync(stamp)) return true;
  return statSync(stamp).mtimeMs < Math.max(...SOURCES.map(newest));
}

/**
 * Builds into a private directory, then renames it into place, so a server (or a second
 * builder) never sees half a console.
 */
export async function buildConsole() {
  const { build } = await import('vite');
  const tmp = join(root, 'dist', `console.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(tmp), { recursive: true });
  await build({
    configFile: false,
    root: join(root, 'ui'),
    base: '/',
    logLevel: 'warn',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { outDir: tmp, emptyOutDir: true, assetsDir: 'assets', target: 'es2022', modulePreload: false, sourcemap: false, reportCompressedSize: false },
  });
  writeFileSync(join(tmp, 'BUILT'), `${new Date().toISOString()}\n`);
  rmSync(CONSOLE_DIR, { recursive: true, force: true });
  try {
    renameSync(tmp, CONSOLE_DIR);
  } catch (e) {
    // Another builder renamed its (equal) build into place first.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(CONSOLE_DIR, 'index.html'))) throw e;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildConsole();
