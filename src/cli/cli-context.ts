import type { Command } from 'commander';
import type { KindDef } from '../api/index.ts';
import type { InventoryClient } from '../client/index.ts';
import { type CliConfig, configPath, loadConfig } from './cli-config.ts';
import { terminalOf, type Terminal } from './output/terminal.ts';
import { UsageError } from './usage-error.ts';

/** Where and as whom commands talk: flags, then EIM_* variables, then the config file. */
export interface Connection {
  /** The (first) server. */
  server?: string;
  /** Every server given (--server repeated or comma-separated): agents and the simulator fail over between them. */
  servers?: string[];
  token?: string;
  /** @default the config's project, else 'default' */
  project: string;
  /** A CA file trusted for an https server, besides Node's root certificates. */
  caFile?: string;
  configPath: string;
  config: CliConfig;
}

interface GlobalOptions {
  server?: string;
  token?: string;
  project?: string;
  caFile?: string;
}

/**
 * What every command's action works with: the connection, stdout and stderr as Terminals, and a
 * client created (and its module loaded) on first use, so commands that never call the server
 * never pay for it.
 * @example .action((kind, o, cmd) => CliContext.run(cmd, async (ctx) => { const inv = await ctx.client(); … }))
 */
export class CliContext {
  readonly out: Terminal = terminalOf(process.stdout);
  readonly err: Terminal = terminalOf(process.stderr);
  private clientPromise?: Promise<InventoryClient>;

  constructor(readonly connection: Connection) {}

  /**
   * The context of a command: its global options over the environment (commander reads EIM_*)
   * over the config. `tolerateBrokenConfig`: read a config that is not valid JSON as empty
   * (login replaces it).
   */
  static of(command: Command, o: { tolerateBrokenConfig?: boolean } = {}): CliContext {
    const g = command.optsWithGlobals<GlobalOptions>();
    const path = configPath();
    let config: CliConfig;
    try {
      config = loadConfig(path);
    } catch (e) {
      if (!o.tolerateBrokenConfig) throw e;
      config = {};
    }
    const servers = splitServers(g.server ?? config.server);
    return new CliContext({
      server: servers[0],
      servers,
      token: g.token ?? config.token,
      project: g.project ?? config.project ?? 'default',
      caFile: g.caFile ?? config.caFile,
      configPath: path,
      config,
    });
  }

  /** Runs an action with a context and releases its connections afterwards. */
  static async run(command: Command, action: (ctx: CliContext) => Promise<void>, o: { tolerateBrokenConfig?: boolean } = {}): Promise<void> {
    const ctx = CliContext.of(command, o);
    try {
      await action(ctx);
    } finally {
      await ctx.close();
    }
  }

  get project(): string {
    return this.connection.project;
  }

  /** The Inventory over HTTP, for the configured server and token (`retries` on the first call only). */
  client(o: { retries?: number } = {}): Promise<InventoryClient> {
    this.clientPromise ??= (async () => {
      const { server, token } = this.connection;
      if (!server) throw new UsageError('no server: run `eim login --server URL --token TOKEN`, set EIM_SERVER or pass --server');
      if (!token) throw new UsageError('no token: run `eim login --server URL --token TOKEN`, set EIM_TOKEN or pass --token');
      const { InventoryClient } = await import('../client/index.ts');
      // Several servers (--server a,b): a request goes to the next when one cannot be reached.
      return new InventoryClient({ server, fallbacks: this.connection.servers?.slice(1), token, retries: o.retries ?? 3, ca: await this.ca() });
    })();
    return this.clientPromise;
  }

  /** The PEM text of the CA file, when one is configured; a UsageError when it cannot be used. */
  async ca(): Promise<string | undefined> {
    const file = this.connection.caFile;
    if (!file) return undefined;
    const { readCaFile } = await import('../client/tls-trust.ts');
    try {
      return readCaFile(file);
    } catch (e) {
      throw new UsageError(`--ca-file: ${(e as Error).message}`);
    }
  }

  /** The kind a user typed (`hosts`, `host`, `Host`); a UsageError for an unknown one. */
  async kind(text: string): Promise<KindDef> {
    const { resolveKind } = await import('./kind-resolver.ts');
    return resolveKind(text);
  }

  async close(): Promise<void> {
    const client = await this.clientPromise?.catch(() => undefined);
    client?.close();
  }
}

/**
 * The servers of a `--server` value: several given repeated or comma-separated.
 * @example splitServers('http://a:8080,http://b:8080') // ['http://a:8080', 'http://b:8080']
 */
export function splitServers(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
