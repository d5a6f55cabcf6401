import { createServer } from 'node:net';
import { call } from './http-client.ts';
import { type ServerProcess, spawnServer } from './server-process.ts';

/** A free TCP port on 127.0.0.1 (a restarted server keeps its port, so agents find it again). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A host event as the events API answers it. */
export interface HostEvent {
  type: string;
  revision: number;
  id: string;
  at: string;
  object: { name: string; spec: Record<string, unknown>; status: { hostStatus?: { message?: string }; state?: string } };
}

/**
 * Several `eim server` processes on one PostgreSQL database and one data dir, each on its own
 * fixed port: restart one (SIGTERM, then the same command), kill one (SIGKILL), read the host
 * events through any live one.
 * @example const c = await ServerCluster.start(3, { store: db.url, dataDir }); await c.restart(0); await c.kill(1); await c.close()
 */
export class ServerCluster {
  private constructor(
    private readonly args: string[],
    private readonly ports: number[],
    private readonly startMs: number,
    readonly servers: (ServerProcess | undefined)[],
  ) {}

  /** `startMs`: how long a server may take to listen (a loaded machine is slow to start one). @default 60000 */
  static async start(n: number, o: { store: string; dataDir: string; args?: string[]; startMs?: number }): Promise<ServerCluster> {
    const startMs = o.startMs ?? 60_000;
    const args = ['--store', o.store, '--data-dir', o.dataDir, ...(o.args ?? [])];
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    // The first alone: it makes the signing key and admin.token the others read.
    const first = await spawnServer([...args, '--port', String(ports[0])], startMs);
    const rest = await Promise.all(ports.slice(1).map((p) => spawnServer([...args, '--port', String(p)], startMs)));
    return new ServerCluster(args, ports, startMs, [first, ...rest]);
  }

  get urls(): string[] {
    return this.ports.map((p) => `http://127.0.0.1:${p}`);
  }

  get token(): string {
    return this.servers.find((s) => s?.token)!.token;
  }

  /** A server that runs now. */
  get live(): ServerProcess {
    const s = this.servers.find((x) => x !== undefined);
    if (!s) throw new Error('no server of the cluster runs');
    return s;
  }

  /** Stops server i as an operator would (SIGTERM) and starts it again on its port. */
  async restart(i: number): Promise<void> {
    const s = this.servers[i];
    this.servers[i] = undefined; // not `live` while it stops
    await s?.kill('SIGTERM');
    this.servers[i] = await spawnServer([...this.args, '--port', String(this.ports[i])], this.startMs);
  }

  /** Kills server i without warning (SIGKILL); it stays down. */
  async kill(i: number): Promise<void> {
    const s = this.servers[i];
    this.servers[i] = undefined;
    await s?.kill('SIGKILL');
  }

  /** Every event of these kinds (paths) of the project after `since`, through a live server. */
  async events(since: number, kinds = 'hosts', project = 'default'): Promise<HostEvent[]> {
    const out: HostEvent[] = [];
    for (let after = since; ; ) {
      const r = await call(`${this.live.url}/v1/projects/${project}/events?since=${after}&limit=1000&kinds=${kinds}`, { token: this.token });
      if (r.status !== 200) throw new Error(`events: ${r.status} ${r.body}`);
      const events = r.json.events as HostEvent[];
      if (events.length === 0) return out;
      out.push(...events);
      after = events[events.length - 1].revision;
    }
  }

  /** The store's revision now. */
  async revision(project = 'default'): Promise<number> {
    return (await call(`${this.live.url}/v1/projects/${project}/hosts?pageSize=1`, { token: this.token })).json.revision as number;
  }

  /** All output of the servers, for a failure message. */
  output(): string {
    return this.servers.map((s, i) => `--- server ${i} ---\n${s?.output().slice(-4000) ?? '(down)'}`).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s?.kill('SIGKILL')));
  }
}
