import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import {
  EimError, HostMetricsAnswer, levelOfSeverity, listAll, LOG_LEVELS, type LogLevel, type LogLine, LogsAnswer, type Resource, SEVERITY_NUMBER, TOP_SORTS, type TopHost, TopHostsAnswer, type TopSort,
} from '../../api/index.ts';
import type { InventoryService } from '../../inventory/index.ts';
import type { SeriesMeta } from '../../store/index.ts';
import { compileMetricsQuery, hostMetrics, timeParam } from '../telemetry/metrics-query.ts';
import { type ExposedHost, prometheusExposition } from '../telemetry/prometheus-exposition.ts';
import type { TelemetryService } from '../telemetry/telemetry-service.ts';
import { callerOf, intParam, stringParam } from '../request-helpers.ts';

const ErrorBody = Type.Ref('Error');
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const tags = ['Telemetry'];

/** Hosts one fleet answer covers at most (a larger fleet: narrow it with a filter, one scrape job per site or region). */
export const MAX_FLEET_HOSTS = 10_000;
const MAX_PROMETHEUS_HOSTS = 5_000;
const MAX_LOG_PAGE = 1000;

type Q = Record<string, string | undefined>;

function query(req: FastifyRequest): Q {
  const q = req.query as Record<string, unknown>;
  const out: Q = {};
  for (const [k, v] of Object.entries(q ?? {})) out[k] = stringParam(v, k);
  return out;
}

function levelParam(v: string | undefined): LogLevel | undefined {
  if (v === undefined || v === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new EimError('invalid_argument', `level must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(v.slice(0, 20))})`);
  return v as LogLevel;
}

/** Page tokens of log pages: the position of the last line given, `<t>.<seq>`. */
function pageTokenParam(v: string | undefined): { t: number; seq: number } | undefined {
  if (v === undefined || v === '') return undefined;
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(v);
  if (!m) throw new EimError('invalid_argument', 'pageToken is not one this server gave out');
  return { t: Number(m[1]), seq: Number(m[2]) };
}

/** `afterId`: a line id (lines stored after it), or `end` (none: just the cursor of the newest line stored). */
function afterIdParam(v: string | undefined): number | 'end' | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === 'end') return 'end';
  if (!/^\d{1,15}$/.test(v)) throw new EimError('invalid_argument', 'afterId is a line id or end');
  return Number(v);
}

/**
 * The northbound routes of collected telemetry, project-scoped like everything else: a host's
 * series and logs, the same across a filter of hosts (top-N, logs), and a Prometheus exposition.
 * Every call first reads the host(s) through the Inventory with the caller's rights, so another
 * project's host answers 404 as if absent; samples are then read by host id only.
 */
export function registerTelemetryRoutes(app: FastifyInstance, inventory: InventoryService, telemetry: TelemetryService): void {
  const store = telemetry.store;
  const base = '/v1/projects/:project';
  const project = (req: FastifyRequest) => (req.params as { project: string }).project;
  const hostOf = (req: FastifyRequest) => inventory.get(callerOf(req), project(req), 'Host', (req.params as { id: string }).id);
  /** The hosts of a filter (the caller must be able to list hosts); undefined without a filter (the whole project, after an access check). */
  const hostsOf = async (req: FastifyRequest, filter: string | undefined): Promise<Resource[] | undefined> => {
    const inv = inventory.as(callerOf(req));
    if (filter === undefined || filter === '') {
      await inv.list(project(req), 'Host', { pageSize: 1 });
      return undefined;
    }
    const page = await inv.list(project(req), 'Host', { filter, pageSize: 1 });
    if (page.totalSize > MAX_FLEET_HOSTS) throw new EimError('invalid_argument', `the filter matches ${page.totalSize} hosts; at most ${MAX_FLEET_HOSTS} per call: narrow it`);
    return (await listAll(inv, project(req), 'Host', { filter })).items as Resource[];
  };

  const logsQuery = (q: Q, now: number) => {
    const limit = intParam(q.limit, 'limit', 1) ?? 100;
    if (limit > MAX_LOG_PAGE) throw new EimError('invalid_argument', `limit is at most ${MAX_LOG_PAGE}`);
    const level = levelParam(q.level);
    const text = q.q;
    if (text !== undefined && text.length > 256) throw new EimError('invalid_argument', 'q is at most 256 characters');
    const afterId = afterIdParam(q.afterId);
    if (afterId !== undefined && q.pageToken) throw new EimError('invalid_argument', 'afterId and pageToken do not go together (afterId pages by the answer’s cursor)');
    return { limit, since: timeParam(q.since, 'since', now), ...(level ? { minSeverity: SEVERITY_NUMBER[level] } : {}), ...(text ? { text } : {}), before: pageTokenParam(q.pageToken), afterId };
  };
  /** A logs answer: newest first and paged, or with afterId the lines stored after it, in the order stored, and the cursor to ask after next. */
  const answerLogs = async (where: { project: string; hostIds?: string[] }, q: ReturnType<typeof logsQuery>): Promise<LogsAnswer> => {
    const { afterId, ...lq } = q;
    if (afterId === 'end') return { items: [], cursor: String(await store.logsPosition(where)) };
    if (afterId === undefined) return logsAnswer(await store.logs({ ...where, ...lq, limit: lq.limit + 1 }), lq.limit);
    // Up to the newest line stored when asked: lines the level or q filter leaves out still move
    // the cursor, so the next question does not read them again.
    const end = await store.logsPosition(where);
    const { items } = logsAnswer(await store.logs({ ...where, ...lq, afterSeq: afterId, upToSeq: end, limit: lq.limit }), lq.limit);
    return { items, cursor: items.length === lq.limit ? items[items.length - 1].id : String(Math.max(end, afterId)) };
  };
  const logsAnswer = (rows: Awaited<ReturnType<typeof store.logs>>, limit: number): LogsAnswer => {
    const page = rows.slice(0, limit);
    const items: LogLine[] = page.map((r) => ({ id: String(r.seq), hostId: r.hostId, t: new Date(r.t).toISOString(), level: levelOfSeverity(r.severity), body: r.body, ...(r.attrs ? { attributes: r.attrs } : {}) }));
    const last = page[page.length - 1];
    return { items, ...(rows.length > limit && last ? { nextPageToken: `${last.t}.${last.seq}` } : {}) };
  };

  const metricsQuerystring = Type.Object({
    names: Type.Optional(Type.String({ description: 'Comma-separated metric names (default: cpu_used_percent, memory_used_percent, disk_used_percent)' })),
    from: Type.Optional(Type.String({ description: 'RFC 3339 time or a duration before now (1h, 7d); default: an hour before `to`' })),
    to: Type.Optional(Type.String({ description: 'RFC 3339 time or a duration before now; default: now' })),
    step: Type.Optional(Type.String({ description: 'Seconds (or 5m) per point; default: about 360 points' })),
  });
  const logsQuerystring = Type.Object({
    since: Type.Optional(Type.String({ description: 'RFC 3339 time or a duration before now (15m)' })),
    level: Type.Optional(Type.Enum([...LOG_LEVELS], { description: 'This level and more severe ones' })),
    q: Type.Optional(Type.String({ description: 'Literal, case-sensitive substring of the line (no wildcards)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LOG_PAGE, default: 100 })),
    pageToken: Type.Optional(Type.String()),
    afterId: Type.Optional(Type.String({ description: 'Only lines stored after this line id, in the order stored (also late lines with older times), and `cursor` to ask after next; `end`: no lines, the cursor of the newest stored. What `eim logs --follow` uses.' })),
  });

  app.get(`${base}/hosts/:id/metrics`, { schema: { tags, operationId: 'getHostMetrics', summary: "A host's series, aggregated per step (gauges: mean, min, max; counters: rate per second)", querystring: metricsQuerystring, response: { 200: HostMetricsAnswer, ...errors } } }, async (req) => {
    const host = await hostOf(req);
    return hostMetrics(store, host.id, compileMetricsQuery(query(req), store.now()), telemetry.retention.rawMs);
  });

  app.get(`${base}/hosts/:id/logs`, { schema: { tags, operationId: 'getHostLogs', summary: "A host's log lines, newest first, paged", querystring: logsQuerystring, response: { 200: LogsAnswer, ...errors } } }, async (req) => {
    const host = await hostOf(req);
    return answerLogs({ project: host.project, hostIds: [host.id] }, logsQuery(query(req), store.now()));
  });

  app.get(
    `${base}/hosts::logs`,
    { schema: { tags, operationId: 'getFleetLogs', summary: 'Log lines of the hosts a filter selects (default: every host of the project), newest first, paged', querystring: Type.Object({ ...logsQuerystring.properties, filter: Type.Optional(Type.String()) }), response: { 200: LogsAnswer, ...errors } } },
    async (req) => {
      const q = query(req);
      const hosts = await hostsOf(req, q.filter);
      return answerLogs({ project: project(req), ...(hosts ? { hostIds: hosts.map((h) => h.id) } : {}) }, logsQuery(q, store.now()));
    },
  );

  app.get(
    `${base}/hosts::top`,
    {
      schema: {
        tags,
        operationId: 'getTopHosts',
        summary: 'The busiest or fullest hosts: by the latest cpu, memory or disk use (of hosts that sent a sample in the last 15 minutes)',
        querystring: Type.Object({ sort: Type.Optional(Type.Enum(Object.keys(TOP_SORTS))), filter: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) }),
        response: { 200: TopHostsAnswer, ...errors },
      },
    },
    async (req): Promise<TopHostsAnswer> => {
      const q = query(req);
      const sort = (q.sort ?? 'cpu') as TopSort;
      if (!Object.hasOwn(TOP_SORTS, sort)) throw new EimError('invalid_argument', `sort must be one of ${Object.keys(TOP_SORTS).join(', ')}`);
      const limit = intParam(q.limit, 'limit', 1) ?? 10;
      if (limit > 100) throw new EimError('invalid_argument', 'limit is at most 100');
      const hosts = await hostsOf(req, q.filter);
      const metric = TOP_SORTS[sort];
      const since = store.now() - 15 * 60_000;
      const r = await store.topHosts({ project: project(req), metric, limit, since, ...(hosts ? { hostIds: hosts.map((h) => h.id) } : {}) });
      const inv = inventory.as(callerOf(req));
      // Hosts deleted since their last sample are left out.
      const named = hosts ?? (await Promise.all(r.rows.map((x) => inv.get(project(req), 'Host', x.hostId).catch(() => undefined))));
      const names = new Map(named.flatMap((h) => (h ? [[h.id, h.name] as const] : [])));
      const items: TopHost[] = r.rows
        .filter((x) => names.has(x.hostId))
        .map((x) => ({ hostId: x.hostId, name: names.get(x.hostId)!, lastSampleAt: new Date(x.lastT).toISOString(), ...x.headline }));
      return { sort, items, scanned: r.scanned };
    },
  );

  app.get(
    `${base}/metrics::prometheus`,
    {
      schema: {
        tags,
        operationId: 'getPrometheusMetrics',
        summary: `Prometheus text exposition of each host's latest samples (a scrape target; labels project, host, host_id, site, region, label_<key>); at most ${MAX_PROMETHEUS_HOSTS} hosts per scrape: shard with filter`,
        querystring: Type.Object({ filter: Type.Optional(Type.String()) }),
        response: { 200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    async (req, reply) => {
      const q = query(req);
      const p = project(req);
      const inv = inventory.as(callerOf(req));
      const first = await inv.list(p, 'Host', { filter: q.filter, pageSize: 1 });
      if (first.totalSize > MAX_PROMETHEUS_HOSTS) throw new EimError('invalid_argument', `${first.totalSize} hosts match; one scrape covers at most ${MAX_PROMETHEUS_HOSTS}: give each scrape job a filter (a site or region)`);
      const hosts = (await listAll(inv, p, 'Host', { ...(q.filter ? { filter: q.filter } : {}) })).items as Resource[];
      const sites = new Map(((await listAll(inv, p, 'Site')).items as Resource[]).map((s) => [s.id, s]));
      const regions = new Map(((await listAll(inv, p, 'Region')).items as Resource[]).map((r) => [r.id, r]));
      const exposed = new Map<string, ExposedHost>();
      for (const h of hosts) {
        const site = sites.get((h.spec as { siteId?: string }).siteId ?? '');
        const region = site ? regions.get((site.spec as { regionId?: string }).regionId ?? '') : undefined;
        exposed.set(h.id, { id: h.id, name: h.name, project: p, site: site?.name ?? '', region: region?.name ?? '', labels: h.labels as Record<string, string> });
      }
      const latest = await store.latestOf([...exposed.keys()]);
      const series = new Map<number, SeriesMeta & { hostId: string }>();
      for (const row of latest) for (const s of await store.series(row.hostId)) series.set(s.id, { ...s, hostId: row.hostId });
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return [...prometheusExposition(exposed, latest, series, store.now() - 10 * 60_000)].join('');
    },
  );
}
