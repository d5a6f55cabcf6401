import { type Command, Option } from 'commander';
import type { ManagersStats } from '../../managers/index.ts';
import { alertLocalReceiversOption } from '../alert-local-receivers-option.ts';
import { boundHeapGrowth, heapGrowthOption } from '../heap-growth.ts';
import { positiveInt } from '../option-parsers.ts';
import { UsageError } from '../usage-error.ts';

export interface RunManagersOptions {
  /** The eim server whose inventory the managers reconcile. */
  server: string;
  /** A manager token for every project. */
  token: string;
  /** CA certificates (PEM) trusted besides Node's root certificates, for an https server (--ca-file). */
  ca?: string;
  /** Reconciles at once, per manager. */
  workers: number;
  /**
   * Deliver alerts to receivers on this machine's own or its link's addresses (see AlertManagerOptions.allowLocalReceivers).
   * @default 'allow' when the server's URL names a loopback host, 'deny' otherwise
   */
  alertLocalReceivers?: 'allow' | 'deny';
  /** One stats line this often. */
  statsEveryMs: number;
  /** Aborting stops the managers (in-flight reconciles end first) and resolves. */
  signal: AbortSignal;
  log: (line: string) => void;
}

/**
 * The host and instance managers in this process, against a remote inventory over HTTP, until
 * `signal` aborts. Fails at once (with the server's message) on a wrong URL, token or role, rather
 * than retrying in silence.
 * @example const ac = new AbortController(); process.once('SIGTERM', () => ac.abort()); await runManagers({ server, token, workers: 4, statsEveryMs: 60_000, signal: ac.signal, log: console.log })
 */
export async function runManagers(o: RunManagersOptions): Promise<void> {
  // Loaded here: `eim --help` and the other commands do not pay for the managers.
  const { ALL_PROJECTS } = await import('../../api/index.ts');
  const { InventoryClient } = await import('../../client/index.ts');
  const { LOCAL_RECEIVERS_REFUSED, startManagers } = await import('../../managers/index.ts');
  const { isLoopbackHost } = await import('../../server/listener-options.ts');
  const inventory = new InventoryClient({ server: o.server, token: o.token, ca: o.ca });
  try {
    await inventory.list(ALL_PROJECTS, 'Host', { pageSize: 1 });
    const allowLocalReceivers = (o.alertLocalReceivers ?? (isLoopbackHost(new URL(o.server).hostname) ? 'allow' : 'deny')) === 'allow';
    const managers = await startManagers(inventory, { workers: o.workers, alerts: { allowLocalReceivers, revealSpec: (project, kind, id) => inventory.revealSpec(project, kind, id) } });
    o.log(`eim managers: reconciling every project at ${o.server} (${o.workers} workers per manager); stats every ${Math.round(o.statsEveryMs / 1000)} s`);
    if (!allowLocalReceivers) o.log(`eim managers: ${LOCAL_RECEIVERS_REFUSED}`);
    const timer = setInterval(() => o.log(statsLine(managers.stats())), o.statsEveryMs);
    try {
      if (!o.signal.aborted) await new Promise((resolve) => o.signal.addEventListener('abort', resolve, { once: true }));
    } finally {
      clearInterval(timer);
      await managers.stop();
    }
    o.log(`eim managers: stopped; ${statsLine(managers.stats())}`);
  } finally {
    inventory.close();
  }
}

/** One line of counters: cached resources, reconciles, retries, terminal failures, queues, commands. */
export function statsLine(s: ManagersStats): string {
  const c = (x: ManagersStats['host']) => `reconciles ${x.reconciles}, requeues ${x.requeues}, retries ${x.retries}, terminal ${x.terminals}, queued ${x.queueLength + x.queueDelayed}, in flight ${x.inFlight}`;
  return `hosts ${s.cached.hosts} (${c(s.host)}); instances ${s.cached.instances} (${c(s.instance)}); telemetry (${c(s.telemetry)}, ${s.telemetry.writes} configs written); commands ${s.cached.commands} open, ${s.commands.created} created, ${s.commands.deleted} removed`;
}

/** `eim managers`: the host, instance and telemetry managers as a separate process (scale-out). */
export function registerManagersCommand(program: Command): void {
  const cmd = program
    .command('managers')
    .description('run the resource managers (host, instance, maintenance windows, OS update rollout, telemetry) in this process, against a remote inventory')
    .addOption(new Option('--inventory <url>', 'eim server URL whose inventory the managers reconcile (default: --server)').env('EIM_INVENTORY'))
    .addOption(new Option('--workers <n>', 'reconciles at once, per manager').env('EIM_WORKERS').default(128).argParser(positiveInt))
    .addOption(new Option('--stats-every <seconds>', 'log a line of counters this often').default(60).argParser(positiveInt))
    .addOption(alertLocalReceiversOption('a loopback --inventory URL'))
    .addOption(heapGrowthOption());
  // The program usually has a global --token (EIM_TOKEN); a bare program gets one here.
  if (!program.options.some((opt) => opt.attributeName() === 'token')) cmd.addOption(new Option('--token <token>', 'a manager token').env('EIM_TOKEN'));
  cmd
    .addHelpText(
      'after',
      `
The token must carry the manager role for every project; an admin makes one with
  eim token create --project '*' --role manager --ttl 365d
(or POST /v1/projects/*/tokens {"role":"manager"}). Run the server with --managers none so that
only this process reconciles, and run one such process per inventory: an OS update rollout keeps
maxConcurrent within the process that runs it. SIGINT or SIGTERM stops it after the reconciles in flight.

Examples:
  eim managers --inventory http://eim.internal:8080 --token "$(cat manager.token)"
  EIM_INVENTORY=http://127.0.0.1:8080 EIM_TOKEN=… eim managers --workers 16
  eim managers --inventory https://eim.internal:8443 --ca-file ca.pem --token "$(cat manager.token)"`,
    )
    .action(async (_o: unknown, command: Command) => {
      const o = command.optsWithGlobals<{ inventory?: string; server?: string; token?: string; caFile?: string; workers: number; statsEvery: number; heapGrowth: number; alertLocalReceivers?: 'allow' | 'deny' }>();
      boundHeapGrowth(o.heapGrowth);
      const server = o.inventory ?? o.server;
      if (!server) throw new UsageError('no inventory: pass --inventory URL or set EIM_INVENTORY');
      if (!URL.canParse(server)) throw new UsageError(`--inventory: not a URL: ${server}`);
      if (!o.token) throw new UsageError('no token: pass --token or set EIM_TOKEN to a manager token (eim token create --project \'*\' --role manager)');
      let ca: string | undefined;
      if (o.caFile) {
        const { readCaFile } = await import('../../client/tls-trust.ts');
        try {
          ca = readCaFile(o.caFile);
        } catch (e) {
          throw new UsageError(`--ca-file: ${(e as Error).message}`);
        }
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await runManagers({ server, token: o.token, ca, alertLocalReceivers: o.alertLocalReceivers, workers: o.workers, statsEveryMs: o.statsEvery * 1000, signal: ac.signal, log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`) });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
