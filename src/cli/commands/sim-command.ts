import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { InventoryClient } from '../../client/index.ts';
import type { SimNodeIdentity } from '../../sim/fleet-simulator.ts';
import { CliContext } from '../cli-context.ts';
import { parseDuration } from '../duration.ts';
import { boundHeapGrowth, heapGrowthOption } from '../heap-growth.ts';
import { plural } from '../output/plural.ts';
import { UsageError } from '../usage-error.ts';

const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('a share from 0 to 1, like 0.05');
  return n;
};
const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('a whole number from 1 to 100000');
  return n;
};
const rate = (v: string) => {
  const n = Number(v);
  if (!(n >= 0)) throw new InvalidArgumentError('a number ≥ 0');
  return n;
};
const ms = (v: string) => {
  try {
    return parseDuration(v) * 1000;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const prefixName = (v: string) => {
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]{0,60}[A-Za-z0-9])?$/.test(v)) throw new InvalidArgumentError('letters, digits, dot, dash and underscore (at most 62), starting and ending with a letter or digit');
  return v;
};

interface SimOptions {
  enrollmentToken?: string;
  nodes: number;
  heartbeat: number;
  provisionTime: number;
  updateTime?: number;
  updateFailRate?: number;
  failRate: number;
  unrecoverableRate: number;
  hardwareChurn: number;
  prefix?: string;
  seed?: string;
  autoRegister?: boolean;
  manifest?: string;
  stateDir?: string;
  forgetRevoked?: boolean;
  verbose?: boolean;
  summaryEvery: number;
  heapGrowth: number;
}

/** Where the simulator keeps its memory and manifests: $XDG_STATE_HOME/eim/sim, else ~/.local/state/eim/sim. */
export function defaultSimStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'eim', 'sim');
}

/** `eim sim`: a simulated fleet (simulated agents; the server, protocol and managers are real). */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run a fleet of simulated edge nodes (real agents with simulated hardware and executors) against a server')
    .addOption(new Option('--enrollment-token <token>', 'enrollment token of the project (default: made with your login token)').env('EIM_ENROLLMENT_TOKEN'))
    .addOption(new Option('--nodes <n>', 'how many nodes').default(20).argParser(count))
    .addOption(new Option('--prefix <name>', 'node names are <prefix>-00000, <prefix>-00001, … (default: a new sim-xxxx each run, so runs never collide)').argParser(prefixName))
    .addOption(new Option('--seed <seed>', 'machines (uuids, serials, MACs) derive from it: same seed, same fleet (default: the prefix)'))
    .addOption(new Option('--heartbeat <duration>', 'heartbeat interval').default(10_000, '10s').argParser(ms))
    .addOption(new Option('--provision-time <duration>', 'how long a simulated OS install takes').default(2000, '2s').argParser(ms))
    .addOption(new Option('--update-time <duration>', 'how long a simulated OS update takes (download, apply, reboot, verify) (default: --provision-time)').argParser(ms))
    .addOption(new Option('--update-fail-rate <share>', 'share of OS updates failing and rolling back (default: the fail rates)').argParser(share))
    .addOption(new Option('--fail-rate <share>', 'share of commands failing recoverably (retried)').default(0).argParser(share))
    .addOption(new Option('--unrecoverable-rate <share>', 'share of commands failing for good').default(0).argParser(share))
    .addOption(new Option('--hardware-churn <rate>', 'hardware changes per node per minute').default(0).argParser(rate))
    .option('--auto-register', 'with a made enrollment token: unknown nodes register themselves (as onboarded)')
    .addOption(new Option('--manifest <path>', 'where to write the hosts to register, for eim apply -f (default: <state-dir>/<prefix>/hosts.yaml); a file you changed is never overwritten'))
    .addOption(new Option('--state-dir <dir>', "the simulator's memory: nodes whose hosts were deleted stay off, the OS each runs (default: $XDG_STATE_HOME/eim/sim, else ~/.local/state/eim/sim)").env('EIM_SIM_STATE_DIR'))
    .option('--forget-revoked', 'start the nodes whose hosts were deleted or invalidated in an earlier run, as new machines')
    .option('-v, --verbose', "each node's warnings, one line each (default: summed up per interval)")
    .addOption(new Option('--summary-every <duration>', 'progress line interval').default(5000, '5s').argParser(ms))
    .addOption(heapGrowthOption())
    .addHelpText(
      'after',
      `
Each run picks a new prefix (sim-xxxx) unless given one, and prints it: two runs never collide,
and --prefix (or --seed) brings the same nodes back. Without --auto-register the nodes wait until
their hosts are registered (they retry enrolment); the simulator writes the hosts not registered
yet to --manifest (never over a file you changed: then to hosts.1.yaml beside it, and it says so):
  eim sim --nodes 20 --prefix line1 --manifest sim-hosts.yaml
  eim apply -f sim-hosts.yaml        # registers them; they enrol
  eim host onboard --filter 'name = line1-*' --yes
  eim watch hosts instances

The nodes behave like machines: an OS install or update changes the OS their hardware reports; a
node powered off goes silent (no heartbeats, its stream closed) until its host's desiredPowerState
asks for on, reset or power-cycle again (the simulator's out-of-band power control, which needs
your login); reset and power-cycle reboot it. A node whose host was deleted or invalidated stops,
and stays off in later runs with the same prefix (the memory in --state-dir; --forget-revoked).
Warnings are summed up per interval ("30 nodes waiting to enrol"); --verbose shows each.

Examples:
  eim sim --nodes 1000 --auto-register --fail-rate 0.05 --unrecoverable-rate 0.01
  eim sim --server http://127.0.0.1:8080 --enrollment-token "$(cat enroll.token)" --nodes 50 --hardware-churn 0.1
  eim sim --server https://127.0.0.1:8443 --ca-file ca.pem --nodes 100 --auto-register
  eim sim --server http://10.0.0.1:8080,http://10.0.0.2:8080 --nodes 300 --auto-register   # spread across two servers; each node fails over`,
    )
    .action((o: SimOptions, cmd: Command) => CliContext.run(cmd, (ctx) => simulate(ctx, o)));
}

async function simulate(ctx: CliContext, o: SimOptions): Promise<void> {
  boundHeapGrowth(o.heapGrowth);
  const server = ctx.connection.server ?? 'http://127.0.0.1:8080';
  const ca = await ctx.ca();
  const userToken = ctx.connection.token ?? (existsSync('.eim/admin.token') ? readFileSync('.eim/admin.token', 'utf8').trim() : undefined);
  if (!o.enrollmentToken && !userToken) throw new UsageError('no enrollment token: pass --enrollment-token, or eim login as an admin so one can be made');
  const prefix = o.prefix ?? o.seed ?? `sim-${randomBytes(2).toString('hex')}`;
  const seed = o.seed ?? prefix;
  const stateDir = join(o.stateDir ?? defaultSimStateDir(), prefix);
  const { InventoryClient } = await import('../../client/index.ts');
  // Several servers: the enrollment token, the manifest and the out-of-band power control go to whichever answers.
  const inv = userToken ? new InventoryClient({ server, fallbacks: ctx.connection.servers?.slice(1), token: userToken, retries: 3, ca }) : undefined;
  try {
    const enrollmentToken = o.enrollmentToken ?? (await makeEnrollmentToken(inv!, ctx.project, !!o.autoRegister));
    const { FleetSimulator } = await import('../../sim/fleet-simulator.ts');
    const { SimMemory } = await import('../../sim/sim-memory.ts');
    const { SimLog } = await import('../../sim/sim-log.ts');
    const memory = new SimMemory(join(stateDir, 'fleet.json'), `${server} ${ctx.project}`);
    if (o.forgetRevoked) {
      const n = memory.forgetRevoked();
      if (n > 0) ctx.err.line(`forgot ${plural(n, 'revoked node')}: they start as new machines`);
    }
    const log = new SimLog((l) => ctx.err.line(l), !!o.verbose);
    const servers = ctx.connection.servers?.length ? ctx.connection.servers : [server];
    const sim = new FleetSimulator({
      server: servers,
      ...(ca ? { ca } : {}),
      enrollmentToken,
      nodes: o.nodes,
      prefix,
      seed,
      heartbeatMs: o.heartbeat,
      provisionTimeMs: o.provisionTime,
      ...(o.updateTime !== undefined ? { updateTimeMs: o.updateTime } : {}),
      ...(o.updateFailRate !== undefined ? { updateFailRate: o.updateFailRate } : {}),
      failRate: o.failRate,
      unrecoverableRate: o.unrecoverableRate,
      hardwareChurn: o.hardwareChurn,
      silentWhenOff: true,
      memory,
      logFor: (node) => log.forNode(node),
    });
    const nodes = sim.identities();
    const last = nodes[nodes.length - 1].hostname;
    ctx.err.line(`eim sim: ${plural(o.nodes, 'node')} ${nodes[0].hostname}${nodes.length > 1 ? ` … ${last}` : ''} in project ${ctx.project} on ${servers.join(', ')} (the same nodes again: eim sim --prefix ${prefix}${seed !== prefix ? ` --seed ${seed}` : ''})`);
    const keptOff = sim.revokedEarlier();
    if (keptOff.length > 0) {
      const names = keptOff.slice(0, 5).map((k) => k.hostname).join(', ') + (keptOff.length > 5 ? ', …' : '');
      ctx.err.line(`${plural(keptOff.length, 'node')} stay off: their hosts were deleted or invalidated in an earlier run (${names}); --forget-revoked starts them as new machines`);
    }
    if (!o.autoRegister) await prepareManifest(ctx, inv, nodes.filter((n) => !keptOff.some((k) => k.index === n.index)), o.manifest ?? join(stateDir, 'hosts.yaml'), prefix);
    else ctx.err.line('unknown nodes register themselves as onboarded hosts (--auto-register)');

    let bmc: import('../../sim/sim-bmc.ts').SimBmc | undefined;
    if (inv) {
      const { SimBmc } = await import('../../sim/sim-bmc.ts');
      bmc = new SimBmc(inv, ctx.project, sim, (m) => log.say(`warn  ${m}`));
      void bmc.run();
    } else ctx.err.line('no login token: a node powered off stays off until the simulator restarts (its out-of-band power control needs to read hosts)');

    const started = Date.now();
    const summary = () => {
      const s = sim.stats();
      const exits = Object.entries(s.exits).map(([k, v]) => `${v} ${k}`).join(', ');
      const parts = [
        `${s.started}/${s.nodes} started`,
        `${s.enrolled} enrolled`,
        ...(s.waiting ? [`${s.waiting} waiting to enrol`] : []),
        ...(s.off ? [`${s.off} powered off`] : []),
        ...(s.keptOff ? [`${s.keptOff} kept off (revoked)`] : []),
        plural(s.heartbeats, 'heartbeat'),
        plural(s.hardwareReports, 'hardware report'),
        ...(exits ? [`exited: ${exits}`] : []),
      ];
      ctx.err.line(`sim ${Math.round((Date.now() - started) / 1000)}s: ${parts.join(' · ')}`);
      log.flush();
    };
    const timer = setInterval(summary, o.summaryEvery);
    await sim.start();
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(timer);
    ctx.err.line('stopping the simulated fleet…');
    bmc?.stop();
    await sim.stop();
    summary();
  } finally {
    inv?.close();
  }
}

async function makeEnrollmentToken(inv: InventoryClient, project: string, autoRegister: boolean): Promise<string> {
  const made = await inv.transport.json<{ token: string }>({
    method: 'POST',
    path: `/v1/projects/${encodeURIComponent(project)}/tokens`,
    body: { role: 'enrollment', ttlSeconds: 86400, subject: 'eim-sim', ...(autoRegister ? { autoRegister: true } : {}) },
  });
  return made.token;
}

/**
 * Says which nodes still need their hosts registered and writes those to the manifest. With a
 * login it asks the server which are registered already (those enrol at once: they are never
 * reported as waiting); without one it cannot tell, and writes every node.
 */
async function prepareManifest(ctx: CliContext, inv: InventoryClient | undefined, nodes: SimNodeIdentity[], path: string, prefix: string): Promise<void> {
  let registered = new Set<string>();
  if (inv) {
    const { listMatching } = await import('../resource-lookup.ts');
    const { resolveKind } = await import('../kind-resolver.ts');
    const hosts = await listMatching(inv, ctx.project, resolveKind('Host'), { filter: `name = ${JSON.stringify(`${prefix}-*`)}` });
    registered = new Set(hosts.items.map((h) => h.name));
  }
  const missing = nodes.filter((n) => !registered.has(n.hostname));
  const already = nodes.length - missing.length;
  if (missing.length === 0) {
    ctx.err.line(`all ${plural(nodes.length, 'node')} are registered as hosts already: they enrol now (no manifest written)`);
    return;
  }
  const { manifestText, writeManifest } = await import('../../sim/sim-manifest.ts');
  const w = writeManifest(path, manifestText(missing, prefix));
  if (w.outcome === 'kept') ctx.err.line(`${w.asked} was changed since eim sim wrote it (or is not its own): left as it is`);
  const registeredNote = already ? `; ${already} registered already enrol now` : '';
  ctx.err.line(`${plural(missing.length, 'node')} wait to enrol until their hosts are registered${registeredNote}: eim apply -f ${w.path}`);
}
