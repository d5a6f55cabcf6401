import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the built console, held in memory with what its response needs. */
export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The built web console: index.html and its content-hashed assets. */
export interface ConsoleAssets {
  index: ConsoleAsset;
  /** By file name under assets/. */
  assets: ReadonlyMap<string, ConsoleAsset>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * Where `npm run build` puts the console: `dist/console` under the package root (found by walking
 * up from this file, so it holds for the TypeScript sources and for the bundle in dist/ alike).
 * @example defaultConsoleDir() // '/srv/eim/dist/console'
 */
export function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/**
 * Reads the built console into memory; undefined when it is not built (no index.html).
 * @example const assets = loadConsoleAssets(defaultConsoleDir())
 */
export function loadConsoleAssets(dir: string): ConsoleAssets | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  const assets = new Map<string, ConsoleAsset>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const p = join(assetDir, name);
      if (statSync(p).isFile()) assets.set(name, asset(readFileSync(p), name));
    }
  }
  return { index: asset(readFileSync(indexPath), indexPath), assets };
}

function asset(body: Buffer, name: string): ConsoleAsset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag };
}
