import { HOST_CATEGORIES, HOST_CATEGORY_FIELDS, type HostCategory, hostCategory, hostFromCategoryFields, isConnected } from '../api/index.ts';
import type { Store } from '../store/index.ts';

/** The rollout states a policy can be in, for `eim_rollouts{state}`. */
export const ROLLOUT_STATES = ['running', 'waiting', 'halted', 'done'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** What the fleet looks like now, per project, counted in the store. */
export interface FleetStats {
  /** Every project, so a project with no hosts still reports zeros. */
  projects: string[];
  hosts: { project: string; status: HostCategory; count: number }[];
  /** Hosts per site (non-zero combinations only); site '' is a host with no site. */
  siteHosts: { project: string; siteId: string; site: string; status: HostCategory; count: number }[];
  connectedAgents: { project: string; count: number }[];
  instances: { project: string; state: string; count: number }[];
  rollouts: { project: string; state: RolloutState; count: number }[];
  /** Alerts by state and severity (every combination of every project, zeros included). */
  alerts: { project: string; state: string; severity: string; count: number }[];
}

const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
const ALERT_SEVERITIES = ['critical', 'warning', 'info'] as const;

export interface FleetStatsReaderOptions {
  /** An answer younger than this is served again (a scrape every few seconds costs one set of queries). @default 5000 */
  cacheMs?: number;
  now?: () => number;
}

/**
 * Reads the fleet's numbers from the store with a few aggregate queries (GROUP BY, no resource
 * bodies), so every server on one database answers the same, whatever it holds in memory. Answers
 * are cached for `cacheMs`, and concurrent callers share one read.
 * @example const stats = await new FleetStatsReader(store).read()
 */
export class FleetStatsReader {
  private cached?: { at: number; stats: Promise<FleetStats> };
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: FleetStatsReaderOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** The numbers, from the cache when fresh; rejects when the store does not answer (not cached). */
  read(): Promise<FleetStats> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.stats;
    const stats = this.query();
    const entry = { at: now, stats };
    this.cached = entry;
    stats.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return stats;
  }

  private async query(): Promise<FleetStats> {
    const [projects, hostRows, siteRows, instanceRows, policyRows, alertRows] = await Promise.all([
      this.store.listProjects(),
      this.store.countBy({ kind: 'Host', fields: [['project'], ['spec', 'siteId'], ...HOST_CATEGORY_FIELDS] }),
      this.store.countBy({ kind: 'Site', fields: [['project'], ['id'], ['name']] }),
      this.store.countBy({ kind: 'Instance', fields: [['project'], ['status', 'currentState']] }),
      this.store.countBy({
        kind: 'OsUpdatePolicy',
        fields: [['project'], ['status', 'rollout', 'halted'], ['status', 'rollout', 'running'], ['status', 'rollout', 'pending'], ['status', 'rollout', 'total']],
      }),
      this.store.countBy({ kind: 'Alert', fields: [['project'], ['status', 'state'], ['status', 'severity']] }),
    ]);
    const alerts = new Counter<[string, string, string]>();
    for (const { values, count } of alertRows) alerts.add([String(values[0]), String(values[1]), String(values[2])], count);
    const projectSet = new Set([...projects.map((p) => p.name), ...hostRows.map((r) => String(r.values[0]))]);
    const siteName = new Map(siteRows.map((r) => [String(r.values[1]), String(r.values[2])]));
    const hosts = new Counter<[string, HostCategory]>();
    const siteHosts = new Counter<[string, string, HostCategory]>();
    const connected = new Counter<[string]>();
    for (const { values, count } of hostRows) {
      const [project, siteId, ...fields] = values;
      const host = hostFromCategoryFields(fields);
      const category = hostCategory(host);
      hosts.add([String(project), category], count);
      siteHosts.add([String(project), typeof siteId === 'string' ? siteId : '', category], count);
      if (isConnected(host)) connected.add([String(project)], count);
    }
    const instances = new Counter<[string, string]>();
    for (const { values, count } of instanceRows) instances.add([String(values[0]), typeof values[1] === 'string' ? values[1] : 'unspecified'], count);
    const rollouts = new Counter<[string, RolloutState]>();
    for (const { values, count } of policyRows) {
      const [project, halted, running, pending, total] = values;
      if (total === null) continue; // no rollout yet: the policy is attached to nothing the manager has counted
      const state: RolloutState = halted === true ? 'halted' : Number(running) > 0 ? 'running' : Number(pending) > 0 ? 'waiting' : 'done';
      rollouts.add([String(project), state], count);
    }
    const projectList = [...projectSet].sort();
    return {
      projects: projectList,
      // Every category of every project, zeros included: an alert on `eim_hosts{status="error"} > 0` needs the series.
      hosts: projectList.flatMap((project) => HOST_CATEGORIES.map((status) => ({ project, status, count: hosts.get([project, status]) }))),
      siteHosts: siteHosts.entries().map(([[project, siteId, status], count]) => ({ project, siteId, site: siteId ? (siteName.get(siteId) ?? siteId) : '', status, count })),
      connectedAgents: projectList.map((project) => ({ project, count: connected.get([project]) })),
      instances: instances.entries().map(([[project, state], count]) => ({ project, state, count })),
      rollouts: projectList.flatMap((project) => ROLLOUT_STATES.map((state) => ({ project, state, count: rollouts.get([project, state]) }))),
      alerts: projectList.flatMap((project) => ALERT_STATES.flatMap((state) => ALERT_SEVERITIES.map((severity) => ({ project, state, severity, count: alerts.get([project, state, severity]) })))),
    };
  }
}

/** Counts keyed by a tuple of strings. */
class Counter<K extends string[]> {
  private readonly counts = new Map<string, { key: K; n: number }>();
  add(key: K, n: number): void {
    const k = JSON.stringify(key);
    const e = this.counts.get(k);
    if (e) e.n += n;
    else this.counts.set(k, { key, n });
  }
  get(key: K): number {
    return this.counts.get(JSON.stringify(key))?.n ?? 0;
  }
  entries(): [K, number][] {
    return [...this.counts.values()].map((e) => [e.key, e.n]);
  }
}
