import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server-process.ts';

/** The newest mtime (ms) of any file under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Whether `bin/eim.js` will run the esbuild bundle in dist/ rather than src/ through tsx: the
 * same test it makes (dist/BUILT at least as new as every file under src/).
 */
export function bundleIsFresh(): boolean {
  try {
    return statSync(join(REPO_ROOT, 'dist', 'BUILT')).mtimeMs >= newestUnder(join(REPO_ROOT, 'src'));
  } catch {
    return false;
  }
}

/** `npm run build`; throws with its output when it fails or leaves a stale bundle. */
export function buildBundle(): void {
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status}): ${r.stdout}${r.stderr}`);
  if (!bundleIsFresh()) throw new Error('npm run build left dist/BUILT older than a file under src/ (edited while it built?)');
}
