import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * A plain node:http client with one keep-alive agent, as a load generator needs: no fetch, no
 * per-request allocations beyond the request itself.
 * @example const c = new HttpClient(url, tokens); const r = await c.send('POST', '/v1/projects/default/hosts', body, client)
 */
export class HttpClient {
  readonly agent: http.Agent;
  private readonly base: URL;

  private readonly tokens: string[];

  /** `token`: one for every request, or one per client (`client` below picks it, round robin). */
  constructor(url: string, token: string | string[], maxSockets = 16) {
    this.base = new URL(url);
    this.tokens = Array.isArray(token) ? token : [token];
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  send(method: string, path: string, body?: unknown, client = 0): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.tokens[client % this.tokens.length]}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Sends and parses the JSON answer; anything but `expect` is an error that carries the body. */
  async json<T>(method: string, path: string, body: unknown, expect: number, client = 0): Promise<T> {
    const r = await this.send(method, path, body, client);
    if (r.status !== expect) throw new Error(`${method} ${path}: HTTP ${r.status} (expected ${expect}): ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Polls `url` until it answers 200 (no auth), at most `timeoutMs`.
 * @example await waitFor200(`${url}/readyz`, 10_000)
 */
export async function waitFor200(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${status || 'no connection'})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * GET without a token (for /metrics), answering the body; anything but 200 is an error.
 * @example const text = await getText(`${url}/metrics`)
 */
export function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}
