import { EimError } from '../../api/index.ts';
import type { IngestLog, IngestPoint } from '../../store/index.ts';

/** What one OTLP batch may hold (more is refused whole: 400, or 413 for the body size). */
export interface OtlpLimits {
  /** Body bytes. @default 1 MiB */
  bodyBytes: number;
  /** Data points in one metrics batch. @default 10000 */
  points: number;
  /** Distinct series (name and attributes) in one metrics batch. @default 2000 */
  series: number;
  /** Log records in one logs batch. @default 2000 */
  logRecords: number;
}

export const DEFAULT_OTLP_LIMITS: OtlpLimits = Object.freeze({ bodyBytes: 1024 * 1024, points: 10_000, series: 2000, logRecords: 2000 });

/** Bounds on what a point or a record carries; past them, values are cut (attributes dropped, bodies truncated). */
const MAX_ATTRS = 16;
const MAX_KEY = 64;
const MAX_VALUE = 256;
const MAX_BODY = 8192;
const NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,127}$/;

export interface DecodedMetrics {
  points: IngestPoint[];
  /** Points refused for their time (too old for the store, or in the future) or kind (histograms, deltas). */
  rejected: number;
  reasons: string[];
}

export interface DecodedLogs {
  logs: IngestLog[];
  rejected: number;
  reasons: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown, what: string): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new EimError('invalid_argument', `${what} must be an array (OTLP/HTTP JSON)`);
  return v;
};

/** A time in nanoseconds (a decimal string or a number, as OTLP JSON allows) in milliseconds; undefined when absent or 0. */
export function nanosToMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? Math.floor(v / 1e6) : undefined;
  if (typeof v === 'string' && /^\d{1,25}$/.test(v)) {
    const ms = Number(BigInt(v) / 1_000_000n);
    return ms > 0 ? ms : undefined;
  }
  return undefined;
}

/** Text a store can keep: no NUL, no unpaired surrogate, at most `max` characters. */
export function storableText(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  return cut.replace(/\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function anyValueText(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return String(v.boolValue);
  if (typeof v.intValue === 'string' || typeof v.intValue === 'number') return String(v.intValue);
  if (typeof v.doubleValue === 'number') return String(v.doubleValue);
  if (v.kvlistValue !== undefined || v.arrayValue !== undefined) return JSON.stringify(v.kvlistValue ?? v.arrayValue);
  return undefined;
}

function attributes(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const a of arr(list, 'attributes')) {
    if (!isObj(a) || typeof a.key !== 'string' || a.key === '') continue;
    const value = anyValueText(a.value);
    if (value === undefined) continue;
    if (++n > MAX_ATTRS) break;
    out[storableText(a.key, MAX_KEY)] = storableText(value, MAX_VALUE);
  }
  return out;
}

/**
 * Reads an OTLP/HTTP JSON ExportMetricsServiceRequest into points. Gauges and cumulative
 * monotonic sums (counters) are kept; non-monotonic sums count as gauges; histograms and delta
 * sums are refused (counted). Resource attributes are ignored: the host is the agent token's.
 * Points outside [notBefore, notAfter] are refused (counted). Malformed structure is `invalid_argument`.
 * @example decodeOtlpMetrics(JSON.parse(body), { notBefore, notAfter }, DEFAULT_OTLP_LIMITS)
 */
export function decodeOtlpMetrics(body: unknown, window: { notBefore: number; notAfter: number }, limits: OtlpLimits = DEFAULT_OTLP_LIMITS): DecodedMetrics {
  if (!isObj(body)) throw new EimError('invalid_argument', 'the body must be an OTLP ExportMetricsServiceRequest: { "resourceMetrics": [...] }');
  const out: DecodedMetrics = { points: [], rejected: 0, reasons: [] };
  const reason = (r: string) => {
    if (!out.reasons.includes(r) && out.reasons.length < 8) out.reasons.push(r);
  };
  const seriesSeen = new Set<string>();
  let count = 0;
  for (const rm of arr(body.resourceMetrics, 'resourceMetrics')) {
    if (!isObj(rm)) throw new EimError('invalid_argument', 'each resourceMetrics entry must be an object');
    for (const sm of arr(rm.scopeMetrics, 'scopeMetrics')) {
      if (!isObj(sm)) throw new EimError('invalid_argument', 'each scopeMetrics entry must be an object');
      for (const m of arr(sm.metrics, 'metrics')) {
        if (!isObj(m) || typeof m.name !== 'string') throw new EimError('invalid_argument', 'each metric must be an object with a name');
        if (!NAME.test(m.name)) throw new EimError('invalid_argument', `metric name ${JSON.stringify(m.name.slice(0, 64))} is not allowed: letters, digits, _ . / -, at most 128, starting with a letter or _`);
        const unit = typeof m.unit === 'string' ? storableText(m.unit, 32) : '';
        let type: 'gauge' | 'counter';
        let points: unknown[];
        if (isObj(m.gauge)) {
          type = 'gauge';
          points = arr(m.gauge.dataPoints, 'gauge.dataPoints');
        } else if (isObj(m.sum)) {
          points = arr(m.sum.dataPoints, 'sum.dataPoints');
          const monotonic = m.sum.isMonotonic === true;
          if (monotonic && Number(m.sum.aggregationTemporality ?? 2) !== 2) {
            out.rejected += points.length;
            reason(`${m.name}: delta sums are not kept (send cumulative)`);
            continue;
          }
          type = monotonic ? 'counter' : 'gauge';
        } else {
          const n = ['histogram', 'exponentialHistogram', 'summary'].map((k) => (isObj(m[k]) ? arr((m[k] as Obj).dataPoints, k).length : 0)).reduce((a, b) => a + b, 0);
          out.rejected += n;
          reason(`${m.name}: only gauges and sums are kept`);
          continue;
        }
        for (const p of points) {
          if (++count > limits.points) throw new EimError('invalid_argument', `a batch holds at most ${limits.points} data points; send smaller batches`);
          if (!isObj(p)) throw new EimError('invalid_argument', `${m.name}: each data point must be an object`);
          const value = p.asDouble !== undefined ? Number(p.asDouble) : p.asInt !== undefined ? Number(p.asInt) : NaN;
          const t = nanosToMs(p.timeUnixNano);
          if (!Number.isFinite(value) || t === undefined) {
            out.rejected++;
            reason(`${m.name}: a point without a finite value or a time`);
            continue;
          }
          if (t < window.notBefore || t > window.notAfter) {
            out.rejected++;
            reason(t > window.notAfter ? `${m.name}: points from the future (check the node's clock)` : `${m.name}: points older than the store keeps`);
            continue;
          }
          const attrs = attributes(p.attributes);
          const key = `${m.name}\0${JSON.stringify(attrs)}`;
          if (!seriesSeen.has(key)) {
            seriesSeen.add(key);
            if (seriesSeen.size > limits.series) throw new EimError('invalid_argument', `a batch holds at most ${limits.series} series; send smaller batches`);
          }
          out.points.push({ name: m.name, attrs, type, unit, t, value });
        }
      }
    }
  }
  return out;
}

/** OTLP severity text as a number when the number is missing. */
function severityOf(r: Obj): number {
  const n = Number(r.severityNumber ?? 0);
  if (Number.isInteger(n) && n >= 1 && n <= 24) return n;
  const text = typeof r.severityText === 'string' ? r.severityText.toLowerCase() : '';
  if (/^(fatal|crit|alert|emerg|err)/.test(text)) return 17;
  if (text.startsWith('warn')) return 13;
  if (text.startsWith('debug') || text.startsWith('trace')) return 5;
  return 9;
}

/**
 * Reads an OTLP/HTTP JSON ExportLogsServiceRequest into log lines (bodies as text, cut at 8 KiB;
 * records outside the window refused and counted).
 */
export function decodeOtlpLogs(body: unknown, window: { notBefore: number; notAfter: number }, limits: OtlpLimits = DEFAULT_OTLP_LIMITS): DecodedLogs {
  if (!isObj(body)) throw new EimError('invalid_argument', 'the body must be an OTLP ExportLogsServiceRequest: { "resourceLogs": [...] }');
  const out: DecodedLogs = { logs: [], rejected: 0, reasons: [] };
  let count = 0;
  for (const rl of arr(body.resourceLogs, 'resourceLogs')) {
    if (!isObj(rl)) throw new EimError('invalid_argument', 'each resourceLogs entry must be an object');
    for (const sl of arr(rl.scopeLogs, 'scopeLogs')) {
      if (!isObj(sl)) throw new EimError('invalid_argument', 'each scopeLogs entry must be an object');
      for (const r of arr(sl.logRecords, 'logRecords')) {
        if (++count > limits.logRecords) throw new EimError('invalid_argument', `a batch holds at most ${limits.logRecords} log records; send smaller batches`);
        if (!isObj(r)) throw new EimError('invalid_argument', 'each log record must be an object');
        const t = nanosToMs(r.timeUnixNano) ?? nanosToMs(r.observedTimeUnixNano);
        if (t === undefined || t < window.notBefore || t > window.notAfter) {
          out.rejected++;
          if (out.reasons.length === 0) out.reasons.push(t === undefined ? 'log records without a time' : 'log records outside the kept window');
          continue;
        }
        const body = anyValueText(r.body) ?? '';
        const attrs = attributes(r.attributes);
        out.logs.push({ t, severity: severityOf(r), body: storableText(body, MAX_BODY), ...(Object.keys(attrs).length > 0 ? { attrs } : {}) });
      }
    }
  }
  return out;
}
