import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { EimError, type InventoryEvent, isEimError, type WatchItem } from '../api/index.ts';
import { errorFrom, type HttpTransport } from './http-transport.ts';
import { type SseFrame, SseParser } from './sse-parser.ts';
import { secureContextFor, untrustedCertificateHint } from './tls-trust.ts';

export interface SseWatchOptions {
  path: string;
  query: Record<string, string | undefined>;
  since?: number;
  signal?: AbortSignal;
  /** Reconnect delay bounds. @default 100 → 5000 ms */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Reconnect when nothing (not even a BOOKMARK) arrived for this long. @default 30000 */
  idleTimeoutMs?: number;
}

/**
 * Watches over SSE and survives connection loss: it reconnects with backoff and resumes from the
 * last id it saw (events and bookmarks), so the consumer sees each event once, in order.
 * `revision_compacted` (410) and other refusals end the stream with that EimError.
 */
export async function* sseWatch(transport: HttpTransport, options: SseWatchOptions): AsyncGenerator<WatchItem> {
  let lastId = options.since;
  let delay = options.minDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5000;
  while (!options.signal?.aborted) {
    let gotSomething = false;
    try {
      const url = transport.url(options.path, { ...options.query, since: lastId === undefined ? undefined : String(lastId) });
      const headers: Record<string, string> = { accept: 'text/event-stream', ...transport.authHeaders() };
      if (lastId !== undefined) headers['last-event-id'] = String(lastId);
      for await (const f of sseFrames({ url, headers, signal: options.signal, idleTimeoutMs: options.idleTimeoutMs, ca: transport.ca })) {
        gotSomething = true;
        delay = options.minDelayMs ?? 100;
        if (f.event === 'ERROR') {
          const body = JSON.parse(f.data) as { error: { code: string; message: string; details?: Record<string, unknown> } };
          throw new EimError(body.error.code as never, body.error.message, body.error.details ? { details: body.error.details } : undefined);
        }
        const revision = Number(f.id ?? JSON.parse(f.data).revision);
        if (lastId !== undefined && revision <= lastId && f.event !== 'BOOKMARK') continue;
        lastId = revision;
        if (f.event === 'BOOKMARK') yield { type: 'bookmark', revision };
        else {
          const json = f.data;
          yield { type: 'event', revision, json, event: () => JSON.parse(json) as InventoryEvent };
        }
      }
    } catch (e) {
      if (isEimError(e) && e.code !== 'unavailable') throw e;
    }
    if (options.signal?.aborted) return;
    if (!gotSomething) delay = Math.min(delay * 2, maxDelay);
    await sleep(delay * (0.5 + Math.random() / 2), options.signal);
  }
}

/** Waits `ms`, or less when `signal` aborts (a stopped watch must not linger in its backoff). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, signal?.aborted ? 0 : ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface SseRequest {
  url: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** Give up on a connection that sent nothing (not even a bookmark) for this long. @default 30000 */
  idleTimeoutMs?: number;
  /** For an https URL: the certificates to trust (trustedCertificates). @default Node's root certificates */
  ca?: string[];
  /** For an https URL: a TLS context its owner built once (trust and client certificate); ca, cert and key are then not used. */
  secureContext?: tls.SecureContext;
  /** For an https URL: the client certificate and key (PEM) presented when the server asks (mutual TLS). */
  cert?: string;
  key?: string;
}

/**
 * One SSE connection as frames. Ends when the server closes; an error answer throws its EimError,
 * a lost connection throws `unavailable`. Pauses the socket while the consumer is behind.
 */
export async function* sseFrames(options: SseRequest): AsyncGenerator<SseFrame> {
  const url = options.url;
  const mod = url.startsWith('https:') ? https : http;
  const queue: SseFrame[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  let res: http.IncomingMessage | undefined;
  // The connection counts as dead after this long without a byte from the server (not without
  // a frame: servers send keep-alive comments, which are not frames).
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const idle = setTimeout(() => req.destroy(), idleMs);
  const secureContext = options.secureContext ?? secureContextFor(options.ca, options.cert && options.key ? { cert: options.cert, key: options.key } : undefined);
  // A connection of its own: a stream holds it for its life anyway; a pooled HTTPS one keyed
  // without the context could be one opened with an earlier client certificate (renewed since);
  // and a pool's sockets probe with TCP keep-alive every second once idle (Node's keep-alive
  // agents, through libuv) and die after ten unanswered probes. The idle timer above watches the
  // connection instead: the server sends a keep-alive comment or a bookmark at least every 15 s.
  const req = mod.get(url, { headers: options.headers, agent: false, ...(secureContext ? { secureContext } : {}) }, (r) => {
    res = r;
    if (r.statusCode !== 200) {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c) => (body += c));
      r.on('end', () => {
        failure = errorFrom({ status: r.statusCode ?? 0, headers: r.headers, body });
        done = true;
        notify();
      });
      return;
    }
    r.setEncoding('utf8');
    const parser = new SseParser((f) => queue.push(f));
    r.on('data', (chunk: string) => {
      // Any bytes, keep-alive comments included, show the server is there.
      idle.refresh();
      parser.push(chunk);
      if (queue.length > 1000) r.pause();
      notify();
    });
    r.on('end', () => {
      done = true;
      notify();
    });
    r.on('error', () => {
      done = true;
      notify();
    });
  });
  req.on('error', (e) => {
    const hint = untrustedCertificateHint(e);
    failure ??= new EimError('unavailable', hint ? `cannot open the stream: ${hint}` : `watch connection lost: ${e.message}`);
    done = true;
    notify();
  });
  const onAbort = () => req.destroy();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (queue.length > 0) {
        yield queue.shift()!;
        if (queue.length < 100 && res?.isPaused()) res.resume();
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  } finally {
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', onAbort);
    req.destroy();
  }
}
