import type { SimNodeIdentity } from '../../src/sim/fleet-simulator.ts';
import { clientTokens } from './client-tokens.ts';
import { monoMs, sleep } from './clock.ts';
import { HttpClient } from './http-client.ts';
import { ServerProcess } from './server-process.ts';
import { freshTarget, type StoreTarget } from './store-target.ts';

/** A fresh SQLite store and a server child on it with the managers in-process (the server's default). */
export interface FleetServer {
  target: StoreTarget;
  server: ServerProcess;
  /** The admin token, one socket: setup calls and polls. */
  admin: HttpClient;
  close(): Promise<void>;
}

/** How a fleet run's server child runs. */
export interface FleetServerOptions {
  /** Run it with node --cpu-prof into this directory. */
  cpuProfDir?: string;
  /** Descriptors of its listening socket (startServer's `acceptors`); its default when absent. */
  acceptors?: number;
  /** Time every SQLite statement in it. */
  sqlStats?: boolean;
  /** Workers per resource manager in it; startServer's default when absent. */
  managerWorkers?: number;
  /** Its open connections in all (startServer's `maxConnections`); its default (16,384 at most) when absent. */
  maxConnections?: number;
}

/** A fleet run over `hosts` Hosts registered first, whose simulated nodes then start (provisioning, power). */
export interface FleetRunOptions extends FleetServerOptions {
  hosts: number;
  /** Simulated command time: an OS install (power takes a tenth). */
  provisionMs: number;
  /** Nodes the simulator starts per second. */
  startRate: number;
  heartbeatMs: number;
}

/**
 * Starts a server for one fleet run; `close()` stops it and removes the store.
 * @example const f = await fleetServer('fleet-power'); try { … } finally { await f.close() }
 */
export async function fleetServer(label: string, o: FleetServerOptions): Promise<FleetServer> {
  const target = await freshTarget('sqlite');
  const server = await ServerProcess.spawn({ dataDir: target.dataDir, label, cpuProfDir: o.cpuProfDir, sqlStats: o.sqlStats, managerWorkers: o.managerWorkers, server: { ...(o.acceptors ? { acceptors: o.acceptors } : {}), ...(o.maxConnections ? { maxConnections: o.maxConnections } : {}) } });
  const admin = new HttpClient(server.url, server.token, 2);
  return {
    target,
    server,
    admin,
    async close() {
      admin.close();
      await server.stop();
      await target.remove();
    },
  };
}

/** A project enrollment token (POST /v1/projects/default/tokens); `autoRegister` lets unknown nodes register themselves. */
export async function enrollmentToken(admin: HttpClient, autoRegister: boolean): Promise<string> {
  const r = await admin.json<{ token: string }>('POST', '/v1/projects/default/tokens', { role: 'enrollment', autoRegister, subject: 'bench-fleet' }, 201);
  return r.token;
}

/** The project's default OS profile (label default=true), which autoProvision installs. */
export async function createDefaultOs(admin: HttpClient): Promise<void> {
  await admin.json(
    'POST',
    '/v1/projects/default/operating-systems',
    { name: 'ubuntu-22-04', labels: { default: 'true' }, spec: { imageUrl: 'https://images.example/u.img', sha256: 'a'.repeat(64), profileName: 'ubuntu', profileVersion: '22.04', osType: 'mutable', architecture: 'x86_64' } },
    201,
  );
}

/**
 * A GET that survives one lost connection: the keep-alive socket of a poll that sat idle through
 * a long ramp may be closed by the server just as it is reused (ECONNRESET).
 */
async function getJson<T>(admin: HttpClient, path: string): Promise<T> {
  try {
    return await admin.json<T>('GET', path, undefined, 200);
  } catch (e) {
    if (!/ECONNRESET|socket hang up|EPIPE/.test((e as Error).message)) throw e;
    return admin.json<T>('GET', path, undefined, 200);
  }
}

/** The store's revision now (from a one-item list). */
export async function headRevision(admin: HttpClient): Promise<number> {
  return (await getJson<{ revision: number }>(admin, '/v1/projects/default/hosts?pageSize=1')).revision;
}

/** How many resources of a collection (`hosts`, `instances`) match `filter` now (all without one). */
export async function countMatching(admin: HttpClient, path: string, filter?: string): Promise<number> {
  return (await getJson<{ totalSize: number }>(admin, `/v1/projects/default/${path}?pageSize=1${filter ? `&filter=${encodeURIComponent(filter)}` : ''}`)).totalSize;
}

/**
 * Registers one Host per node identity by uuid (as a user would before the nodes enrol), 16 at a
 * time, each writer with an editor token of its own. Answers host id by node index.
 * @example await registerHosts(server, sim identities, { desiredState: 'onboarded', autoProvision: true })
 */
export async function registerHosts(server: ServerProcess, nodes: SimNodeIdentity[], spec: Record<string, unknown>): Promise<string[]> {
  const clients = 16;
  const http = new HttpClient(server.url, await clientTokens(server.url, server.token, 'editor', clients), clients);
  const ids: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = next++; i < nodes.length; i = next++) {
          const n = nodes[i];
          const r = await http.json<{ id: string }>('POST', '/v1/projects/default/hosts', { name: n.hostname, spec: { uuid: n.uuid, ...spec } }, 201, c);
          ids[i] = r.id;
        }
      }),
    );
  } finally {
    http.close();
  }
  return ids;
}

/**
 * Polls `done` every 100 ms until it holds or `timeoutMs` passes; `progress` is printed every 5 s.
 * Answers whether it held.
 */
export async function waitUntil(done: () => boolean, timeoutMs: number, progress: () => string): Promise<boolean> {
  const end = monoMs() + timeoutMs;
  let nextLog = monoMs() + 5000;
  while (!done()) {
    if (monoMs() > end) return false;
    if (monoMs() > nextLog) {
      process.stderr.write(`  … ${progress()}\n`);
      nextLog += 5000;
    }
    await sleep(100);
  }
  return true;
}
