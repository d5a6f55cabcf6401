import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { parseDuration } from '../duration.ts';
import { UsageError } from '../usage-error.ts';

const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('a share from 0 to 1, like 0.05');
  return n;
};
const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number ≥ 1');
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
  seed: string;
  autoRegister?: boolean;
  manifest: string;
  summaryEvery: number;
}

/** `eim sim`: a simulated fleet (simulated agents; the server, protocol and managers are real). */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run a fleet of simulated edge nodes (real agents with simulated hardware and executors) against a server')
    .addOption(new Option('--enrollment-token <token>', 'enrollment token of the project (default: made with your login token)').env('EIM_ENROLLMENT_TOKEN'))
    .addOption(new Option('--nodes <n>', 'how many nodes').default(20).argParser(count))
    .addOption(new Option('--heartbeat <duration>', 'heartbeat interval').default(10_000, '10s').argParser(ms))
    .addOption(new Option('--provision-time <duration>', 'how long a simulated OS install takes').default(2000, '2s').argParser(ms))
    .addOption(new Option('--update-time <duration>', 'how long a simulated OS update takes (download, apply, reboot, verify) (default: --provision-time)').argParser(ms))
    .addOption(new Option('--update-fail-rate <share>', 'share of OS updates failing and rolling back (default: the fail rates)').argParser(share))
    .addOption(new Option('--fail-rate <share>', 'share of commands failing recoverably (retried)').default(0).argParser(share))
    .addOption(new Option('--unrecoverable-rate <share>', 'share of commands failing for good').default(0).argParser(share))
    .addOption(new Option('--hardware-churn <rate>', 'hardware changes per node per minute').default(0).argParser(rate))
    .addOption(new Option('--seed <seed>', 'same seed, same fleet (names, uuids, serials)').default('sim'))
    .option('--auto-register', 'with a made enrollment token: unknown nodes register themselves (as onboarded)')
    .addOption(new Option('--manifest <file>', 'write the nodes as hosts to register, for eim apply -f').default('sim-hosts.yaml'))
    .addOption(new Option('--summary-every <duration>', 'progress line interval').default(5000, '5s').argParser(ms))
    .addHelpText(
      'after',
      `
Without --auto-register the nodes wait until their hosts are registered (they retry enrolment):
  eim sim --nodes 20                 # writes sim-hosts.yaml
  eim apply -f sim-hosts.yaml        # registers them; they enrol
  eim host onboard --filter 'name = sim-*' --yes
  eim watch hosts instances

Examples:
  eim sim --nodes 1000 --auto-register --fail-rate 0.05 --unrecoverable-rate 0.01
  eim sim --server http://127.0.0.1:8080 --enrollment-token "$(cat enroll.token)" --nodes 50 --hardware-churn 0.1`,
    )
    .action((o: SimOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const server = ctx.connection.server ?? 'http://127.0.0.1:8080';
        let enrollmentToken = o.enrollmentToken;
        if (!enrollmentToken) {
          const token = ctx.connection.token ?? (existsSync('.eim/admin.token') ? readFileSync('.eim/admin.token', 'utf8').trim() : undefined);
          if (!token) throw new UsageError('no enrollment token: pass --enrollment-token, or eim login as an admin so one can be made');
          const { InventoryClient } = await import('../../client/index.ts');
          const inv = new InventoryClient({ server, token, retries: 3 });
          try {
            const made = await inv.transport.json<{ token: string }>({
              method: 'POST',
              path: `/v1/projects/${encodeURIComponent(ctx.project)}/tokens`,
              body: { role: 'enrollment', ttlSeconds: 86400, ...(o.autoRegister ? { autoRegister: true } : {}) },
            });
            enrollmentToken = made.token;
          } finally {
            inv.close();
          }
        }
        const { FleetSimulator } = await import('../../sim/fleet-simulator.ts');
        const sim = new FleetSimulator({
          server,
          enrollmentToken,
          nodes: o.nodes,
          seed: o.seed,
          heartbeatMs: o.heartbeat,
          provisionTimeMs: o.provisionTime,
          ...(o.updateTime !== undefined ? { updateTimeMs: o.updateTime } : {}),
          ...(o.updateFailRate !== undefined ? { updateFailRate: o.updateFailRate } : {}),
          failRate: o.failRate,
          unrecoverableRate: o.unrecoverableRate,
          hardwareChurn: o.hardwareChurn,
          log: { info() {}, warn: (m) => ctx.err.line(`warn  ${m}`), error: (m) => ctx.err.line(`error ${m}`) },
        });
        if (!o.autoRegister) {
          const docs = sim.identities().map((n) => `kind: hosts\nname: ${n.hostname}\nlabels: { simulated: "true" }\nspec:\n  uuid: ${n.uuid}\n  serialNumber: ${n.serialNumber}\n  desiredState: registered\n`);
          writeFileSync(o.manifest, docs.join('---\n'));
          ctx.err.line(`${o.nodes} simulated nodes wait to enrol in project ${ctx.project}; register them with: eim apply -f ${o.manifest}`);
        }
        const started = Date.now();
        const summary = () => {
          const s = sim.stats();
          const exits = Object.entries(s.exits).map(([k, v]) => `${v} ${k}`).join(', ');
          ctx.err.line(
            `sim ${Math.round((Date.now() - started) / 1000)}s: ${s.started}/${s.nodes} started · ${s.enrolled} enrolled · ${s.heartbeats} heartbeats · ${s.hardwareReports} hardware reports · ${s.streamConnections} stream connects${exits ? ` · exited: ${exits}` : ''}`,
          );
        };
        const timer = setInterval(summary, o.summaryEvery);
        await sim.start();
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        clearInterval(timer);
        ctx.err.line('stopping the simulated fleet…');
        await sim.stop();
        summary();
      }),
    );
}
