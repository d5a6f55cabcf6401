import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InventoryService } from '../inventory/index.ts';
import type { TelemetryService } from './telemetry/telemetry-service.ts';
import { type FleetStats, FleetStatsReader, type FleetStatsReaderOptions } from './fleet-stats.ts';

export interface ServerMetricsOptions extends FleetStatsReaderOptions {
  /** At most this many `eim_site_hosts` series (site × status); the rest are counted in `eim_site_hosts_dropped_series`. @default 10000 */
  maxSiteSeries?: number;
  /** Notifications the alert manager in this process sent, by receiver name and result. @default none */
  alertNotifications?: () => Record<string, { ok: number; failed: number }>;
  /** What agents' telemetry batches this server took, since it started. @default none */
  telemetry?: () => TelemetryCounts;
}

/** What agents' telemetry batches a server took since it started. */
export type TelemetryCounts = Readonly<TelemetryService['stats']>;

/**
 * The server's Prometheus metrics, in a registry of its own (several servers may share a process in
 * tests). The fleet gauges are counted in the store at scrape time (cached a few seconds), so every
 * server on one database reports the same fleet.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'eim_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(inventory: InventoryService, options: ServerMetricsOptions = {}) {
    const stats = inventory.stats;
    const registers = [this.registry];
    new Counter({ name: 'eim_writes_total', help: 'Committed resource writes (this server)', registers, collect() { this.reset(); this.inc(stats.writes); } });
    new Counter({ name: 'eim_events_total', help: 'Events appended to the log (this server)', registers, collect() { this.reset(); this.inc(stats.events); } });
    new Gauge({ name: 'eim_open_watches', help: 'Open watch streams (this server)', registers, collect() { this.set(stats.openWatches); } });
    new Gauge({ name: 'eim_store_revision', help: 'Newest revision seen by this server', registers, collect() { this.set(inventory.hub.last); } });
    const telemetry = options.telemetry;
    if (telemetry) {
      const counter = (name: string, help: string, pick: (t: TelemetryCounts) => number) =>
        new Counter({ name, help, registers, collect() { this.reset(); this.inc(pick(telemetry())); } });
      counter('eim_telemetry_batches_total', "Agents' OTLP batches taken (this server), repeats included", (t) => t.batches);
      counter('eim_telemetry_points_total', 'Metric points stored (this server), the derived headline points included', (t) => t.points);
      counter('eim_telemetry_log_records_total', 'Log records stored (this server)', (t) => t.logs);
      counter('eim_telemetry_rejected_total', 'Points and log records refused (outside the time window, over a host\'s series cap, malformed)', (t) => t.rejected);
      counter('eim_telemetry_shed_batches_total', 'Batches answered 429 because this server had too many waiting for its store (the agent sends them again)', (t) => t.shed);
      counter('eim_telemetry_duplicate_batches_total', 'Batches that repeated one already stored (an agent retrying after a lost answer), not stored again', (t) => t.duplicates);
    }

    const reader = new FleetStatsReader(inventory.store, options);
    const maxSiteSeries = options.maxSiteSeries ?? 10_000;
    // Every fleet gauge's collect awaits the same read; a failed read empties them and says so.
    const fleet = async (): Promise<FleetStats | undefined> => reader.read().catch(() => undefined);
    const fleetGauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: FleetStats) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await fleet();
          this.reset();
          if (s) fill(this, s);
        },
      });
    new Gauge({
      name: 'eim_fleet_gauges_up',
      help: '1 when the fleet gauges (eim_hosts, eim_site_hosts, eim_connected_agents, eim_instances, eim_rollouts) were read from the store for this scrape; 0 when the store did not answer (they are absent then)',
      registers,
      async collect() {
        this.set((await fleet()) ? 1 : 0);
      },
    });
    fleetGauge('eim_hosts', 'Hosts by status, as the console counts them: running, no-connection, error, in-progress, maintenance, not-seen (each host in exactly one)', ['project', 'status'], (g, s) => {
      for (const h of s.hosts) g.set({ project: h.project, status: h.status }, h.count);
    });
    fleetGauge('eim_site_hosts', 'Hosts by site and status (only combinations with hosts; site "" is no site)', ['project', 'site', 'site_id', 'status'], (g, s) => {
      // Over the limit, the largest groups stay.
      const kept = s.siteHosts.length > maxSiteSeries ? [...s.siteHosts].sort((a, b) => b.count - a.count).slice(0, maxSiteSeries) : s.siteHosts;
      for (const h of kept) g.set({ project: h.project, site: h.site, site_id: h.siteId, status: h.status }, h.count);
    });
    new Gauge({
      name: 'eim_site_hosts_dropped_series',
      help: `eim_site_hosts series left out over the limit of ${maxSiteSeries}`,
      registers,
      async collect() {
        const s = await fleet();
        this.set(s ? Math.max(0, s.siteHosts.length - maxSiteSeries) : 0);
      },
    });
    fleetGauge('eim_connected_agents', 'Hosts whose agent is heartbeating (hostStatus running), by project', ['project'], (g, s) => {
      for (const c of s.connectedAgents) g.set({ project: c.project }, c.count);
    });
    fleetGauge('eim_instances', 'Instances by current state', ['project', 'state'], (g, s) => {
      for (const i of s.instances) g.set({ project: i.project, state: i.state }, i.count);
    });
    fleetGauge('eim_rollouts', 'OS update policies by rollout state: running (updates under way), waiting (for a window or a slot), halted (maxFailures reached), done', ['project', 'state'], (g, s) => {
      for (const r of s.rollouts) g.set({ project: r.project, state: r.state }, r.count);
    });
    fleetGauge('eim_alerts', 'Alerts by state (pending, firing, resolved) and severity', ['project', 'state', 'severity'], (g, s) => {
      for (const a of s.alerts) g.set({ project: a.project, state: a.state, severity: a.severity }, a.count);
    });
    const notifications = options.alertNotifications;
    new Counter({
      name: 'eim_alert_notifications_total',
      help: 'Alert notifications sent by the alert manager in this process, by receiver name and result (ok: acknowledged; failed: an attempt that failed and is retried)',
      labelNames: ['receiver', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [receiver, n] of Object.entries(notifications?.() ?? {})) {
          this.inc({ receiver, result: 'ok' }, n.ok);
          this.inc({ receiver, result: 'failed' }, n.failed);
        }
      },
    });
  }
}
