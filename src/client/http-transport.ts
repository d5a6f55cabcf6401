import http from 'node:http';
import https from 'node:https';
import { EimError, type ErrorCode, ERROR_STATUS } from '../api/index.ts';
import { connectionPool, trustedCertificates, untrustedCertificateHint } from './tls-trust.ts';

export interface TransportOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  /**
   * More servers of the same control plane (several `eim server` processes on one database): a
   * request that cannot connect to the current one (refused, unreachable: nothing was sent) goes to
   * the next at once, which then stays current.
   */
  fallbacks?: readonly string[];
  token?: string;
  /** Attempts for idempotent calls on `unavailable` or `rate_limited`. @default 5 */
  retries?: number;
  /** First retry delay; doubles each time, with jitter. @default 100 */
  retryBaseMs?: number;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** A connection pool to share (many clients, one set of sockets); not closed by close(). It carries its own trust (connectionPool). */
  agent?: http.Agent;
  /** CA certificates (PEM) trusted besides Node's root certificates, for an https server (--ca-file). */
  ca?: string;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Safe to send again after a failure (GET, DELETE, conditional PATCH). */
  idempotent?: boolean;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * JSON over HTTP(S) with keep-alive; server errors come back as EimError with the server's code
 * and message. Idempotent calls are retried with exponential backoff on `unavailable` and
 * `rate_limited` (honouring Retry-After).
 */
export class HttpTransport {
  private readonly servers: string[];
  private current = 0;
  private readonly token?: string;
  private readonly agent: http.Agent;
  private readonly sharedAgent: boolean;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly timeoutMs: number;
  /** What streams (SSE, outside the pool) trust: Node's roots plus the CA given, or Node's default. */
  readonly ca?: string[];

  constructor(options: TransportOptions) {
    this.servers = [options.server, ...(options.fallbacks ?? [])].map((s) => s.replace(/\/+$/, '')).filter((s, i, all) => all.indexOf(s) === i);
    this.token = options.token;
    this.ca = trustedCertificates(options.ca);
    this.sharedAgent = options.agent !== undefined;
    this.agent = options.agent ?? connectionPool(this.server, { ca: options.ca });
    this.retries = options.retries ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The server requests go to now (the first, or the one the last failover moved to). */
  get server(): string {
    return this.servers[this.current];
  }

  url(path: string, query?: RequestSpec['query']): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  authHeaders(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** Sends a request and parses the JSON answer; throws EimError for any error answer. */
  async json<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    return (res.body ? JSON.parse(res.body) : undefined) as T;
  }

  async send(spec: RequestSpec): Promise<RawResponse> {
    let moves = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.once(spec);
        if (res.status >= 400) throw errorFrom(res);
        return res;
      } catch (e) {
        const err = e as EimError;
        // Nothing reached a server that is down: the next one gets the request, whatever it is.
        if (this.servers.length > 1 && moves < this.servers.length - 1 && notConnected(err)) {
          moves++;
          attempt--;
          this.current = (this.current + 1) % this.servers.length;
          continue;
        }
        const retryable = spec.idempotent && (err.code === 'unavailable' || err.code === 'rate_limited');
        if (!retryable || attempt >= this.retries) throw e;
        const backoff = this.retryBaseMs * 2 ** (attempt - 1);
        await sleep(Math.max(retryAfterDelay(err), backoff * (0.5 + Math.random() / 2)));
      }
    }
  }

  private once(spec: RequestSpec): Promise<RawResponse> {
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const url = this.url(spec.path, spec.query);
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method: spec.method,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            accept: 'application/json',
            ...this.authHeaders(),
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...spec.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(unreachable(this.server, e)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(unreachable(this.server, e)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    if (!this.sharedAgent) this.agent.destroy();
  }
}

/**
 * How long to wait before trying again after an error that carried `Retry-After`: never sooner,
 * and up to half as long again at random, so callers turned away together do not come back
 * together. 0 when the error said nothing.
 */
export function retryAfterDelay(err: unknown, random: () => number = Math.random): number {
  const seconds = Number((err as { details?: { retryAfterSeconds?: number } } | undefined)?.details?.retryAfterSeconds ?? 0);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000 * (1 + random() / 2)) : 0;
}

/** Connection errors before anything was sent: the request is safe to send elsewhere. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function notConnected(err: unknown): boolean {
  const cause = (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause;
  return err instanceof EimError && err.code === 'unavailable' && NOT_CONNECTED.has(cause?.code ?? '');
}

function unreachable(server: string, e: Error): EimError {
  const hint = untrustedCertificateHint(e);
  return new EimError('unavailable', hint ? `cannot talk to ${server}: ${hint}` : `cannot reach ${server}: ${e.message}`, { cause: e });
}

/** The EimError an error answer stands for. */
export function errorFrom(res: RawResponse): EimError {
  let code: ErrorCode | undefined;
  let message = `the server answered ${res.status}`;
  let details: Record<string, unknown> | undefined;
  try {
    const body = JSON.parse(res.body) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
    if (body.error?.code && body.error.code in ERROR_STATUS) code = body.error.code as ErrorCode;
    if (body.error?.message) message = body.error.message;
    details = body.error?.details;
  } catch {
    // not our error body (a proxy's page): keep the status
  }
  code ??= statusCode(res.status);
  const retryAfter = Number(res.headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) details = { ...details, retryAfterSeconds: retryAfter };
  return new EimError(code, message, details ? { details } : undefined);
}

function statusCode(status: number): ErrorCode {
  const hit = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  return hit?.[0] ?? (status >= 500 ? 'unavailable' : 'invalid_argument');
}
