// The rollout benchmark (issue 5): a server (SQLite, managers in-process) and the fleet simulator,
// each in a child process: N hosts running an instance, an OS update policy with maxConcurrent M
// attached to all, and an os-update window opened on their site. Measured: the window time until
// every instance is updated, and the peak of updates running at once, from the run records.
// Flags: npm run bench:rollout -- --help.
import { simIdentity } from '../src/sim/fleet-simulator.ts';
import { parseBenchArgs } from './lib/bench-args.ts';
import { type ProgramResult, runBenchProgram } from './lib/bench-program.ts';
import { clientTokens } from './lib/client-tokens.ts';
import { monoMs, sleep } from './lib/clock.ts';
import { countMatching, createDefaultOs, enrollmentToken, fleetServer, registerHosts } from './lib/fleet-setup.ts';
import { HttpClient } from './lib/http-client.ts';
import { cpuSecondsOf } from './lib/proc-stats.ts';
import { fmt, type ResultRow } from './lib/result-row.ts';
import { SimProcess } from './lib/sim-process.ts';

const USAGE = `usage: npm run bench:rollout -- [options]
  --hosts <n>            hosts with an instance (default 1000)
  --max-concurrent <n>   the policy's rollout.maxConcurrent (default 100)
  --update-s <s>         simulated update time in seconds (default 2)
  --md / --no-md         write BENCHMARKS.md (default: only for a run with the defaults); --no-markdown = --no-md`;
const args = parseBenchArgs('bench:rollout', USAGE, process.argv.slice(2), { hosts: { type: 'string' }, 'max-concurrent': { type: 'string' }, 'update-s': { type: 'string' }, 'no-markdown': { type: 'boolean' } });
const HOSTS = args.flags.whole(args.values.hosts, 1000, '--hosts');
const MAX = args.flags.whole(args.values['max-concurrent'], 100, '--max-concurrent');
const UPDATE_MS = args.flags.seconds(args.values['update-s'], 2, '--update-s');
const TARGET_S = 40;
const P = '/v1/projects/default';

interface Run {
  status: { startedAt: string; endedAt?: string; phase?: string };
}

/** The most runs whose [startedAt, endedAt) overlap, from the records alone. */
function observedPeak(runs: Run[]): number {
  const edges = runs.flatMap((r) => [
    [Date.parse(r.status.startedAt), 1],
    [r.status.endedAt ? Date.parse(r.status.endedAt) : Infinity, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (cur += d));
  return peak;
}

await runBenchProgram({
  file: 'bench/rollout.ts',
  section: 'OS update rollout (issue 5)',
  command: args.command,
  writeMarkdown: !args.values['no-markdown'] && args.writeMarkdown(args.anyGivenExcept('no-markdown')),
  async run(): Promise<ProgramResult> {
    const f = await fleetServer('rollout', {});
    let sim: SimProcess | undefined;
    try {
      await createDefaultOs(f.admin);
      const target = await f.admin.json<{ id: string }>('POST', `${P}/operating-systems`, { name: 'ubuntu-24-04', spec: { imageUrl: 'https://images.example/u24.img', sha256: 'b'.repeat(64), profileName: 'ubuntu', profileVersion: '24.04', osType: 'mutable', architecture: 'x86_64' } }, 201);
      const region = await f.admin.json<{ id: string }>('POST', `${P}/regions`, { name: 'bench', spec: {} }, 201);
      const site = await f.admin.json<{ id: string }>('POST', `${P}/sites`, { name: 'bench-site', spec: { regionId: region.id } }, 201);
      const token = await enrollmentToken(f.admin, false);
      const identities = Array.from({ length: HOSTS }, (_, i) => simIdentity('roll', i));
      process.stderr.write(`[rollout] registering ${HOSTS} hosts and starting their nodes (${UPDATE_MS / 1000} s installs and updates)\n`);
      await registerHosts(f.server, identities, { desiredState: 'onboarded', autoProvision: true, siteId: site.id });
      sim = await SimProcess.spawn({ server: f.server.url, enrollmentToken: token, nodes: HOSTS, seed: 'roll', heartbeatMs: 10_000, provisionTimeMs: UPDATE_MS, startRate: 500, label: 'sim-rollout' });
      let running = 0;
      const upEnd = monoMs() + 300_000;
      while (running < HOSTS && monoMs() < upEnd) {
        await sleep(1000);
        running = await countMatching(f.admin, 'instances', 'status.currentState = running');
      }
      if (running < HOSTS) throw new Error(`only ${running} of ${HOSTS} instances running after 300 s`);

      // The policy, attached to every instance (16 editors), before any window: nothing may start.
      const policy = await f.admin.json<{ id: string }>('POST', `${P}/os-update-policies`, { name: 'to-24-04', spec: { policy: 'target', targetOsId: target.id, rollout: { maxConcurrent: MAX, maxFailures: 10 } } }, 201);
      const instances: { id: string }[] = [];
      for (let pageToken = ''; ; ) {
        const page = await f.admin.json<{ items: { id: string }[]; nextPageToken?: string }>('GET', `${P}/instances?pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ''}`, undefined, 200);
        instances.push(...page.items);
        if (!page.nextPageToken) break;
        pageToken = page.nextPageToken;
      }
      const clients = 16;
      const editors = new HttpClient(f.server.url, await clientTokens(f.server.url, f.server.token, 'editor', clients), clients);
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let i = next++; i < instances.length; i = next++) await editors.json('PATCH', `${P}/instances/${instances[i].id}`, { spec: { osUpdatePolicyId: policy.id } }, 200, c);
        }),
      );
      editors.close();
      type PolicyStatus = { status: { rollout?: { pending: number; upToDate: number; running: number; peakRunning: number; failed: number } } };
      const status = () => f.admin.json<PolicyStatus>('GET', `${P}/os-update-policies/${policy.id}`, undefined, 200);
      let pol: PolicyStatus = await status();
      for (const end = monoMs() + 60_000; (pol.status.rollout?.pending ?? 0) < HOSTS && monoMs() < end; await sleep(200)) pol = await status();
      const runsBefore = await countMatching(f.admin, 'os-update-runs');

      // The window opens now, on the hosts' site.
      const opensAt = Date.now();
      const cpu0 = [cpuSecondsOf(f.server.pid), cpuSecondsOf(sim.pid)];
      const t0 = monoMs();
      await f.admin.json('POST', `${P}/schedules`, { name: 'now', spec: { purpose: 'os-update', target: { siteId: site.id }, single: { startAt: new Date(opensAt).toISOString() } } }, 201);
      process.stderr.write(`[rollout] window open; ${HOSTS} updates, at most ${MAX} at once\n`);
      let done = false;
      for (const end = monoMs() + 300_000; !done && monoMs() < end; ) {
        await sleep(200);
        pol = await status();
        done = (pol.status.rollout?.upToDate ?? 0) >= HOSTS;
      }
      const elapsedS = (monoMs() - t0) / 1000;
      const cpu = [cpuSecondsOf(f.server.pid), cpuSecondsOf(sim.pid)].map((x, i) => (100 * (x - cpu0[i])) / elapsedS);
      const runs: Run[] = [];
      for (let pageToken = ''; ; ) {
        const page = await f.admin.json<{ items: Run[]; nextPageToken?: string }>('GET', `${P}/os-update-runs?pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ''}`, undefined, 200);
        runs.push(...page.items);
        if (!page.nextPageToken) break;
        pageToken = page.nextPageToken;
      }
      const lastEnd = Math.max(...runs.map((r) => Date.parse(r.status.endedAt ?? 'x')));
      const windowS = (lastEnd - opensAt) / 1000;
      const firstStart = Math.min(...runs.map((r) => Date.parse(r.status.startedAt)));
      const peak = observedPeak(runs);
      const floorS = Math.ceil(HOSTS / MAX) * (UPDATE_MS / 1000);
      const rows: ResultRow[] = [
        {
          metric: `${HOSTS.toLocaleString('en-US')}-host rollout, maxConcurrent ${MAX}, ${UPDATE_MS / 1000} s updates: window time to complete`,
          dialect: 'sqlite',
          value: done ? windowS : elapsedS,
          unit: 's',
          baseline: { value: floorS, label: `theoretical minimum: ${Math.ceil(HOSTS / MAX)} waves × ${UPDATE_MS / 1000} s` },
          target: { op: '<=', value: TARGET_S, label: '1,000 hosts, maxConcurrent 100, 2 s updates' },
          unmet: done ? undefined : `only ${pol.status.rollout?.upToDate ?? 0} of ${HOSTS} updated after ${fmt(elapsedS)} s`,
          notes: [
            `from the window opening (the schedule's startAt) to the last run's endedAt; first start ${fmt((firstStart - opensAt) / 1000)} s after the window opened`,
            `${runs.length} runs (${runs.filter((r) => r.status.phase === 'done').length} done), ${runsBefore} before the window`,
            `CPU server ${fmt(cpu[0])} %, simulator ${fmt(cpu[1])} %`,
          ].join('; '),
        },
        {
          metric: 'observed peak of updates running at once (from the run records)',
          dialect: 'sqlite',
          value: peak,
          unit: 'runs',
          baseline: { value: pol.status.rollout?.peakRunning ?? Number.NaN, label: "the policy's status.rollout.peakRunning" },
          target: { op: '<=', value: MAX, label: `maxConcurrent ${MAX}` },
        },
      ];
      return {
        rows,
        details: [`runs started before the window opened: ${runsBefore} (must be 0); runs started before its startAt: ${runs.filter((r) => Date.parse(r.status.startedAt) < opensAt).length}`],
        setup: [
          "Server: `startServer({ dataDir, port: 0, logLevel: 'warn' })` in a child process (bench/lib/server-child.ts): SQLite, the managers in-process (the maintenance manager's window cache and the OS update rollout among them); a fresh store",
          `Simulator: \`FleetSimulator\` in another child process, ${HOSTS} nodes, installs and updates of ${UPDATE_MS / 1000} s (the sim executor's four update phases), heartbeat 10 s. The bench, server and simulator share the 2 cores; other engineers' work ran on the machine too, so the figures are noisy`,
        ],
        how: [
          `**Rollout**: ${HOSTS} Hosts registered on one site (autoProvision) and their nodes started; once every Instance runs, an OsUpdatePolicy (target ubuntu 24.04, maxConcurrent ${MAX}, maxFailures 10) is attached to all (16 editors, PATCH spec.osUpdatePolicyId) and the bench waits until the policy shows all of them pending (no window yet: nothing may start). Then a single os-update Schedule on the site with startAt = now opens the window. Window time = the last OsUpdateRun's endedAt − that startAt. The peak is computed from the run records alone (the most [startedAt, endedAt) intervals that overlap); the baseline is the theoretical minimum (waves × update time), not a second implementation.`,
        ],
      };
    } finally {
      await sim?.stop();
      await f.close();
    }
  },
});
