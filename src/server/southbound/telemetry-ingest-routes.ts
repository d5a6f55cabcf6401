import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { type AgentTelemetryReport, EimError, isEimError, type StatusTriple } from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import type { IngestResult } from '../../store/index.ts';
import { headlineMetrics } from '../telemetry/headline-metrics.ts';
import { decodeOtlpLogs, decodeOtlpMetrics } from '../telemetry/otlp-decode.ts';
import type { TelemetryService } from '../telemetry/telemetry-service.ts';
import type { AgentAuth, AgentCaller } from './agent-auth.ts';
import { KeyedCounts } from '../keyed-counts.ts';
import { AdmissionValve } from './admission-valve.ts';
import { KeyedBuckets } from './southbound-limits.ts';

export interface TelemetryIngestDeps {
  service: InventoryService;
  /** How agent calls are authenticated: the same as every southbound route (token, certificate with mutual TLS). */
  auth: AgentAuth;
  telemetry: TelemetryService;
}

/** Batches of one host in progress at once (an agent sends one at a time; its buffer replays a few). */
const MAX_BATCHES_PER_HOST = 4;

/** `x-eim-batch: <stream>.<seq>`: the agent's buffer numbers its batches; a repeat is stored once. */
const BATCH_HEADER = /^([A-Za-z0-9-]{1,64})\.(\d{1,15})$/;

const OtlpBody = Type.Object({}, { additionalProperties: true, description: 'OTLP/HTTP JSON: ExportMetricsServiceRequest or ExportLogsServiceRequest (protobuf is not accepted: send application/json)' });
const PartialSuccess = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object({ rejectedDataPoints: Type.Optional(Type.Integer()), rejectedLogRecords: Type.Optional(Type.Integer()), errorMessage: Type.Optional(Type.String()) }),
    ),
  },
  { description: 'OTLP ExportServiceResponse: what was refused, and why' },
);

/**
 * The agents' OTLP/HTTP endpoints (JSON), `/southbound/v1/otlp/v1/metrics` and `/…/logs`: an
 * OpenTelemetry exporter pointed at `<server>/southbound/v1/otlp` with the agent's token as a
 * bearer header sends here. The host is the token's, never the payload's. Bounded: a per-host
 * bucket, a body limit, points, series and records per batch (TelemetryOptions).
 */
export function registerTelemetryIngestRoutes(app: FastifyInstance, deps: TelemetryIngestDeps): void {
  const { service, auth, telemetry } = deps;
  const o = telemetry.options;
  const system = service.as({ subject: 'southbound', grants: [{ project: '*', role: 'manager' }] });
  const bucket = new KeyedBuckets(o.rate, 'telemetry batches from this host');
  const tags = ['Southbound'];

  /** Batches in progress per host: one agent (or its stolen token) cannot hold the server's whole budget. */
  const perHost = new KeyedCounts();

  // The server's own bound, all hosts together: batches from their first byte until their handler
  // is done with them (parsed, decoded, waiting for or in a commit). Checked before the body is
  // read, so a shed batch costs neither parsing nor a host's rate token. A batch whose agent went
  // away while the handler runs still counts until the handler ends (its work goes on).
  // Retry-After stays 1 s: an agent's telemetry queue resends soon, and a batch costs little.
  const valve = new AdmissionValve(o.maxQueuedBatches, 'telemetry batches in progress', 1);
  // And their bytes: each weighs what its Content-Length says (the body limit when it does not say,
  // and at most that: a longer body is refused with 413 as it is read).
  const bytes = new AdmissionValve(o.maxQueuedBytes, 'bytes of telemetry batches in progress', 1);
  /** Admitted batches: who sent each (authenticated at admission), and how to give its share back. */
  const slots = new WeakMap<FastifyRequest, { agent: AgentCaller; release: () => void; handled: boolean }>();
  /** Requests that ended before their admission did. */
  const gone = new WeakSet<FastifyRequest>();

  /** Takes a host's share of every budget, or throws rate_limited having taken none. */
  const take = (hostId: string, weight: number): (() => void) => {
    const held = perHost.held(hostId);
    if (held >= MAX_BATCHES_PER_HOST) throw new EimError('rate_limited', `host ${hostId} has ${held} telemetry batches in progress (at most ${MAX_BATCHES_PER_HOST}); retry after 1 s`, { details: { retryAfterSeconds: 1 } });
    const leaveBatches = valve.enter();
    let leaveBytes: () => void;
    try {
      leaveBytes = bytes.enter(weight);
    } catch (e) {
      leaveBatches();
      throw e;
    }
    const leaveHost = perHost.add(hostId);
    return () => {
      leaveBatches();
      leaveBytes();
      leaveHost();
    };
  };

  const admit = async (req: FastifyRequest) => {
    // Only an agent's batch counts against the budgets: anyone else is refused before (401, 403).
    const agent = await auth.identify(req);
    // Gone while it was authenticated (a cold cache waits): its abort hook has run already, and
    // nothing would ever release what it took now.
    if (gone.has(req) || req.raw.destroyed) throw new EimError('unavailable', 'the client went away before its batch was admitted');
    const declared = Number(req.headers['content-length']);
    const weight = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, o.limits.bodyBytes) : o.limits.bodyBytes;
    try {
      slots.set(req, { agent, release: take(agent.hostId, weight), handled: false });
    } catch (e) {
      telemetry.stats.shed++;
      throw e;
    }
  };
  /** The batch's sender, with the host's rate token taken now that the handler takes the batch. */
  const agentOf = (req: FastifyRequest): AgentCaller => {
    const { agent } = slots.get(req)!; // admit ran first, or the request never got here
    bucket.take(agent.hostId);
    return agent;
  };
  const done = (req: FastifyRequest) => slots.get(req)?.release();
  /** The handler took it: it releases the slot itself when it ends. */
  const handled = async (req: FastifyRequest) => void (slots.has(req) && (slots.get(req)!.handled = true));
  /** Answered or abandoned before the handler ran (a bad body, a closed connection). */
  const ended = async (req: FastifyRequest) => {
    if (!slots.has(req)) gone.add(req); // admission still running: it must not take anything now
    else if (slots.get(req)!.handled === false) done(req);
  };

  const batchOf = (req: FastifyRequest): { stream: string; seq: number } | undefined => {
    const h = req.headers['x-eim-batch'];
    if (h === undefined) return undefined;
    const m = typeof h === 'string' ? BATCH_HEADER.exec(h) : null;
    if (!m) throw new EimError('invalid_argument', 'x-eim-batch must be <stream>.<seq> (letters, digits and dashes, a dot, a whole number)');
    return { stream: m[1], seq: Number(m[2]) };
  };

  /** status.telemetry.lastSampleAt, when this server won the host's once-a-minute slot. */
  const noteSample = async (project: string, hostId: string, r: IngestResult) => {
    if (!r.lastSampleDue || r.lastSampleAt === undefined) return;
    try {
      const host = await system.get(project, 'Host', hostId);
      if (!(host.status as { telemetry?: unknown }).telemetry) return; // no config computed: nothing to attach it to
      await service.as({ subject: `agent/${hostId}`, grants: [{ project, role: 'manager' }] }).updateStatus(project, 'Host', hostId, { telemetry: { lastSampleAt: new Date(r.lastSampleAt).toISOString() } });
    } catch (e) {
      if (!(isEimError(e) && e.code === 'not_found')) o.onError(`writing lastSampleAt of ${hostId} failed`, e);
    }
  };

  const opts = (operationId: string, summary: string) => ({
    bodyLimit: o.limits.bodyBytes,
    onRequest: admit,
    preHandler: handled,
    onResponse: ended,
    onRequestAbort: ended,
    schema: { tags, operationId, summary, body: OtlpBody, headers: Type.Object({ 'x-eim-batch': Type.Optional(Type.String({ description: '<stream>.<seq>: a repeat of a stored batch is not stored again' })) }), response: { 200: PartialSuccess } },
  });

  app.post('/southbound/v1/otlp/v1/metrics', opts('exportAgentMetrics', "OTLP/HTTP JSON metrics of the agent's host"), (req) => whileHandled(req, () => metrics(req)));
  app.post('/southbound/v1/otlp/v1/logs', opts('exportAgentLogs', "OTLP/HTTP JSON log records of the agent's host"), (req) => whileHandled(req, () => logs(req)));

  async function whileHandled<T>(req: FastifyRequest, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      done(req);
    }
  }

  async function metrics(req: FastifyRequest) {
    const a = agentOf(req);
    const batch = batchOf(req);
    const decoded = decodeOtlpMetrics(req.body, telemetry.window(), o.limits);
    const points = [...decoded.points, ...headlineMetrics(decoded.points)];
    const r = await telemetry.store.ingest({ project: a.project, hostId: a.hostId, ...(batch ? { batch } : {}), points, logs: [] });
    telemetry.stats.batches++;
    telemetry.stats.points += r.stored;
    telemetry.stats.rejected += decoded.rejected + r.rejected;
    if (r.duplicate) telemetry.stats.duplicates++;
    else telemetry.forwarder?.forward('metrics', req.body, { project: a.project, hostId: a.hostId });
    await noteSample(a.project, a.hostId, r);
    const rejected = decoded.rejected + r.rejected;
    const reasons = [...decoded.reasons, ...(r.rejected > 0 ? [`the host has reached its cap of series; ${r.rejected} point(s) of new series were not kept`] : [])];
    return rejected > 0 ? { partialSuccess: { rejectedDataPoints: rejected, errorMessage: reasons.join('; ').slice(0, 1000) } } : {};
  }

  async function logs(req: FastifyRequest) {
    const a = agentOf(req);
    const batch = batchOf(req);
    const decoded = decodeOtlpLogs(req.body, telemetry.window(), o.limits);
    const r = await telemetry.store.ingest({ project: a.project, hostId: a.hostId, ...(batch ? { batch } : {}), points: [], logs: decoded.logs });
    telemetry.stats.batches++;
    telemetry.stats.logs += r.logs;
    telemetry.stats.rejected += decoded.rejected;
    if (r.duplicate) telemetry.stats.duplicates++;
    else telemetry.forwarder?.forward('logs', req.body, { project: a.project, hostId: a.hostId });
    return decoded.rejected > 0 ? { partialSuccess: { rejectedLogRecords: decoded.rejected, errorMessage: decoded.reasons.join('; ') } } : {};
  }
}

/**
 * The part of status.telemetry an agent's status report changes (what it collects, what it
 * cannot, what its buffer dropped), or undefined when nothing changed. Only onto a config the
 * telemetry manager computed.
 * @example telemetryStatusPatch(host.status.telemetry, { unknownGroups: ['gpu'] }, now)
 */
export function telemetryStatusPatch(current: Record<string, unknown> | undefined, report: AgentTelemetryReport | undefined, now: Date): Record<string, unknown> | undefined {
  if (!current || !report) return undefined;
  const unknown = report.unknownGroups ?? [];
  const problems = report.problems ?? [];
  const parts = [...(unknown.length > 0 ? [`unknown group${unknown.length > 1 ? 's' : ''} ${unknown.map((g) => JSON.stringify(g)).join(', ')} (not collected)`] : []), ...problems];
  const message = parts.length > 0 ? parts.join('; ').slice(0, 1024) : 'collecting every group of the config';
  const indicator: StatusTriple['indicator'] = parts.length > 0 ? 'error' : 'idle';
  const cur = current.collectionStatus as StatusTriple | undefined;
  const patch: Record<string, unknown> = {};
  if (!cur || cur.message !== message || cur.indicator !== indicator) patch.collectionStatus = { message, indicator, timestamp: now.toISOString() };
  const curUnknown = (current.unknownGroups as string[] | undefined) ?? [];
  if (JSON.stringify(curUnknown) !== JSON.stringify(unknown)) patch.unknownGroups = unknown.length > 0 ? unknown : null;
  if (report.droppedBatches !== undefined && report.droppedBatches !== (current.droppedBatches ?? 0)) patch.droppedBatches = report.droppedBatches;
  return Object.keys(patch).length > 0 ? patch : undefined;
}
