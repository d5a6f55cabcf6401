import type http from 'node:http';
import { isIPv4, isIPv6, type Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import { KeyedCounts } from './keyed-counts.ts';

export interface ConnectionGuardOptions {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections per client address (an IPv4 address, an IPv6 /64). */
  maxConnectionsPerAddress: number;
  /** A new connection must complete its first request head within this. */
  headerTimeoutMs: number;
  /** The server speaks TLS: refused connections get no HTTP answer, and the header timeout starts after the handshake. */
  tls: boolean;
  /** Where refusals are reported (at most one line per 10 s). */
  log?: (message: string) => void;
}

/** Addresses held to the total only: a proxy or a simulator on this machine may hold thousands of connections. */
const LOOPBACK = new Set(['127.0.0.1', '::1']);
const REFUSAL_LOG_MS = 10_000;
const BUSY = (() => {
  const body = JSON.stringify({ error: { code: 'unavailable', message: 'the server holds too many connections (from your address, or in all); retry shortly' } });
  return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n${body}`;
})();

/**
 * Guards a Node HTTP(S) server against connection floods: caps open connections in all and per
 * client address (refused ones get a 503 on plain HTTP, a close on TLS, before any request is read),
 * and closes a connection that has not sent a complete request head within the header timeout
 * (slowloris included). Later requests on a keep-alive connection are bounded by the server's own
 * headersTimeout and keepAliveTimeout; a request in progress (an SSE stream) is never cut.
 * @example new ConnectionGuard({ maxConnections: 16384, maxConnectionsPerAddress: 512, headerTimeoutMs: 10_000, tls: false }).attach(app.server)
 */
export class ConnectionGuard {
  private open = 0;
  private readonly byAddress = new KeyedCounts();
  /** The address key an admitted connection counts against (loopback ones have none). */
  private readonly addresses = new WeakMap<Socket, string>();
  private readonly deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  readonly refused = { total: 0, per_address: 0 };
  private unreported = 0;
  private lastReport = 0;
  // One close listener for every connection (Node calls it with the socket as `this`), not a
  // closure each: an agent's connection stays open for days, and so would its closures.
  private readonly onAdmittedClose: (this: Socket) => void;
  private readonly onArmedClose: (this: Socket) => void;

  constructor(private readonly options: ConnectionGuardOptions) {
    const guard = this;
    this.onAdmittedClose = function () {
      guard.leave(this);
    };
    this.onArmedClose = function () {
      guard.disarm(this);
    };
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.open;
  }

  /** Puts the guard in front of the server's own connection handling. */
  attach(server: http.Server): this {
    // The server's listeners (HTTP parser, or TLS then HTTP) see only the connections admitted here.
    const inner = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of inner) listener.call(server, socket);
      if (!this.options.tls) this.arm(socket);
    });
    if (this.options.tls) server.on('secureConnection', (socket: Socket) => this.arm(socket));
    server.on('request', (req: http.IncomingMessage) => this.disarm(req.socket));
    return this;
  }

  /** `eim_connections_open` and `eim_connections_refused_total{reason}`. */
  register(registry: Registry): this {
    const guard = this;
    new Gauge({ name: 'eim_connections_open', help: 'Open client connections', registers: [registry], collect() { this.set(guard.open); } });
    new Counter({
      name: 'eim_connections_refused_total',
      help: 'Connections refused: past --max-connections (total) or --max-connections-per-ip (per_address)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ reason: 'total' }, guard.refused.total);
        this.inc({ reason: 'per_address' }, guard.refused.per_address);
      },
    });
    return this;
  }

  private admit(socket: Socket): boolean {
    const ip = plainAddress(socket.remoteAddress ?? '');
    const key = LOOPBACK.has(ip) ? undefined : addressKey(ip);
    if (this.open >= this.options.maxConnections) return this.refuse(socket, 'total', ip);
    if (key !== undefined && this.byAddress.held(key) >= this.options.maxConnectionsPerAddress) return this.refuse(socket, 'per_address', ip);
    this.open++;
    if (key !== undefined) {
      this.byAddress.increment(key);
      this.addresses.set(socket, key);
    }
    socket.on('close', this.onAdmittedClose);
    return true;
  }

  /** An admitted connection closed. */
  private leave(socket: Socket): void {
    this.open--;
    const key = this.addresses.get(socket);
    if (key === undefined) return;
    this.addresses.delete(socket);
    this.byAddress.decrement(key);
  }

  private refuse(socket: Socket, reason: 'total' | 'per_address', ip: string): false {
    this.refused[reason]++;
    socket.on('error', () => {}); // a reset by the peer must not become an uncaught error
    if (this.options.tls) socket.destroy();
    else {
      socket.end(BUSY);
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.report(reason, ip);
    return false;
  }

  private report(reason: string, ip: string): void {
    this.unreported++;
    const now = Date.now();
    if (!this.options.log || now - this.lastReport < REFUSAL_LOG_MS) return;
    const limit = reason === 'total' ? `--max-connections ${this.options.maxConnections}` : `--max-connections-per-ip ${this.options.maxConnectionsPerAddress}`;
    this.options.log(`refused ${this.unreported} connection(s) in the last ${this.lastReport ? Math.round((now - this.lastReport) / 1000) : 0} s; the latest from ${ip}, past ${limit}`);
    this.unreported = 0;
    this.lastReport = now;
  }

  private arm(socket: Socket): void {
    const timer = setTimeout(destroy, this.options.headerTimeoutMs, socket);
    timer.unref();
    this.deadlines.set(socket, timer);
    socket.on('close', this.onArmedClose);
  }

  private disarm(socket: Socket): void {
    const timer = this.deadlines.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.deadlines.delete(socket);
  }
}

function destroy(socket: Socket): void {
  socket.destroy();
}

/** An IPv4-mapped IPv6 address as IPv4; any other address as it is. */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/**
 * What connections are counted by: the IPv4 address, or the IPv6 /64 (one subscriber's prefix:
 * counting single IPv6 addresses would let one client pass as millions).
 * @example addressKey('2001:db8:1:2:3:4:5:6') // '2001:db8:1:2::/64'
 */
export function addressKey(address: string): string {
  const a = plainAddress(address).replace(/%.*$/, '');
  if (!isIPv6(a)) return a;
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const full = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
