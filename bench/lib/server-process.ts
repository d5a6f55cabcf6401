import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childArgs } from './child-bundle.ts';
import { trackChild } from './cleanup.ts';
import { monoMs } from './clock.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * node's own options in `npm start` (`node --max-semi-space-size=64 bin/eim.js server`): server
 * children run with them, as the README's server does (docs/operations.md, Memory).
 */
export const START_NODE_OPTIONS: readonly string[] = (() => {
  const start = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
  const m = /^node((?: --[a-z-]+=\S+)*) bin\/eim\.js server$/.exec(start);
  if (!m) throw new Error(`package.json's start script is not "node [--option=value …] bin/eim.js server": ${start}`);
  return m[1].split(' ').filter(Boolean);
})();
const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

export interface ServerProcessOptions {
  dataDir: string;
  /** A postgres:// URL; the SQLite file in dataDir when absent. */
  store?: string;
  /** startServer's `managers`: 'none' or 'in-process'. */
  managers?: string;
  /** More startServer options, passed as they are (e.g. `{ rateLimitRps: 0 }`). */
  server?: Record<string, unknown>;
  /** Time every SQLite statement in the child (see sql-stats.ts); read with `sqlStats()`. */
  sqlStats?: boolean;
  /** Run the resource managers in the child with this many workers each (instead of startServer's default). */
  managerWorkers?: number;
  /** Run the child with node --cpu-prof, writing its profiles into `<cpuProfDir>/<label>/`. */
  cpuProfDir?: string;
  /**
   * Start it as a user does, `node bin/eim.js server` (the esbuild bundle when it is fresh), instead
   * of startServer() under tsx; the start is then timed as a whole (no breakdown). Only dataDir,
   * store and managers apply.
   */
  bin?: boolean;
  label: string;
}

/** Monotonic times (ms) of a child server's start, see server-child.ts. */
export interface StartTimings {
  spawnedAt: number;
  entryAt: number;
  importedAt: number;
  listeningAt: number;
  /** When this process read the child's ready line. */
  announcedAt: number;
}

/**
 * An eim server in a child process (bench/lib/server-child.ts), killed on the bench's exit.
 * @example const s = await ServerProcess.spawn({ dataDir, label: 'sqlite-http' }); … await s.stop()
 */
export class ServerProcess {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
    readonly timings: StartTimings,
    private readonly label = 'server',
    private readonly sqlStatsOn = false,
  ) {
    this.exited = child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async spawn(options: ServerProcessOptions): Promise<ServerProcess> {
    if (options.bin) return ServerProcess.spawnBin(options);
    // A directory per server: with --import tsx, the loader thread writes a profile of its own.
    const prof = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, options.label)] : [];
    const spawnedAt = monoMs();
    const child = spawn(process.execPath, [...prof, ...START_NODE_OPTIONS, ...(await childArgs(CHILD)), JSON.stringify({ dataDir: options.dataDir, store: options.store, managers: options.managers, server: options.server, sqlStats: options.sqlStats, managerWorkers: options.managerWorkers })], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    trackChild(child);
    const ready = await new Promise<{ url: string; adminTokenPath: string; entryAt: number; importedAt: number; listeningAt: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${options.label} did not start within 120 s`)), 120_000);
      const lines = createInterface({ input: child.stdout! });
      let announced = false;
      lines.on('line', (line) => {
        if (!announced && line.startsWith('{"url"')) {
          announced = true;
          clearTimeout(timer);
          resolve(JSON.parse(line));
        } else {
          process.stderr.write(`[${options.label}] ${line}\n`);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server ${options.label} exited before it listened (code ${code}, signal ${signal})`));
      });
    });
    const announcedAt = monoMs();
    const token = readFileSync(ready.adminTokenPath, 'utf8').trim();
    return new ServerProcess(child, ready.url, token, { spawnedAt, entryAt: ready.entryAt, importedAt: ready.importedAt, listeningAt: ready.listeningAt, announcedAt }, options.label, options.sqlStats ?? false);
  }

  /** `node bin/eim.js server`, ready when it logs "eim listening on <url>" (pino JSON on stdout). */
  private static async spawnBin(options: ServerProcessOptions): Promise<ServerProcess> {
    const prof = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(options.cpuProfDir, options.label)] : [];
    const args = ['bin/eim.js', 'server', '--port', '0', '--data-dir', options.dataDir, ...(options.store ? ['--store', options.store] : []), ...(options.managers ? ['--managers', options.managers] : [])];
    const spawnedAt = monoMs();
    const child = spawn(process.execPath, [...prof, ...START_NODE_OPTIONS, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    trackChild(child);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${options.label} did not start within 120 s`)), 120_000);
      const lines = createInterface({ input: child.stdout! });
      let announced = false;
      lines.on('line', (line) => {
        const m = announced ? null : /eim listening on (http:\/\/[^\s"]+)/.exec(line);
        if (m) {
          announced = true;
          clearTimeout(timer);
          resolve(m[1]);
        } else if (/"level":(40|50|60)/.test(line)) process.stderr.write(`[${options.label}] ${line}\n`);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server ${options.label} exited before it listened (code ${code}, signal ${signal})`));
      });
    });
    const announcedAt = monoMs();
    const token = readFileSync(join(options.dataDir, 'admin.token'), 'utf8').trim();
    // Only the whole start is known: boot, imports and startServer are not told apart.
    return new ServerProcess(child, url, token, { spawnedAt, entryAt: NaN, importedAt: NaN, listeningAt: announcedAt, announcedAt }, options.label);
  }

  /**
   * The child's heaviest SQLite statements since the last call (the server must have been spawned
   * with `sqlStats`); undefined when it was not.
   */
  async sqlStats(): Promise<{ totalMs: number; statements: { sql: string; calls: number; ms: number }[] } | undefined> {
    if (!this.sqlStatsOn) return undefined;
    return new Promise((resolve) => {
      const onMessage = (m: { type?: string; totalMs: number; statements: { sql: string; calls: number; ms: number }[] }) => {
        if (m?.type !== 'sql-stats') return;
        this.child.off('message', onMessage);
        resolve({ totalMs: m.totalMs, statements: m.statements });
      };
      this.child.on('message', onMessage);
      this.child.send({ cmd: 'sql-stats' });
    });
  }

  /** kill -9, and wait until it is gone. */
  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A clean shutdown (SIGTERM); SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      // Worth knowing: a server killed here writes no --cpu-prof profile.
      process.stderr.write(`server ${this.label} did not stop within 10 s of SIGTERM: killed\n`);
      this.child.kill('SIGKILL');
    }, 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
