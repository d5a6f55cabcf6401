import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { InventoryService, type InventoryServiceOptions } from '../inventory/index.ts';
import { type AppOptions, buildApp } from '../server/app.ts';
import { TokenService, type TokenServiceOptions } from '../server/auth/token-service.ts';
import { type Southbound, type SouthboundOptions, startSouthbound } from '../server/southbound/southbound.ts';
import { type TelemetryOptions, TelemetryService } from '../server/telemetry/telemetry-service.ts';
import { type Dialect, openTestStore, type TestStore } from './test-stores.ts';

export interface TestAppOptions {
  /** @default 'sqlite' */
  dialect?: Dialect;
  /** Fill the projects as a new server does (the default alert rules). @default false */
  seed?: boolean;
  /** The projects to create. @default ['default'] */
  projects?: string[];
  /** For the InventoryService (retention, …). @default {} */
  inventory?: InventoryServiceOptions;
  /** For buildApp (rate limits, bookmarkMs, consoleDir, …), besides the inventory and tokens. @default {} */
  app?: Omit<AppOptions, 'inventory' | 'tokens'>;
  /** Start the southbound layer with these options (e.g. `{ leaseCheckMs: 50 }`). @default not started */
  southbound?: Omit<SouthboundOptions, 'service' | 'tokens'>;
  /** A TelemetryService with these options, shared by the app's routes and the southbound (as startServer does). @default the app's own, with the defaults */
  telemetry?: TelemetryOptions;
  /** For the TokenService (an OIDC issuer, …), besides the store. @default {} */
  tokens?: Omit<TokenServiceOptions, 'auth'>;
  /** Listen on a free port of 127.0.0.1 (for SSE and clients over a real socket). @default false */
  listen?: boolean;
}

export interface TestApp {
  store: TestStore;
  inventory: InventoryService;
  tokens: TokenService;
  app: FastifyInstance;
  /** Present when `southbound` was given. */
  southbound?: Southbound;
  /** Present when `telemetry` was given. */
  telemetry?: TelemetryService;
  /** The base URL when `listen` was set; '' otherwise. */
  url: string;
  /** A token of subject 'admin' with the admin role on every project. */
  admin: string;
  /** `app.inject` with a bearer token (none when absent) and a JSON body (none when undefined). */
  inject(method: string, path: string, token?: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** `inject`, answering the status and the parsed JSON body (undefined when empty). */
  call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Stops and removes everything, in the reverse order of opening. */
  close(): Promise<void>;
}

/**
 * An in-process server on a fresh test store: store, InventoryService with its projects, TokenService,
 * an admin token and the app (optionally with the southbound layer, optionally listening).
 * If opening fails, whatever was opened is closed again before the error is thrown.
 * @example
 * let srv: TestApp;
 * before(async () => (srv = await openTestApp({ projects: ['default', 'other'], southbound: { leaseCheckMs: 50 }, listen: true })));
 * after(() => srv.close());
 * test('…', async () => assert.equal((await srv.call('GET', '/v1/projects/default/hosts', srv.admin)).status, 200));
 */
export async function openTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const closers: (() => unknown)[] = [];
  const close = async () => {
    while (closers.length) await closers.pop()!();
  };
  try {
    const store = await openTestStore(options.dialect ?? 'sqlite');
    closers.push(() => store.cleanup());
    const inventory = new InventoryService(store.store, options.inventory);
    await inventory.start();
    closers.push(() => inventory.stop());
    for (const project of options.projects ?? ['default']) {
      await inventory.ensureProject(project);
      if (options.seed) await inventory.seedProject(project);
    }
    const tokens = await TokenService.open({ ...options.tokens, auth: store.store.auth });
    closers.push(() => tokens.stop());
    const admin = (await tokens.issue({ subject: 'admin', grants: [{ project: '*', role: 'admin' }] })).token;
    const telemetry = options.telemetry ? new TelemetryService(store.store.telemetry, options.telemetry) : undefined;
    if (telemetry) closers.push(() => telemetry.stop());
    const app = await buildApp({ ...options.app, inventory, tokens, ...(telemetry ? { telemetry } : {}) });
    closers.push(() => app.close());
    let southbound: Southbound | undefined;
    if (options.southbound) {
      const sb = await startSouthbound(app, { ...options.southbound, service: inventory, tokens, ...(telemetry ? { telemetry } : {}) });
      closers.push(() => sb.stop());
      southbound = sb;
    }
    const url = options.listen ? await app.listen({ port: 0, host: '127.0.0.1' }) : '';
    const inject = (method: string, path: string, token?: string, body?: unknown) =>
      app.inject({ method: method as InjectOptions['method'], url: path, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body !== undefined ? { payload: body as object } : {}) });
    return {
      store,
      inventory,
      tokens,
      app,
      southbound,
      telemetry,
      url,
      admin,
      inject,
      async call(method, path, token, body) {
        const r = await inject(method, path, token, body);
        return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : undefined };
      },
      close,
    };
  } catch (e) {
    await close().catch(() => {}); // the opening error is the one worth reporting
    throw e;
  }
}
