import Type, { type Static } from 'typebox';
import { closed, Opt, Timestamp } from './common.ts';

// Collected telemetry (issue 15): what agents collect, how the server answers queries over it.
// Samples and log lines are not resources: they live in their own tables, never in the event log.

/** The metric groups an agent collects (TelemetryGroup `groups` of a metrics group). */
export const METRIC_GROUPS = ['cpu', 'memory', 'disk', 'diskio', 'net', 'load', 'temp'] as const;
export type MetricGroup = (typeof METRIC_GROUPS)[number];

/**
 * The log groups: `syslog` is the whole system log (journald, else /var/log/syslog), `kernel` the
 * kernel's messages, `auth` the authentication log.
 */
export const LOG_GROUPS = ['syslog', 'kernel', 'auth'] as const;
export type LogGroup = (typeof LOG_GROUPS)[number];

/** Log levels, most severe first; a configured level keeps it and everything more severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The OpenTelemetry severity number that starts each level's range (ERROR 17, WARN 13, INFO 9, DEBUG 5). */
export const SEVERITY_NUMBER: Record<LogLevel, number> = { error: 17, warn: 13, info: 9, debug: 5 };

/** The level of an OpenTelemetry severity number (1–24; 0, unspecified, counts as info). */
export function levelOfSeverity(n: number | undefined): LogLevel {
  if (n === undefined || n === 0) return 'info';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  return 'debug';
}

/** Whether a line at `level` passes a filter set to `min` (warn passes warn and error). */
export function levelAtLeast(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(min);
}

/**
 * Headline metrics the server derives from each batch (and stores as series like the others), for
 * the fleet views, top-N and alert rules: CPU busy (not idle, not waiting for I/O), memory used
 * (total − available, as `free` counts it) and the fullest filesystem (used / (used + available),
 * as `df` counts it), in percent.
 */
export const HEADLINE_METRICS = ['cpu_used_percent', 'memory_used_percent', 'disk_used_percent'] as const;
export type HeadlineMetric = (typeof HEADLINE_METRICS)[number];
/** `eim top hosts --sort`: the headline metric behind each. */
export const TOP_SORTS = { cpu: 'cpu_used_percent', memory: 'memory_used_percent', disk: 'disk_used_percent' } as const;
export type TopSort = keyof typeof TOP_SORTS;

/** What the agent reports of its collection (POST /southbound/v1/status `telemetry`). */
export const AgentTelemetryReport = Type.Object(
  {
    /** Group names in the config this agent does not know (they are not collected). */
    unknownGroups: Opt(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
    /** Other problems, e.g. no journald and no /var/log/syslog for a log group. */
    problems: Opt(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 16 })),
    /** Batches the agent's buffer dropped (oldest first) while the server was away, since the agent's data dir was made. */
    droppedBatches: Opt(Type.Integer({ minimum: 0 })),
  },
  closed,
);
export type AgentTelemetryReport = Static<typeof AgentTelemetryReport>;

/** One point of a series answer: the bucket's start and its aggregate. */
export const MetricPoint = Type.Object(
  {
    t: Timestamp,
    /** Gauges: the mean over the bucket; counters: the rate per second over it. */
    value: Type.Number(),
    min: Opt(Type.Number()),
    max: Opt(Type.Number()),
  },
  closed,
);
export type MetricPoint = Static<typeof MetricPoint>;

export const MetricSeries = Type.Object(
  {
    name: Type.String(),
    attributes: Type.Record(Type.String(), Type.String()),
    type: Type.Enum(['gauge', 'counter']),
    unit: Opt(Type.String()),
    points: Type.Array(MetricPoint),
  },
  closed,
);
export type MetricSeries = Static<typeof MetricSeries>;

/** GET …/hosts/{id}/metrics */
export const HostMetricsAnswer = Type.Object(
  {
    hostId: Type.String(),
    from: Timestamp,
    to: Timestamp,
    step: Type.Integer({ description: 'seconds per point' }),
    /** `raw` (full resolution) or `rollup` (5-minute aggregates, for older or longer ranges). */
    resolution: Type.Enum(['raw', 'rollup']),
    series: Type.Array(MetricSeries),
  },
  closed,
);
export type HostMetricsAnswer = Static<typeof HostMetricsAnswer>;

export const LogLine = Type.Object(
  {
    /** Orders lines of one time; the page token carries it. */
    id: Type.String(),
    hostId: Type.String(),
    t: Timestamp,
    level: Type.Enum([...LOG_LEVELS]),
    body: Type.String(),
    attributes: Opt(Type.Record(Type.String(), Type.String())),
  },
  closed,
);
export type LogLine = Static<typeof LogLine>;

export const LogsAnswer = Type.Object(
  {
    items: Type.Array(LogLine),
    nextPageToken: Opt(Type.String()),
    /** With `afterId`: the id to give as `afterId` next (the last line's, or the newest stored with `afterId=end`). */
    cursor: Opt(Type.String()),
  },
  closed,
);
export type LogsAnswer = Static<typeof LogsAnswer>;

/** One host in a fleet view: its headline metrics as last sampled. */
export const TopHost = Type.Object(
  {
    hostId: Type.String(),
    name: Type.String(),
    lastSampleAt: Opt(Timestamp),
    cpu_used_percent: Opt(Type.Number()),
    memory_used_percent: Opt(Type.Number()),
    disk_used_percent: Opt(Type.Number()),
  },
  closed,
);
export type TopHost = Static<typeof TopHost>;

export const TopHostsAnswer = Type.Object({ sort: Type.String(), items: Type.Array(TopHost), scanned: Type.Integer() }, closed);
export type TopHostsAnswer = Static<typeof TopHostsAnswer>;
