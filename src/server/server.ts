import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { ALL_PROJECTS } from '../api/index.ts';
import { InventoryService } from '../inventory/index.ts';
import { openStore } from '../store/index.ts';
import { buildApp } from './app.ts';
import { TokenIssuer } from './token-issuer.ts';

export interface ServerOptions {
  /** Where the SQLite file, signing key and admin token live. @default '.eim' */
  dataDir?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  /** `postgres://…` for PostgreSQL; the embedded SQLite store otherwise. */
  store?: string;
  /** SQLite durability. @default 'full' */
  synchronous?: 'full' | 'normal';
  /** @default 'info' */
  logLevel?: string;
  /** Event retention. @default 3600 s and 1,000,000 events */
  retentionSeconds?: number;
  retentionEvents?: number;
  bookmarkMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  inventory: InventoryService;
  tokens: TokenIssuer;
  url: string;
  adminTokenPath: string;
  adminToken: string;
  close(): Promise<void>;
}

/** Options filled with their defaults, frozen. */
export function compileServerOptions(o: ServerOptions): Readonly<Required<Omit<ServerOptions, 'store'>> & { store?: string }> {
  return Object.freeze({
    dataDir: resolve(o.dataDir ?? '.eim'),
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 8080,
    store: o.store,
    synchronous: o.synchronous ?? 'full',
    logLevel: o.logLevel ?? 'info',
    retentionSeconds: o.retentionSeconds ?? 3600,
    retentionEvents: o.retentionEvents ?? 1_000_000,
    bookmarkMs: o.bookmarkMs ?? 10_000,
  });
}

/**
 * Starts the control plane: store, Inventory, HTTP API. On first start it creates project
 * `default` and writes an admin token to `<data-dir>/admin.token` (0600).
 * @example const s = await startServer({ dataDir: '.eim', port: 8080 }); … await s.close()
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const o = compileServerOptions(options);
  const log = pino({ level: o.logLevel, base: undefined });
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ url: o.store, dataDir: o.dataDir, synchronous: o.synchronous });
  const inventory = new InventoryService(store, { retention: { minAgeMs: o.retentionSeconds * 1000, minEvents: o.retentionEvents } });
  await inventory.start();
  await inventory.ensureProject('default');
  const tokens = await TokenIssuer.open(o.dataDir);
  const adminTokenPath = join(o.dataDir, 'admin.token');
  let adminToken: string;
  if (existsSync(adminTokenPath)) {
    adminToken = readFileSync(adminTokenPath, 'utf8').trim();
    log.info(`admin token: ${adminTokenPath}`);
  } else {
    adminToken = (await tokens.issue({ subject: 'admin', grants: [{ project: ALL_PROJECTS, role: 'admin' }] })).token;
    writeFileSync(adminTokenPath, `${adminToken}\n`, { mode: 0o600 });
    log.info(`first start: created project "default" and wrote an admin token to ${adminTokenPath} (mode 0600)`);
  }
  const app = await buildApp({ inventory, tokens, logger: log, bookmarkMs: o.bookmarkMs, adminTokenPath });
  const address = await app.listen({ host: o.host, port: o.port });
  const url = address.replace('[::1]', 'localhost');
  log.info(`eim listening on ${url} (store: ${store.dialect === 'sqlite' ? join(o.dataDir, 'eim.db') : 'postgres'}, revision ${inventory.hub.last})`);
  let closed = false;
  return {
    app,
    inventory,
    tokens,
    url,
    adminTokenPath,
    adminToken,
    async close() {
      if (closed) return;
      closed = true;
      await inventory.stop();
      await app.close();
      await store.close();
    },
  };
}
