import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { AgentStatusReport, CommandResult, EnrollRequest, HardwareReport, HeartbeatRequest, NodeConfigReport } from '../../api/index.ts';

export interface FakeStream {
  /** 0 for the first connection, 1 for the first reconnect, … */
  index: number;
  lastEventId?: string;
  send(event: string, data: unknown, id?: string): void;
  end(): void;
}

export interface RecordedResult {
  id: string;
  body: CommandResult;
}

/**
 * A tiny southbound server for agent tests (node:http, no eim server): enroll answers a token,
 * heartbeat, hardware, status and node-config reports answer 204, results are recorded, and each stream connection
 * is handed to `onStream`. Bodies are checked against the protocol's schemas (a bad body is 400
 * and lands in `invalid`). `revokeAgentToken()` makes every agent call answer 401.
 * @example const sb = await FakeSouthbound.start(); sb.onStream = (s) => s.send('revoked', {})
 */
export class FakeSouthbound {
  readonly enrollmentTokens = new Set(['enroll-secret']);
  readonly enrolls: EnrollRequest[] = [];
  readonly heartbeats: number[] = [];
  readonly hardware: HardwareReport[] = [];
  readonly statuses: AgentStatusReport[] = [];
  readonly results: RecordedResult[] = [];
  readonly nodeConfigReports: NodeConfigReport[] = [];
  readonly invalid: string[] = [];
  readonly streams: FakeStream[] = [];
  /** Answer for enroll, e.g. 404 until the host is "registered", 429 (Retry-After: 1) while "busy". */
  enrollStatus = 200;
  /** When each enroll request arrived (performance.now()). */
  readonly enrollTimes: number[] = [];
  /** Answer enroll only after this long (the agent stopped while enrolling). */
  enrollDelayMs = 0;
  /** Answer for the next stream connections, e.g. 503 while "the server is restarting". */
  streamStatus = 200;
  streamRefusals = 0;
  onStream: (s: FakeStream) => void = () => {};
  private agentToken = 'agent-token-1';
  private tokenSeq = 1;
  private readonly open = new Set<http.ServerResponse>();

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeSouthbound> {
    const server = http.createServer();
    const fake = new FakeSouthbound(server);
    server.on('request', (req, res) => fake.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  revokeAgentToken(): void {
    this.agentToken = `revoked-${Math.random()}`;
  }

  /** Polls until `check` is true; fails after `ms` (generous: a loaded 2-core CI box is slow). */
  async waitFor(what: string, check: () => boolean, ms = 15_000): Promise<void> {
    const until = Date.now() + ms;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * Runs `action` once `check` holds (a script step inside a stream handler). A step that never
   * comes is recorded in `stuck` and `onStuck` runs (tests stop their agent there), so a broken
   * agent fails the test instead of hanging it.
   */
  when(what: string, check: () => boolean, action: () => void): void {
    this.waitFor(what, check).then(action, () => {
      this.stuck.push(what);
      this.onStuck();
    });
  }

  readonly stuck: string[] = [];
  onStuck: () => void = () => {};

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text ? JSON.parse(text) : undefined;
    const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const url = new URL(req.url ?? '/', this.url);
    const error = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
    };
    const check = (schema: TSchema, what: string): boolean => {
      if (Value.Check(schema, body)) return true;
      this.invalid.push(`${what}: ${text}`);
      error(400, 'invalid_argument', `bad ${what}`);
      return false;
    };
    if (req.method === 'POST' && url.pathname === '/southbound/v1/enroll') {
      if (!this.enrollmentTokens.has(auth)) return error(401, 'unauthenticated', 'enrollment token expired or revoked');
      if (!check(EnrollRequest, 'enroll')) return;
      this.enrolls.push(body as EnrollRequest);
      this.enrollTimes.push(performance.now());
      if (this.enrollDelayMs) await new Promise((r) => setTimeout(r, this.enrollDelayMs));
      if (this.enrollStatus === 404) return error(404, 'not_found', 'no registered host matches this machine: register the host first');
      if (this.enrollStatus === 429) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ error: { code: 'rate_limited', message: 'the server is busy; retry after 1 s' } }));
        return;
      }
      this.agentToken = `agent-token-${this.tokenSeq++}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hostId: 'host-0a1b2c3d', project: 'default', token: this.agentToken }));
      return;
    }
    if (auth !== this.agentToken) return error(401, 'unauthenticated', 'the agent token was revoked');
    if (req.method === 'POST' && url.pathname === '/southbound/v1/heartbeat') {
      if (!check(HeartbeatRequest, 'heartbeat')) return;
      this.heartbeats.push((body as { seq: number }).seq);
    } else if (req.method === 'POST' && url.pathname === '/southbound/v1/hardware') {
      if (!check(HardwareReport, 'hardware report')) return;
      this.hardware.push(body as HardwareReport);
    } else if (req.method === 'POST' && url.pathname === '/southbound/v1/status') {
      if (!check(AgentStatusReport, 'status')) return;
      this.statuses.push(body as AgentStatusReport);
    } else if (req.method === 'POST' && url.pathname === '/southbound/v1/node-config') {
      if (!check(NodeConfigReport, 'node-config report')) return;
      this.nodeConfigReports.push(body as NodeConfigReport);
    } else if (req.method === 'POST' && url.pathname.startsWith('/southbound/v1/commands/')) {
      if (!check(CommandResult, 'command result')) return;
      this.results.push({ id: decodeURIComponent(url.pathname.split('/')[4]), body: body as CommandResult });
    } else if (req.method === 'GET' && url.pathname === '/southbound/v1/stream') {
      if (this.streamStatus !== 200) {
        this.streamRefusals++;
        return error(this.streamStatus, 'unavailable', 'restarting');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      const stream: FakeStream = {
        index: this.streams.length,
        lastEventId: req.headers['last-event-id'] as string | undefined,
        send: (event, data, id) => res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
        end: () => res.end(),
      };
      this.streams.push(stream);
      this.onStream(stream);
      return;
    } else {
      return error(404, 'not_found', `no route ${req.method} ${url.pathname}`);
    }
    res.writeHead(204).end();
  }
}
