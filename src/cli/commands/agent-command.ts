import path from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { byteSize } from './server-command.ts';
import { splitServers } from '../cli-context.ts';
import { type Command, Option } from 'commander';
import { readCaFile } from '../../client/tls-trust.ts';
import { parseDuration } from '../duration.ts';
import { UsageError } from '../usage-error.ts';

/** Exit code of `eim agent` when only an operator can help: the host was revoked, or enrollment was refused. */
export const AGENT_EXIT_NEEDS_ENROLLMENT = 3;

const HELP = `
The agent enrolls with the enrollment token once and keeps its own host-bound token in
<data-dir>/agent.json (mode 0600); later starts need no enrollment token. The token has a
lifetime (the server's --agent-token-ttl, 24 h by default): the agent renews it well before it
expires and saves the new one in agent.json. An agent offline for longer finds its token expired
and exits 1; started again with an enrollment token, it enrols again as the same host. It heartbeats, reports
the machine's hardware (again whenever a rescan finds a change), and runs the commands the server
sends on its stream, each at most once (the last 1000 are remembered in <data-dir>/commands.json).

--server and --ca-file are global flags; the agent also reads EIM_AGENT_SERVER and EIM_AGENT_CA_FILE
(before EIM_SERVER and EIM_CA_FILE). With an https server the agent trusts Node's root certificates
and the --ca-file CA; it refuses a server whose certificate neither signed. Against a server with
mutual TLS for agents (eim server --agent-ca-cert), the agent makes a key and a certificate request
at enrolment, keeps the key and the certificate the server signed in <data-dir>/agent-tls.pem
(mode 0600; the key never leaves the machine), presents it on every call, and renews it before it
expires. A refused certificate (expired while offline, lost, from another CA) exits 1 like an
expired token: started again with an enrollment token, the agent enrols again.
Every flag has an EIM_AGENT_* variable: EIM_AGENT_ENROLLMENT_TOKEN, EIM_AGENT_ENROLLMENT_TOKEN_FILE,
EIM_AGENT_DATA_DIR, EIM_AGENT_HEARTBEAT, EIM_AGENT_RESCAN, EIM_AGENT_EXECUTOR,
EIM_AGENT_ALLOW_DISRUPTIVE (1/true/yes), EIM_AGENT_TARGET_DISK, EIM_AGENT_ROOT.

Executors:
  linux  runs commands on this machine. Power off/reset/power-cycle, install-os, update-os and
         wipe are disruptive: without --allow-disruptive nothing is run; the command succeeds as a
         dry run whose result lists the exact commands it would have run. Writing a disk
         (install-os, wipe) also needs --target-disk, the only disk the agent will ever write.
         power on needs no action; apply-config writes <data-dir>/config.json.
         Node configuration (local accounts, SSH keys, sudo, files, cloud-init) runs useradd,
         usermod, userdel, groupadd, chown, visudo and cloud-init only with --allow-node-config;
         without it each item is a dry run reporting those commands. --root DIR takes every path
         (/etc/passwd, ~/.ssh/authorized_keys, /etc/sudoers.d, files) relative to DIR and writes
         the files there, so the result can be inspected without touching the machine.
  sim    pretends (2 s per command), for trying the control plane on any machine.

Exit codes: 0 stopped (SIGINT/SIGTERM), 1 error or the agent token expired (a restart enrols
again), 2 usage, 3 the host was invalidated or deleted (the token is gone) or enrollment was
refused: re-enrolling needs a new enrollment token.
The systemd unit (deploy/eim-agent.service) does not restart on 2 or 3.

Examples:
  eim agent --server https://eim.example.com --enrollment-token-file /etc/eim-agent/enrollment-token
  eim agent --server https://eim.internal:8443 --ca-file /etc/eim-agent/ca.pem --enrollment-token-file /etc/eim-agent/enrollment-token
  eim agent --server http://127.0.0.1:8080 --enrollment-token "$TOKEN" --data-dir ./.eim-agent --executor sim
  eim agent --server https://eim.example.com --allow-disruptive --target-disk /dev/nvme0n1
  eim agent --server https://eim.example.com --allow-node-config

  eim agent --server https://eim-1.example.com,https://eim-2.example.com --enrollment-token-file /etc/eim-agent/enrollment-token   # fails over`;

/** `eim agent`: the edge node agent on this machine. */
export function registerAgentCommand(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run the edge node agent: enroll, heartbeat, report hardware, run commands from the server');
  // The program's global --server is parsed by the program, wherever it stands; declare our own only without one.
  if (!program.options.some((o) => o.long === '--server')) cmd.addOption(new Option('--server <url>', 'eim server URL (several: repeated or comma-separated)').env('EIM_AGENT_SERVER').argParser((v: string, previous?: string) => (previous ? `${previous},${v}` : v)));
  if (!program.options.some((o) => o.long === '--ca-file')) cmd.addOption(new Option('--ca-file <file>', "trust this CA (PEM) for an https server, besides Node's root certificates").env('EIM_AGENT_CA_FILE'));
  cmd
    .addOption(new Option('--enrollment-token <token>', 'enrollment token (needed until the agent has enrolled)').env('EIM_AGENT_ENROLLMENT_TOKEN'))
    .addOption(new Option('--enrollment-token-file <file>', 'read the enrollment token from this file (keeps it off the command line)').env('EIM_AGENT_ENROLLMENT_TOKEN_FILE'))
    .addOption(new Option('--data-dir <dir>', 'agent.json, command journal, config, images (default: $STATE_DIRECTORY, else /var/lib/eim-agent as root, else ./.eim-agent)').env('EIM_AGENT_DATA_DIR'))
    .addOption(new Option('--heartbeat <duration>', 'heartbeat interval').env('EIM_AGENT_HEARTBEAT').default('10s'))
    .addOption(new Option('--rescan <duration>', 'hardware rescan interval; changes are reported').env('EIM_AGENT_RESCAN').default('60s'))
    .addOption(new Option('--executor <kind>', 'how commands run').choices(['linux', 'sim']).env('EIM_AGENT_EXECUTOR').default('linux'))
    .addOption(new Option('--telemetry-buffer <size>', 'bytes of metrics and logs kept on disk while the server is away (the oldest batches go first past it, counted and reported)').env('EIM_AGENT_TELEMETRY_BUFFER').default('64MiB'))
    .addOption(new Option('--allow-disruptive', 'let the linux executor power off, reboot, reinstall, update and wipe (default: dry runs)'))
    .addOption(new Option('--target-disk <device>', 'the one disk install-os and wipe may write, e.g. /dev/nvme0n1').env('EIM_AGENT_TARGET_DISK'))
    .addOption(new Option('--allow-node-config', 'let the linux executor create, change and remove accounts, sudoers files, files and run cloud-init (default: dry runs that report the commands)'))
    .addOption(new Option('--root <dir>', 'node configuration takes every path relative to this directory, and writes its files there even without --allow-node-config').env('EIM_AGENT_ROOT'))
    .addHelpText('after', HELP)
    .action(async (o: RawOptions, command: Command) => {
      const options = resolveOptions(o, command);
      const { Agent, LinuxDiscovery, LinuxExecutor, LinuxLogs, LinuxMetrics, nodeSystemAccess, SimExecutor, streamLog } = await import('../../agent/index.ts');
      const log = streamLog();
      const executor =
        options.executor === 'sim' ? new SimExecutor() : new LinuxExecutor({ dataDir: options.dataDir, allowDisruptive: options.allowDisruptive, targetDisk: options.targetDisk, allowNodeConfig: options.allowNodeConfig, root: options.root });
      if (options.executor === 'linux') {
        log.info(
          options.allowDisruptive
            ? `linux executor: disruptive commands RUN${options.targetDisk ? `; install-os and wipe write ${options.targetDisk}` : '; writing a disk stays a dry run (no --target-disk)'}`
            : 'linux executor: disruptive commands are dry runs (no --allow-disruptive)',
        );
        log.info(
          `linux executor: node configuration ${options.allowNodeConfig ? 'RUNS' : 'is a dry run (no --allow-node-config): it reports the commands it would run'}${options.root ? `; every path is under ${options.root}` : ''}`,
        );
      }
      const telemetry = { metrics: new LinuxMetrics(nodeSystemAccess), logs: new LinuxLogs(nodeSystemAccess) };
      const agent = new Agent({ ...options, discovery: new LinuxDiscovery(), executor, log, telemetry });
      const stop = () => agent.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // The agent has logged why it ended (revoked, refused); the exit code tells systemd.
      const exit = await agent.run();
      process.exit(exit.reason === 'stopped' ? 0 : exit.reason === 'expired' ? 1 : AGENT_EXIT_NEEDS_ENROLLMENT);
    });
}

interface RawOptions {
  server?: string;
  enrollmentToken?: string;
  enrollmentTokenFile?: string;
  dataDir?: string;
  heartbeat: string;
  rescan: string;
  telemetryBuffer: string;
  executor: 'linux' | 'sim';
  allowDisruptive?: boolean;
  targetDisk?: string;
  allowNodeConfig?: boolean;
  root?: string;
}

export interface AgentCommandOptions {
  /** One server, or several to fail over between. */
  server: string | readonly string[];
  /** The --ca-file's PEM text. */
  ca?: string;
  enrollmentToken?: string;
  dataDir: string;
  heartbeatMs: number;
  rescanMs: number;
  telemetryBufferBytes: number;
  executor: 'linux' | 'sim';
  allowDisruptive: boolean;
  targetDisk?: string;
  allowNodeConfig: boolean;
  root?: string;
}

/**
 * Flags, then EIM_AGENT_* variables, then defaults, checked; a UsageError (exit 2) says what is wrong.
 * @example resolveOptions(cmd.opts(), cmd).heartbeatMs // 10000
 */
export function resolveOptions(o: RawOptions, command: Command, env: NodeJS.ProcessEnv = process.env): AgentCommandOptions {
  const globals = command.optsWithGlobals<{ server?: string; caFile?: string }>();
  const fromCli = (name: string) => command.parent?.getOptionValueSource(name) === 'cli' || command.getOptionValueSource(name) === 'cli';
  const server = fromCli('server') ? globals.server : (env.EIM_AGENT_SERVER ?? globals.server);
  const caFile = fromCli('caFile') ? globals.caFile : (env.EIM_AGENT_CA_FILE ?? globals.caFile);
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readCaFile(caFile);
    } catch (e) {
      throw new UsageError(`--ca-file: ${(e as Error).message}`);
    }
  }
  const servers = splitServers(server);
  if (servers.length === 0) throw new UsageError('no server: pass --server URL (or set EIM_AGENT_SERVER)');
  for (const u of servers) if (!/^https?:\/\/[^/]/.test(u)) throw new UsageError(`--server must be an http(s) URL (got "${u}")`);
  if (o.enrollmentToken && o.enrollmentTokenFile) throw new UsageError('give --enrollment-token or --enrollment-token-file, not both');
  let enrollmentToken = o.enrollmentToken;
  if (o.enrollmentTokenFile) {
    try {
      enrollmentToken = readFileSync(o.enrollmentTokenFile, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`cannot read --enrollment-token-file ${o.enrollmentTokenFile}: ${(e as Error).message}`);
    }
    if (!enrollmentToken) throw new UsageError(`--enrollment-token-file ${o.enrollmentTokenFile} is empty`);
  }
  const allowEnv = (env.EIM_AGENT_ALLOW_DISRUPTIVE ?? '').trim().toLowerCase();
  if (!['', '0', '1', 'true', 'false', 'yes', 'no'].includes(allowEnv)) throw new UsageError(`EIM_AGENT_ALLOW_DISRUPTIVE must be 1/true/yes or 0/false/no (got "${allowEnv}")`);
  const allowDisruptive = o.allowDisruptive === true || ['1', 'true', 'yes'].includes(allowEnv);
  if (o.targetDisk) {
    let isBlock = false;
    try {
      isBlock = statSync(o.targetDisk).isBlockDevice();
    } catch {
      // reported below
    }
    if (!isBlock) throw new UsageError(`--target-disk ${o.targetDisk} is not a block device on this machine`);
  }
  const dataDir = o.dataDir ?? env.STATE_DIRECTORY?.split(':')[0] ?? (process.getuid?.() === 0 ? '/var/lib/eim-agent' : '.eim-agent');
  return {
    server: servers.length === 1 ? servers[0] : servers,
    ...(ca ? { ca } : {}),
    ...(enrollmentToken ? { enrollmentToken } : {}),
    dataDir,
    heartbeatMs: parseDuration(o.heartbeat) * 1000,
    rescanMs: parseDuration(o.rescan) * 1000,
    telemetryBufferBytes: byteSize(o.telemetryBuffer),
    executor: o.executor,
    allowDisruptive,
    ...(o.targetDisk ? { targetDisk: o.targetDisk } : {}),
    allowNodeConfig: o.allowNodeConfig === true,
    ...(o.root ? { root: path.resolve(o.root) } : {}),
  };
}
