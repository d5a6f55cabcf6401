import { type AgentTelemetryReport, isEimError, LOG_GROUPS, LOG_LEVELS, type LogGroup, type LogLevel, METRIC_GROUPS, type MetricGroup } from '../../api/index.ts';
import type { AgentLog } from '../agent-log.ts';
import { type Clock, sleep } from '../clock.ts';
import type { LogSource } from './linux-logs.ts';
import type { MetricSource } from './linux-metrics.ts';
import { encodeLogs, encodeMetrics } from './otlp-batch.ts';
import type { TelemetryBuffer } from './telemetry-buffer.ts';

/** The part of the effective telemetry config (status.telemetry.config) the agent acts on. */
export interface CollectConfig {
  metrics?: { groups?: unknown; intervalSeconds?: unknown }[];
  logs?: { groups?: unknown; level?: unknown }[];
}

export interface TelemetryRunnerOptions {
  metrics: MetricSource;
  logs: LogSource;
  buffer: TelemetryBuffer;
  /** Sends one batch; throws an EimError when the server refuses it or cannot be reached. */
  send(signal: 'metrics' | 'logs', body: string, batch: string): Promise<void>;
  /** What to tell the server about collection (unknown groups, problems, drops): called when it changes. */
  onReport(report: AgentTelemetryReport): void;
  /** A 401: the agent's token is gone. */
  onUnauthenticated(error: Error): void;
  clock: Clock;
  log: AgentLog;
  /** Resource attributes of every batch (the node's name; the server goes by the token). */
  resource: Record<string, string>;
  /** How often log groups are read. @default 5000 */
  logPollMs?: number;
  /** Log lines per batch at most. @default 500 */
  maxLogLines?: number;
  /** Waits between sends after a failure grow from… @default 1000 */
  backoffMinMs?: number;
  /** …up to. @default 30000 */
  backoffMaxMs?: number;
}

const isMetricGroup = (g: string): g is MetricGroup => (METRIC_GROUPS as readonly string[]).includes(g);
const isLogGroup = (g: string): g is LogGroup => (LOG_GROUPS as readonly string[]).includes(g);

/**
 * Collects what the effective config names, each metrics entry at its own interval and each log
 * group every few seconds, into the buffer; a sender sends the buffer oldest first. configure()
 * takes effect at once: timers of the old config stop, the new entries collect right away. Group
 * names the agent does not know are not collected and are reported (status.telemetry).
 * @example runner.configure({ metrics: [{ groups: ['cpu'], intervalSeconds: 10 }], logs: [] })
 */
export class TelemetryRunner {
  private generation = 0;
  private stopped = new AbortController();
  private wake?: () => void;
  private sender?: Promise<void>;
  private lastReport = '';
  private problems = new Map<string, string>();
  private unknown: string[] = [];
  readonly stats = { metricBatches: 0, logBatches: 0, sent: 0, refused: 0, collections: 0 };
  private config?: CollectConfig;

  constructor(private readonly o: TelemetryRunnerOptions) {}

  /** Batches waiting in the buffer. */
  get buffered(): number {
    return this.o.buffer.size;
  }

  /** The config in force (undefined until the first). */
  get current(): CollectConfig | undefined {
    return this.config;
  }

  /** Starts the sender (it sends what a previous run left in the buffer). */
  start(): void {
    this.sender ??= this.sendLoop();
  }

  stop(): void {
    this.generation++;
    this.stopped.abort();
    this.wake?.();
  }

  configure(config: CollectConfig | undefined): void {
    const gen = ++this.generation;
    this.config = config;
    this.unknown = [];
    this.problems.clear();
    const metrics = Array.isArray(config?.metrics) ? config.metrics : [];
    const logs = Array.isArray(config?.logs) ? config.logs : [];
    for (const m of metrics) {
      const groups = (Array.isArray(m.groups) ? m.groups : []).map(String);
      const known = groups.filter(isMetricGroup);
      this.unknown.push(...groups.filter((g) => !isMetricGroup(g)));
      const every = Math.max(1, Number(m.intervalSeconds) || 60) * 1000;
      if (known.length > 0) void this.metricsLoop(gen, known, every);
    }
    for (const l of logs) {
      const groups = (Array.isArray(l.groups) ? l.groups : []).map(String);
      const level = (LOG_LEVELS as readonly string[]).includes(String(l.level)) ? (String(l.level) as LogLevel) : 'info';
      this.unknown.push(...groups.filter((g) => !isLogGroup(g)));
      for (const g of groups.filter(isLogGroup)) void this.logsLoop(gen, g, level);
    }
    this.unknown = [...new Set(this.unknown)].sort();
    if (this.unknown.length > 0) this.o.log.warn(`telemetry: not collecting unknown group(s) ${this.unknown.join(', ')} (known: ${[...METRIC_GROUPS, ...LOG_GROUPS].join(', ')})`);
    this.report();
    this.start();
  }

  private report(): void {
    const r: AgentTelemetryReport = { unknownGroups: this.unknown, problems: [...this.problems.values()].slice(0, 16), droppedBatches: this.o.buffer.dropped };
    const text = JSON.stringify(r);
    if (text === this.lastReport) return;
    this.lastReport = text;
    this.o.onReport(r);
  }

  private live(gen: number): boolean {
    return gen === this.generation && !this.stopped.signal.aborted;
  }

  private async metricsLoop(gen: number, groups: MetricGroup[], everyMs: number): Promise<void> {
    const { clock } = this.o;
    let next = clock.now();
    while (this.live(gen)) {
      const t = clock.now();
      const samples = (await Promise.all(groups.map((g) => this.o.metrics.collect(g, t).catch(() => [])))).flat();
      if (!this.live(gen)) return;
      this.stats.collections++;
      if (samples.length > 0) {
        this.o.buffer.add('metrics', new TextDecoder().decode(encodeMetrics(samples, this.o.resource)));
        this.stats.metricBatches++;
        this.kick();
      }
      next = Math.max(next + everyMs, clock.now());
      await this.sleepUntil(gen, next);
    }
  }

  private async logsLoop(gen: number, group: LogGroup, level: LogLevel): Promise<void> {
    const { clock } = this.o;
    const every = this.o.logPollMs ?? 5000;
    while (this.live(gen)) {
      try {
        const problem = await this.o.logs.problem(group);
        if (problem) {
          this.problems.set(group, problem);
          this.report();
          return;
        }
        const r = await this.o.logs.read(group, level, this.o.buffer.cursor(group), this.o.maxLogLines ?? 500);
        if (!this.live(gen)) return;
        if (this.problems.delete(group)) this.report();
        if (r.entries.length > 0 || (r.cursor !== undefined && r.cursor !== this.o.buffer.cursor(group))) {
          this.o.buffer.add('logs', new TextDecoder().decode(encodeLogs(r.entries, this.o.resource)), r.cursor !== undefined ? { [group]: r.cursor } : undefined);
          this.stats.logBatches++;
          this.kick();
        }
        if (r.entries.length >= (this.o.maxLogLines ?? 500)) continue; // more waiting: read on at once
      } catch (e) {
        this.problems.set(group, `log group ${group}: ${(e as Error).message}`);
        this.report();
      }
      await this.sleepUntil(gen, clock.now() + every);
    }
  }

  private async sleepUntil(gen: number, at: number): Promise<void> {
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    this.stopped.signal.addEventListener('abort', stop, { once: true });
    // A new config ends this wait early: poll the generation now and then.
    while (this.live(gen) && this.o.clock.now() < at) await sleep(this.o.clock, Math.min(250, at - this.o.clock.now()), ctl.signal);
    this.stopped.signal.removeEventListener('abort', stop);
  }

  private kick(): void {
    this.wake?.();
  }

  private async sendLoop(): Promise<void> {
    const { buffer, clock } = this.o;
    let delay = this.o.backoffMinMs ?? 1000;
    while (!this.stopped.signal.aborted) {
      const b = buffer.peek();
      if (!b) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
        continue;
      }
      try {
        // An empty log batch (only a cursor move) needs no trip to the server.
        if (!(b.signal === 'logs' && b.body.includes('"logRecords":[]'))) await this.o.send(b.signal, b.body, `${buffer.stream}.${b.seq}`);
        buffer.ack(b.seq);
        this.stats.sent++;
        delay = this.o.backoffMinMs ?? 1000;
      } catch (e) {
        if (isEimError(e) && e.code === 'unauthenticated') return this.o.onUnauthenticated(e);
        if (isEimError(e) && (e.code === 'invalid_argument' || e.code === 'payload_too_large')) {
          // Refused for good: sending it again would block everything behind it.
          this.o.log.warn(`telemetry: the server refused a ${b.signal} batch (${e.message}); dropped it`);
          buffer.ack(b.seq, true);
          this.stats.refused++;
        } else {
          const retryAfter = Number((e as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds ?? 0) * 1000;
          await sleep(clock, Math.max(delay, retryAfter), this.stopped.signal);
          delay = Math.min(delay * 2, this.o.backoffMaxMs ?? 30_000);
        }
      }
      this.report();
    }
  }
}
