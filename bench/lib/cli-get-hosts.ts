import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle, bundleIsFresh } from './cli-bundle.ts';
import { fillStore } from './fill-store.ts';
import { HttpClient } from './http-client.ts';
import { withInventory } from './in-process-inventory.ts';
import { distribution } from './percentiles.ts';
import { fmt, type ResultRow } from './result-row.ts';
import { median } from './row-notes.ts';
import { ServerProcess } from './server-process.ts';
import { freshTarget } from './store-target.ts';
import { type TimedRun, timedNode } from './timed-process.ts';

const TARGET_MS = 300;

export interface CliOptions {
  hosts: number;
  runs: number;
  cpuProfDir?: string;
}

/**
 * `eim get hosts` as a user runs it, with `hosts` Hosts in the project: the whole process from
 * spawn to exit (it prints every page), and spawn to its first table line, each the median of
 * `runs`. Baselines in the same run, interleaved with it: `node -e ""` and `eim --version`.
 * The server is a child process (Inventory alone) on a SQLite store filled in-process first.
 * @example const { rows } = await cliGetHostsRows({ hosts: 10_000, runs: 10 })
 */
export async function cliGetHostsRows(o: CliOptions): Promise<{ rows: ResultRow[]; details: string[] }> {
  process.stderr.write('[cli] npm run build\n');
  buildBundle();
  let rebuilds = 0;
  const target = await freshTarget('sqlite');
  try {
    process.stderr.write(`[cli] filling the store with ${o.hosts.toLocaleString('en-US')} hosts\n`);
    await withInventory(target, (inv) => fillStore(inv, o.hosts, 256, 'cli'));
    const server = await ServerProcess.spawn({ dataDir: target.dataDir, managers: 'none', label: 'cli', cpuProfDir: o.cpuProfDir });
    try {
      const admin = new HttpClient(server.url, server.token, 1);
      const { totalSize } = await admin.json<{ totalSize: number }>('GET', '/v1/projects/default/hosts?pageSize=1', undefined, 200);
      admin.close();
      if (totalSize !== o.hosts) throw new Error(`the server lists ${totalSize} hosts, not ${o.hosts}`);
      const config = join(target.dataDir, 'cli-config.json');
      writeFileSync(config, '{}\n', { mode: 0o600 }); // an empty config: server and token come from the environment
      const env = { EIM_SERVER: server.url, EIM_TOKEN: server.token, EIM_CONFIG: config };
      const kinds = {
        spawn: ['-e', ''],
        version: ['bin/eim.js', '--version'],
        get: ['bin/eim.js', 'get', 'hosts'],
      } as const;
      const runs: Record<keyof typeof kinds, TimedRun[]> = { spawn: [], version: [], get: [] };
      const one = async (k: keyof typeof kinds): Promise<TimedRun> => {
        // Others may edit src/ meanwhile; bin/eim.js would then load src/ through tsx instead.
        if (k !== 'spawn' && !bundleIsFresh()) {
          process.stderr.write('[cli] src/ changed: rebuilding the bundle\n');
          buildBundle();
          rebuilds++;
        }
        const r = await timedNode([...kinds[k]], env);
        if (r.code !== 0) throw new Error(`node ${kinds[k].join(' ')} exited ${r.code}: ${r.stderr.slice(0, 500)}`);
        if (k === 'get' && r.lines !== o.hosts + 1) throw new Error(`eim get hosts printed ${r.lines} lines, not ${o.hosts + 1} (a header and a line per host)`);
        return r;
      };
      process.stderr.write(`[cli] ${o.runs} timed runs of each (after one untimed)\n`);
      for (const k of Object.keys(kinds) as (keyof typeof kinds)[]) await one(k); // disk cache and compile cache warm
      for (let i = 0; i < o.runs; i++) for (const k of Object.keys(kinds) as (keyof typeof kinds)[]) runs[k].push(await one(k));
      if (o.cpuProfDir) await timedNode(['--cpu-prof', '--cpu-prof-dir', join(o.cpuProfDir, 'cli'), ...kinds.get], env);

      const mid = (k: keyof typeof kinds, f: (r: TimedRun) => number) => median(runs[k].map(f));
      const spawnMs = mid('spawn', (r) => r.exitMs);
      const versionMs = mid('version', (r) => r.exitMs);
      const getExit = mid('get', (r) => r.exitMs);
      const getFirst = mid('get', (r) => r.firstLineMs);
      const each = (k: keyof typeof kinds, f: (r: TimedRun) => number) => runs[k].map((r) => fmt(f(r))).join(', ');
      const n = o.hosts.toLocaleString('en-US');
      const fresh = rebuilds === 0 ? 'the esbuild bundle (dist/) fresh for every run' : `the esbuild bundle; src/ changed during the run and it was rebuilt ${rebuilds}× before a run`;
      const rows: ResultRow[] = [
        { metric: 'node -e "" (baseline)', dialect: 'sqlite', value: spawnMs, unit: 'ms', notes: `spawn → exit, median of ${o.runs}; max ${fmt(distribution(runs.spawn.map((r) => r.exitMs)).max)} ms` },
        { metric: 'eim --version (baseline)', dialect: 'sqlite', value: versionMs, unit: 'ms', baseline: { value: spawnMs, label: 'node -e ""' }, notes: `spawn → exit, median of ${o.runs}; ${fresh}` },
        {
          metric: `eim get hosts, ${n} hosts: first table line`,
          dialect: 'sqlite',
          value: getFirst,
          unit: 'ms',
          baseline: { value: versionMs, label: 'eim --version' },
          target: { op: '<=', value: TARGET_MS, label: 'first page shown, whole process' },
          notes: `spawn → first line on stdout (the header, written with the first page of 200), median of ${o.runs}`,
        },
        {
          metric: `eim get hosts, ${n} hosts: whole process`,
          dialect: 'sqlite',
          value: getExit,
          unit: 'ms',
          baseline: { value: versionMs, label: 'eim --version' },
          notes: `spawn → exit after all ${n} lines, median of ${o.runs}`,
        },
      ];
      const details = [
        `node -e "" each (ms): ${each('spawn', (r) => r.exitMs)}`,
        `eim --version each (ms): ${each('version', (r) => r.exitMs)}`,
        `eim get hosts first line each (ms): ${each('get', (r) => r.firstLineMs)}`,
        `eim get hosts exit each (ms): ${each('get', (r) => r.exitMs)}`,
      ];
      return { rows, details };
    } finally {
      await server.stop();
    }
  } finally {
    await target.remove();
  }
}
