import { monoMs } from './clock.ts';
import { HttpClient, waitFor200 } from './http-client.ts';
import type { ServerProcess } from './server-process.ts';

/** How long a child server took from spawn until it served a list, and where that time went (ms). */
export interface ReadyBreakdown {
  /** spawn → GET /readyz 200 and a list answered. */
  total: number;
  /** spawn → first line of server-child.ts: node and tsx starting. */
  boot: number;
  /** Loading eim's modules (tsx transpiles them; cached on disk after the first run). */
  imports: number;
  /** startServer(): open the store, migrations, watch hub, tokens, listen. */
  startServer: number;
  /** Listening → GET /readyz answered 200 (includes reading the ready line). */
  readyz: number;
  /** → the first Host list page (20 items and totalSize) answered. */
  list: number;
  /** totalSize of the Host list. */
  hosts: number;
}

/**
 * Checks readiness the way an operator's probe would, then lists Hosts, and splits the time.
 * @example const t = await timeToReady(await ServerProcess.spawn(…))
 */
export async function timeToReady(server: ServerProcess): Promise<ReadyBreakdown> {
  await waitFor200(`${server.url}/readyz`, 30_000);
  const readyAt = monoMs();
  const client = new HttpClient(server.url, server.token, 1);
  try {
    const page = await client.json<{ totalSize: number }>('GET', '/v1/projects/default/hosts?pageSize=20', undefined, 200);
    const done = monoMs();
    const t = server.timings;
    return {
      total: done - t.spawnedAt,
      boot: t.entryAt - t.spawnedAt,
      imports: t.importedAt - t.entryAt,
      startServer: t.listeningAt - t.importedAt,
      readyz: readyAt - t.listeningAt,
      list: done - readyAt,
      hosts: page.totalSize,
    };
  } finally {
    client.close();
  }
}

/** `1,191 ms = boot 215 + imports 807 + …` for the notes. */
export function describeReady(b: ReadyBreakdown, fmt: (v: number) => string): string {
  if (Number.isNaN(b.boot)) return `${fmt(b.total)} ms = bin/eim.js server until it logged "listening" ${fmt(b.total - b.readyz - b.list)} + readyz ${fmt(b.readyz)} + list ${fmt(b.list)}`;
  return `${fmt(b.total)} ms = node+tsx boot ${fmt(b.boot)} + imports ${fmt(b.imports)} + startServer ${fmt(b.startServer)} + readyz ${fmt(b.readyz)} + list ${fmt(b.list)}`;
}
