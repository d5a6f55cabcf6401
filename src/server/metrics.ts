import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InventoryService } from '../inventory/index.ts';

/** The server's Prometheus metrics, in a registry of its own (several servers may share a process in tests). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'eim_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(inventory: InventoryService) {
    const stats = inventory.stats;
    new Counter({ name: 'eim_writes_total', help: 'Committed resource writes', registers: [this.registry], collect() { this.reset(); this.inc(stats.writes); } });
    new Counter({ name: 'eim_events_total', help: 'Events appended to the log', registers: [this.registry], collect() { this.reset(); this.inc(stats.events); } });
    new Gauge({ name: 'eim_open_watches', help: 'Open watch streams', registers: [this.registry], collect() { this.set(stats.openWatches); } });
    new Gauge({ name: 'eim_store_revision', help: 'Newest revision seen by this server', registers: [this.registry], collect() { this.set(inventory.hub.last); } });
  }
}
