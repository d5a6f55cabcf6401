import http from 'node:http';
import { type SseFrame, SseParser } from '../client/index.ts';

export type { SseFrame };

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
}

/**
 * A plain HTTP call for tests (keep-alive, no retries). With `timeoutMs`, an answer that does not
 * come in time rejects (a hang is an error of its own, not a test timeout).
 * @example await call(url + '/v1/projects/default/hosts', { token })
 */
export function call(url: string, options: { method?: string; token?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = body ? JSON.parse(body) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${options.method ?? 'GET'} ${url}: no answer in ${timeoutMs} ms`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Opens an SSE stream and hands each frame to `onFrame`; `close()` ends it.
 * Resolves once the response headers arrived (rejects on a non-200 answer, with its body).
 */
export function openSse(url: string, options: { token?: string; lastEventId?: string }, onFrame: (f: SseFrame) => void): Promise<{ close: () => void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers: { accept: 'text/event-stream', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) } },
      (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => reject(Object.assign(new Error(`SSE answered ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
          return;
        }
        res.setEncoding('utf8');
        const ended = new Promise<void>((r) => {
          res.on('end', () => r());
          res.on('close', () => r());
          res.on('error', () => r());
        });
        const parser = new SseParser(onFrame);
        res.on('data', (chunk: string) => parser.push(chunk));
        resolve({ close: () => req.destroy(), ended });
      },
    );
    req.on('error', (e) => reject(e));
  });
}
