import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface OtlpForwarderOptions {
  /** The collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318 (batches go to /v1/metrics and /v1/logs). */
  url: string;
  /** Bytes of batches waiting; past it the oldest waiting batch is dropped (counted). @default 64 MiB */
  maxQueueBytes?: number;
  /** Tries per batch (with 1 s, 2 s, … between) before it is dropped (counted). @default 3 */
  attempts?: number;
  /** @default 10000 */
  timeoutMs?: number;
  onError?: (message: string) => void;
}

interface Item {
  signal: 'metrics' | 'logs';
  body: string;
}

/**
 * Forwards what agents send to an OpenTelemetry Collector (`eim server --otlp-forward URL`), so
 * Prometheus/Mimir, Loki or any OTLP backend becomes the long-term store. Each batch's resource
 * names the host from the agent's token: `eim.project`, `eim.host.id` and `host.id` (the eim host
 * id, which is what an agent sends), and every `host.*` and `eim.*` attribute of the payload is
 * dropped, so an agent cannot pass as another host downstream (`host.name` is not set: it would
 * cost an inventory read per batch). Sent one at a time, in order, from a queue bounded by
 * bytes; a batch the collector keeps refusing, or one pushed out of a full queue, is dropped and counted.
 * @example const f = new OtlpForwarder({ url: 'http://127.0.0.1:4318' }); f.forward('metrics', body, { project: 'default', hostId })
 */
export class OtlpForwarder {
  readonly stats = { forwarded: 0, dropped: 0, queuedBytes: 0 };
  private readonly queue: Item[] = [];
  private running = false;
  private closed = false;
  private readonly maxBytes: number;
  private readonly base: URL;

  constructor(private readonly options: OtlpForwarderOptions) {
    this.base = new URL(options.url);
    if (!/^https?:$/.test(this.base.protocol)) throw new RangeError(`--otlp-forward must be an http(s) URL (got ${options.url})`);
    this.maxBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
  }

  /** Queues a batch an agent sent, its resource naming `host` (the agent token's). */
  forward(signal: 'metrics' | 'logs', payload: unknown, host: { project: string; hostId: string }): void {
    if (this.closed) return;
    const body = JSON.stringify(withResource(payload, signal, { 'eim.project': host.project, 'eim.host.id': host.hostId, 'host.id': host.hostId }));
    this.queue.push({ signal, body });
    this.stats.queuedBytes += body.length;
    while (this.stats.queuedBytes > this.maxBytes && this.queue.length > 1) {
      const old = this.queue.shift()!;
      this.stats.queuedBytes -= old.body.length;
      this.stats.dropped++;
    }
    if (!this.running) void this.drain();
  }

  /** Resolves once the queue is empty (or the forwarder closed). */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.stats.queuedBytes = 0;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue[0];
        let ok = false;
        const attempts = this.options.attempts ?? 3;
        for (let i = 0; i < attempts && !ok && !this.closed; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 1000 * i).unref());
          ok = await this.post(item).catch((e: Error) => {
            this.options.onError?.(`forwarding ${item.signal} to ${this.base.origin} failed: ${e.message}`);
            return false;
          });
        }
        if (this.queue[0] === item) {
          this.queue.shift();
          this.stats.queuedBytes -= item.body.length;
        }
        if (ok) this.stats.forwarded++;
        else this.stats.dropped++;
      }
    } finally {
      this.running = false;
    }
  }

  private post(item: Item): Promise<boolean> {
    const url = new URL(`${this.base.pathname.replace(/\/+$/, '')}/v1/${item.signal}`, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(item.body) }, timeout: this.options.timeoutMs ?? 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(true);
          else if (status >= 400 && status < 500 && status !== 429) resolve(false); // refused for good: do not retry
          else reject(new Error(`HTTP ${status}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(item.body);
    });
  }
}

function withResource(payload: unknown, signal: 'metrics' | 'logs', resource: Record<string, string>): unknown {
  const key = signal === 'metrics' ? 'resourceMetrics' : 'resourceLogs';
  const p = payload as Record<string, unknown>;
  const list = Array.isArray(p?.[key]) ? (p[key] as Record<string, unknown>[]) : [];
  return {
    [key]: list.map((r) => {
      const res = (r?.resource ?? {}) as { attributes?: { key: string }[] };
      const kept = (Array.isArray(res.attributes) ? res.attributes : []).filter((a) => !isHostIdentity(a?.key));
      return { ...r, resource: { ...res, attributes: [...kept, ...Object.entries(resource).map(([k, v]) => ({ key: k, value: { stringValue: v } }))] } };
    }),
  };
}

/** What a payload may not say about itself: the host (`host.*`, as the semantic conventions name it) and eim's own keys. */
function isHostIdentity(key: unknown): boolean {
  return typeof key !== 'string' || key.startsWith('host.') || key.startsWith('eim.');
}
