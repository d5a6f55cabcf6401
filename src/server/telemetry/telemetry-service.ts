import { forgetDeletedHosts, maintainTelemetry, type MaintenanceReport, type TelemetryRetention, type TelemetryStore } from '../../store/index.ts';
import type { Rate } from '../southbound/southbound-limits.ts';
import { DEFAULT_OTLP_LIMITS, type OtlpLimits } from './otlp-decode.ts';
import { OtlpForwarder } from './otlp-forwarder.ts';

/**
 * How collected telemetry is kept and handed on (`eim server --metrics-retention …`). Every
 * default is documented in README "Metrics and logs".
 */
export interface TelemetryOptions {
  /** Full-resolution samples. @default 86400 (24 h) */
  rawRetentionSeconds?: number;
  /** 5-minute rollups. @default 2592000 (30 days) */
  rollupRetentionSeconds?: number;
  /** Log lines. @default 604800 (7 days) */
  logsRetentionSeconds?: number;
  /** Samples and rollups together, in bytes. @default 1 GiB */
  metricsBytes?: number;
  /** Log lines, in bytes. @default 256 MiB */
  logsBytes?: number;
  /** How often retention, budgets and rollups run. @default 60000 */
  maintainEveryMs?: number;
  /** Forward what agents send to this OpenTelemetry Collector (OTLP/HTTP base URL). */
  otlpForward?: string;
  /** What one batch may hold. @default DEFAULT_OTLP_LIMITS */
  limits?: Partial<OtlpLimits>;
  /** Telemetry batches per host (metrics and logs together). @default { perSecond: 2, burst: 60 } (an agent back online sends its buffer in a burst) */
  rate?: Rate;
  /** Batches this server has in progress at once (received and not yet answered: parsed, decoded, waiting for or in a commit), all hosts together; past it a batch gets 429 with Retry-After before its body is read (the agent keeps it buffered and sends it again). @default 2048 */
  maxQueuedBatches?: number;
  /**
   * Bytes of those batches' bodies together (their Content-Length, or the body limit when they do
   * not say), all hosts together; past it a batch gets the same 429 (one batch alone always gets
   * in). It bounds the memory batches in progress hold, which the count alone does not (2,048
   * batches of 1 MiB). @default 64 MiB
   */
  maxQueuedBytes?: number;
  onError?: (message: string, error?: unknown) => void;
}

export type CompiledTelemetryOptions = Readonly<Required<Omit<TelemetryOptions, 'otlpForward' | 'onError' | 'limits'>> & { otlpForward?: string; limits: OtlpLimits; onError: (message: string, error?: unknown) => void }>;

const DAY = 86_400;

/** Fills the defaults of TelemetryOptions and checks them. */
export function compileTelemetryOptions(o: TelemetryOptions = {}): CompiledTelemetryOptions {
  const c = {
    rawRetentionSeconds: o.rawRetentionSeconds ?? DAY,
    rollupRetentionSeconds: o.rollupRetentionSeconds ?? 30 * DAY,
    logsRetentionSeconds: o.logsRetentionSeconds ?? 7 * DAY,
    metricsBytes: o.metricsBytes ?? 1024 ** 3,
    logsBytes: o.logsBytes ?? 256 * 1024 ** 2,
    maintainEveryMs: o.maintainEveryMs ?? 60_000,
    otlpForward: o.otlpForward,
    limits: Object.freeze({ ...DEFAULT_OTLP_LIMITS, ...o.limits }),
    rate: o.rate ?? { perSecond: 2, burst: 60 },
    maxQueuedBatches: o.maxQueuedBatches ?? 2048,
    maxQueuedBytes: o.maxQueuedBytes ?? 64 * 1024 * 1024,
    onError: o.onError ?? (() => {}),
  };
  for (const k of ['rawRetentionSeconds', 'rollupRetentionSeconds', 'logsRetentionSeconds', 'metricsBytes', 'logsBytes', 'maintainEveryMs'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) throw new RangeError(`telemetry: ${k} must be a positive number (got ${c[k]})`);
  }
  if (!(c.rate.perSecond > 0 && c.rate.burst >= 1)) throw new RangeError('telemetry: the rate needs perSecond > 0 and burst ≥ 1');
  if (!(Number.isInteger(c.maxQueuedBatches) && c.maxQueuedBatches >= 1)) throw new RangeError(`telemetry: maxQueuedBatches must be a whole number ≥ 1 (got ${c.maxQueuedBatches})`);
  if (!(Number.isInteger(c.maxQueuedBytes) && c.maxQueuedBytes >= 1)) throw new RangeError(`telemetry: maxQueuedBytes must be a whole number ≥ 1 (got ${c.maxQueuedBytes})`);
  return Object.freeze(c);
}

/**
 * The server's side of collected telemetry: the store's telemetry tables, the retention job (every
 * server runs it; see maintainTelemetry for why that is safe), counters for /metrics, and the
 * optional forwarder to an OpenTelemetry Collector.
 */
export class TelemetryService {
  readonly options: CompiledTelemetryOptions;
  readonly forwarder?: OtlpForwarder;
  readonly stats = { batches: 0, points: 0, logs: 0, rejected: 0, duplicates: 0, shed: 0 };
  lastMaintenance?: MaintenanceReport;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    readonly store: TelemetryStore,
    options: TelemetryOptions = {},
  ) {
    this.options = compileTelemetryOptions(options);
    if (this.options.otlpForward) this.forwarder = new OtlpForwarder({ url: this.options.otlpForward, onError: (m) => this.options.onError(m) });
  }

  get retention(): TelemetryRetention {
    const o = this.options;
    return { rawMs: o.rawRetentionSeconds * 1000, rollupMs: o.rollupRetentionSeconds * 1000, logsMs: o.logsRetentionSeconds * 1000, metricsBytes: o.metricsBytes, logsBytes: o.logsBytes };
  }

  /** The times a batch's samples may have: not older than the raw retention, at most 5 minutes ahead (clock skew). */
  window(now = this.store.now()): { notBefore: number; notAfter: number } {
    return { notBefore: now - this.options.rawRetentionSeconds * 1000, notAfter: now + 300_000 };
  }

  start(): void {
    this.timer = setInterval(() => void this.maintain(), this.options.maintainEveryMs);
    this.timer.unref();
  }

  /** One maintenance pass (also what the timer runs); passes never overlap in one process. */
  maintain(): Promise<void> {
    this.running ??= (async () => {
      try {
        await forgetDeletedHosts(this.store);
        this.lastMaintenance = await maintainTelemetry(this.store, this.retention);
      } catch (e) {
        this.options.onError('telemetry maintenance failed; it runs again in a minute', e);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.forwarder?.close();
    await this.running;
  }
}
