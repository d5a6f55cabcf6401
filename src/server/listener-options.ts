import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';
import { isIP } from 'node:net';
import { type TlsMaterial, tlsServerOptions } from './tls-material.ts';

export interface ListenerOptions {
  /** The certificate chain and key (PEM): HTTPS when present, plain HTTP otherwise. */
  tls?: TlsMaterial;
  /** Mutual TLS for agents: the agent CA's certificate (PEM); client certificates are requested and verified against it (needs `tls`). */
  agentCa?: string;
  /** Open connections in all; refused past it. @default 16384, or the open-file limit minus 512 when that is lower */
  maxConnections?: number;
  /** Open connections per client address (IPv4 address, IPv6 /64); 127.0.0.1 and ::1 count toward the total only. @default 512 */
  maxConnectionsPerAddress?: number;
  /** A connection must send a complete request head within this (the first one counted from the connect, later ones from their first byte). @default 10000 */
  headerTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. @default 30000 */
  keepAliveTimeoutMs?: number;
}

export type CompiledListenerOptions = Readonly<Required<Omit<ListenerOptions, 'tls' | 'agentCa'>> & Pick<ListenerOptions, 'tls' | 'agentCa'>>;

/** File descriptors the server keeps for itself (store, logs, files) out of the open-file limit. */
const FD_RESERVE = 512;
const MAX_CONNECTIONS = 16_384;

/**
 * Fills the listener's defaults and checks them.
 * @example compileListenerOptions({}).headerTimeoutMs // 10000
 */
export function compileListenerOptions(o: ListenerOptions = {}): CompiledListenerOptions {
  if (o.agentCa && !o.tls) throw new RangeError('mutual TLS for agents (agentCa) needs TLS: give the server a certificate and key too');
  const c = {
    tls: o.tls,
    agentCa: o.agentCa,
    maxConnections: o.maxConnections ?? defaultMaxConnections(),
    maxConnectionsPerAddress: o.maxConnectionsPerAddress ?? 512,
    headerTimeoutMs: o.headerTimeoutMs ?? 10_000,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 30_000,
  };
  for (const k of ['maxConnections', 'maxConnectionsPerAddress', 'headerTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new RangeError(`${k} must be a whole number ≥ 1 (got ${c[k]})`);
  }
  return Object.freeze(c);
}

/** 16,384, or fewer when the process may not open that many files (Linux: /proc/self/limits). */
export function defaultMaxConnections(limits = readLimits()): number {
  const soft = openFileLimits(limits)?.soft ?? Number.POSITIVE_INFINITY;
  return Math.max(64, Math.min(MAX_CONNECTIONS, soft - FD_RESERVE));
}

/** The process's open-file limits ("Max open files" of /proc/self/limits; children inherit them); undefined where there is no such file. */
export function openFileLimits(limits = readLimits()): { soft: number; hard: number } | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits ?? '');
  if (!m) return undefined;
  const n = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined; // not Linux: the fixed default
  }
}

/**
 * The Node server options (for Fastify's `http` or `https` option): timeouts, and the TLS material.
 * Node checks the header timeout of later requests on a connection every `connectionsCheckingInterval`.
 */
export function nodeServerOptions(o: CompiledListenerOptions): http.ServerOptions | https.ServerOptions {
  const base: http.ServerOptions = {
    headersTimeout: o.headerTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(2000, Math.floor(o.headerTimeoutMs / 2))),
  };
  return o.tls ? { ...base, ...tlsServerOptions(o.tls, o.agentCa), handshakeTimeout: o.headerTimeoutMs } : base;
}

/** Whether a listen address reaches this machine only (then plain HTTP is acceptable). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return h === '::1';
}

/** The warning block a server logs when it listens beyond this machine without TLS. */
export function plainHttpWarning(host: string, port: number): string[] {
  const bar = '!'.repeat(78);
  return [
    bar,
    `!! eim listens on ${host}:${port} WITHOUT TLS.`,
    '!! Tokens, agent credentials, SSH keys and configs cross the network in clear text: anyone',
    '!! on the path can read them and take over the fleet. Start with --tls-cert FILE --tls-key FILE',
    '!! (EIM_TLS_CERT, EIM_TLS_KEY), or listen on 127.0.0.1 behind a TLS-terminating proxy.',
    bar,
  ];
}
