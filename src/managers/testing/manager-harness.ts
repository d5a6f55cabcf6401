import type { Caller, Inventory, Resource, ResourceOf } from '../../api/index.ts';
import { InventoryClient } from '../../client/index.ts';
import { InventoryService } from '../../inventory/index.ts';
import { buildApp } from '../../server/app.ts';
import { TokenService } from '../../server/auth/token-service.ts';
import { openTestStore, type TestStore } from '../../testing/test-stores.ts';
import { type Truthy, until as untilShared } from '../../testing/until.ts';
import { type Managers, type StartManagersOptions, startManagers } from '../start-managers.ts';
import { FakeSouthbound, type FakeSouthboundOptions } from './fake-southbound.ts';

export const MANAGER: Caller = { subject: 'host-manager', grants: [{ project: '*', role: 'manager' }] };
export const SOUTHBOUND: Caller = { subject: 'southbound', grants: [{ project: '*', role: 'manager' }] };
export const ADMIN: Caller = { subject: 'alice', grants: [{ project: '*', role: 'admin' }] };

export type Host = ResourceOf<'Host'> & Resource;
export type Instance = ResourceOf<'Instance'> & Resource;

const GOOD_SHA = 'a'.repeat(64);

/** The real in-process Inventory on SQLite, the managers, and a fake southbound, for one test. */
export interface Harness {
  svc: InventoryService;
  /** An admin user. */
  user: Inventory;
  managers: Managers;
  sb: FakeSouthbound;
  /** What the managers reported to onError. */
  errors: { key?: string; error: unknown }[];
  project: 'default';
  os(name: string, labels?: Record<string, string>, sha256?: string): Promise<ResourceOf<'OperatingSystem'> & Resource>;
  host(name: string, spec?: Partial<Host['spec']>): Promise<Host>;
  get<N extends 'Host' | 'Instance'>(kind: N, id: string): Promise<ResourceOf<N> & Resource>;
  /** Commands left in the store for an owner. */
  commandsOf(ownerId: string): Promise<(ResourceOf<'Command'> & Resource)[]>;
  close(): Promise<void>;
}

export interface HarnessOptions extends StartManagersOptions {
  southbound?: FakeSouthboundOptions;
  /** Run the managers against the HTTP API with a manager token (InventoryClient), as `eim managers` does. */
  overHttp?: boolean;
}

export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const ts: TestStore = await openTestStore('sqlite');
  const svc = new InventoryService(ts.store);
  await svc.start();
  await svc.ensureProject('default');
  const remote = options.overHttp ? await serveHttp(svc, ts) : undefined;
  const user = svc.as(ADMIN);
  const sb = new FakeSouthbound(svc.as(SOUTHBOUND), options.southbound);
  await sb.start();
  const errors: Harness['errors'] = [];
  const onError = (error: unknown, key?: string) => {
    errors.push({ key, error });
    process.stderr.write(`manager error${key ? ` (${key})` : ''}: ${(error as Error)?.stack ?? String(error)}\n`);
  };
  const managers = await startManagers(remote?.client ?? svc.as(MANAGER), { backoff: { baseMs: 50, maxMs: 2000 }, onError, ...options });
  await managers.synced;
  let n = 0;
  return {
    svc,
    user,
    managers,
    sb,
    errors,
    project: 'default',
    os: (name, labels = {}, sha256 = GOOD_SHA) =>
      user.create('default', 'OperatingSystem', {
        name,
        labels,
        spec: { imageUrl: `https://images.example.com/${name}.img`, sha256, profileName: name, profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64' },
      }),
    host: (name, spec = {}) => {
      n++;
      const uuid = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
      return user.create('default', 'Host', { name, spec: { uuid, desiredState: 'onboarded', ...spec } }) as Promise<Host>;
    },
    get: (kind, id) => user.get('default', kind, id) as never,
    commandsOf: async (ownerId) => (await user.list('default', 'Command', { filter: `spec.ownerId = "${ownerId}"`, pageSize: 100 })).items,
    async close() {
      await managers.stop();
      await remote?.close();
      await sb.stop();
      await svc.stop();
      await ts.cleanup();
    },
  };
}

/**
 * The shared `until` with the manager tests' positional timeout (every 5 ms, the shared default).
 * @example await until(async () => (await h.user.list('default', 'Host')).totalSize === 0, 'both hosts removed', 5000)
 */
export const until = <T>(cond: () => T | Promise<T>, what: string, ms = 10_000): Promise<Truthy<T>> => untilShared(cond, what, { timeoutMs: ms });

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The northbound API on a free port, and a client with a manager token for every project. */
async function serveHttp(svc: InventoryService, ts: TestStore): Promise<{ client: InventoryClient; close(): Promise<void> }> {
  const tokens = await TokenService.open({ auth: ts.store.auth });
  const app = await buildApp({ inventory: svc, tokens, bookmarkMs: 500 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const { token } = await tokens.issue({ subject: 'host-manager', grants: [{ project: '*', role: 'manager' }] });
  const client = new InventoryClient({ server: url, token });
  return {
    client,
    async close() {
      client.close();
      await app.close();
    },
  };
}
