import { buildBundle, bundleIsFresh } from './cli-bundle.ts';
import { sleep } from './clock.ts';
import { clientTokens } from './client-tokens.ts';
import { fillStore } from './fill-store.ts';
import { HttpClient } from './http-client.ts';
import { withInventory } from './in-process-inventory.ts';
import { memoryOf } from './proc-stats.ts';
import { sampleHost } from './sample-host.ts';
import { ServerProcess } from './server-process.ts';
import type { StoreTarget } from './store-target.ts';
import { type ReadyBreakdown, timeToReady } from './time-to-ready.ts';
import { WatcherPool } from './watcher-pool.ts';

const WRITERS = 16;

export interface RestartOptions {
  target: StoreTarget;
  resources: number;
  /** kill -9 → restart cycles (and empty-store starts for the baseline). */
  cycles: number;
  /** Watches held open while memory is read. */
  watchers: number;
  watcherProcs: number;
  /** How long writes run before each kill -9, and again with the watches open. */
  loadMs: number;
  cpuProfDir?: string;
  managers: string;
  tag: string;
}

export interface RestartResult {
  /** Baseline: starts on the same, still empty store (after its first start). */
  emptyStarts: ReadyBreakdown[];
  /** Baseline: VmRSS of an idle server on the empty store. */
  idleRssMb: number;
  fillRate: number;
  /** A clean start on the filled store, for reference. */
  cleanStart: ReadyBreakdown;
  /** Each start after kill -9 during writes. */
  afterKill: ReadyBreakdown[];
  /** Creates acknowledged (201) before the kills, and how many of those the restarted server lacks (checked by name). */
  acked: number;
  lost: number;
  /** The last restarted server with `watchers` watches open, after `loadMs` of writes fanned out to them. */
  memory: { rssMb: number; peakMb: number };
}

/**
 * Times server starts (`node bin/eim.js server`, as an operator runs it) on an empty store
 * (baseline), fills the store in-process, then `cycles` times: 16 concurrent writers, SIGKILL
 * mid-flight, spawn again and time spawn → ready + list.
 * Then checks every acknowledged create survived, holds watches open under writes and reads RSS.
 * @example await restartAfterKill({ target, resources: 100_000, cycles: 3, watchers: 100, watcherProcs: 2, loadMs: 2000, managers: 'none', tag })
 */
export async function restartAfterKill(o: RestartOptions): Promise<RestartResult> {
  // Started as an operator starts it (`node bin/eim.js server`), so the bundle must be current.
  if (!bundleIsFresh()) buildBundle();
  const spawn = (label: string) => ServerProcess.spawn({ dataDir: o.target.dataDir, store: o.target.store, managers: o.managers, label: `${o.target.dialect}-${label}`, cpuProfDir: o.cpuProfDir, bin: true });
  const emptyStarts: ReadyBreakdown[] = [];
  let idleRssMb = NaN;
  for (let i = 0; i <= o.cycles; i++) {
    const s = await spawn(`empty-${i}`);
    try {
      const t = await timeToReady(s);
      if (i > 0) emptyStarts.push(t); // the first start also creates the project, key and admin token
      idleRssMb = memoryOf(s.pid).rssMb;
    } finally {
      await s.stop();
    }
  }

  process.stderr.write(`  filling ${o.target.dialect} with ${o.resources.toLocaleString('en-US')} Hosts (in-process, 256 concurrent creates)\n`);
  const fillRate = await withInventory(o.target, (inv) => fillStore(inv, o.resources, 256, `${o.tag}-fill`));

  let server = await spawn('filled');
  const cleanStart = await timeToReady(server);
  const afterKill: ReadyBreakdown[] = [];
  const acked: string[] = [];
  try {
    // Tokens live in the store, so the writers' tokens outlast the kills.
    const writerTokens = await clientTokens(server.url, server.token, 'editor', WRITERS);
    for (let i = 0; i < o.cycles; i++) {
      acked.push(...(await writeUntilKilled(server, writerTokens, o.loadMs, `${o.tag}-kill${i}`)));
      server = await spawn(`after-kill-${i}`);
      afterKill.push(await timeToReady(server));
    }
    const present = await namesLike(server, `${o.tag}-kill*`);
    const lost = acked.filter((n) => !present.has(n)).length;
    const memory = await memoryWithWatches(server, writerTokens, o);
    return { emptyStarts, idleRssMb, fillRate, cleanStart, afterKill, acked: acked.length, lost, memory };
  } finally {
    await server.stop();
  }
}

/** 16 writers create Hosts; after `ms` the server gets SIGKILL mid-flight. Answers the names acknowledged. */
async function writeUntilKilled(server: ServerProcess, tokens: string[], ms: number, tag: string): Promise<string[]> {
  const client = new HttpClient(server.url, tokens, WRITERS);
  const acked: string[] = [];
  let killed = false;
  let failure: Error | undefined;
  const writers = Array.from({ length: WRITERS }, async (_, c) => {
    for (let seq = 0; !killed; seq++) {
      const name = `${tag}-${c}-${seq}`;
      try {
        await client.json('POST', '/v1/projects/default/hosts', sampleHost(name), 201, c);
        acked.push(name); // a 201 is an acknowledged commit, also when it arrives as the kill lands
      } catch (e) {
        if (!killed) failure ??= e as Error;
        return;
      }
    }
  });
  await sleep(ms);
  killed = true;
  await server.kill9();
  await Promise.all(writers);
  client.close();
  if (failure) throw new Error(`a write failed before the kill: ${failure.message}`);
  return acked;
}

/** Every Host name matching the wildcard, through the list API (pages of 1,000). */
async function namesLike(server: ServerProcess, pattern: string): Promise<Set<string>> {
  const client = new HttpClient(server.url, server.token, 1);
  const names = new Set<string>();
  try {
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ filter: `name = "${pattern}"`, pageSize: '1000', ...(token ? { pageToken: token } : {}) });
      const page = await client.json<{ items: { name: string }[]; nextPageToken?: string }>('GET', `/v1/projects/default/hosts?${q}`, undefined, 200);
      for (const item of page.items) names.add(item.name);
      token = page.nextPageToken;
    } while (token);
  } finally {
    client.close();
  }
  return names;
}

async function memoryWithWatches(server: ServerProcess, tokens: string[], o: RestartOptions): Promise<{ rssMb: number; peakMb: number }> {
  const pool = await WatcherPool.open(server.url, server.token, o.watchers, o.watcherProcs);
  const client = new HttpClient(server.url, tokens, WRITERS);
  try {
    const until = Date.now() + o.loadMs;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, c) => {
        for (let seq = 0; Date.now() < until; seq++) await client.json('POST', '/v1/projects/default/hosts', sampleHost(`${o.tag}-rss-${c}-${seq}`), 201, c);
      }),
    );
    // A full page, as a console or an informer's relist would ask.
    await client.json('GET', '/v1/projects/default/hosts?pageSize=1000', undefined, 200);
    await sleep(200);
    return memoryOf(server.pid);
  } finally {
    client.close();
    pool.close();
  }
}
