import { ValueType } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { JsonLogsSerializer, JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';

/** One collected value: an OpenTelemetry gauge, or a cumulative monotonic sum (a counter). */
export interface Sample {
  name: string;
  attrs: Record<string, string>;
  type: 'gauge' | 'counter';
  /** UCUM, as OpenTelemetry names units: By, s, 1, Cel, {load}. */
  unit: string;
  value: number;
  /** Milliseconds since the epoch. */
  t: number;
}

export interface LogEntry {
  t: number;
  /** OpenTelemetry severity number (ERROR 17, WARN 13, INFO 9, DEBUG 5). */
  severity: number;
  body: string;
  attrs: Record<string, string>;
}

const SCOPE = { name: 'eim-agent', version: '1' };
const SEVERITY_TEXT = (n: number) => (n >= 17 ? 'ERROR' : n >= 13 ? 'WARN' : n >= 9 ? 'INFO' : 'DEBUG');
const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

/** Text the server can store: NUL and unpaired surrogates become U+FFFD (the server refuses a body holding them). */
export function safeText(s: string): string {
  return s.replace(/\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Encodes samples as an OTLP/HTTP JSON ExportMetricsServiceRequest, with the OpenTelemetry JS
 * transformer (the wire format is theirs, not ours). The resource names the node; the server takes
 * the host from the agent's token, not from here.
 * @example new TextDecoder().decode(encodeMetrics(samples, { 'host.name': 'edge-01' }))
 */
export function encodeMetrics(samples: readonly Sample[], resource: Record<string, string>): Uint8Array {
  const byMetric = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byMetric.get(s.name) ?? [];
    list.push(s);
    byMetric.set(s.name, list);
  }
  const metrics: MetricData[] = [...byMetric].map(([name, list]) => {
    const first = list[0];
    const descriptor = { name, description: '', unit: first.unit, valueType: ValueType.DOUBLE };
    const dataPoints = list.map((s) => ({ startTime: hr(s.t), endTime: hr(s.t), attributes: s.attrs, value: s.value }));
    return first.type === 'counter'
      ? { descriptor, dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints }
      : { descriptor, dataPointType: DataPointType.GAUGE, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints };
  });
  const rm: ResourceMetrics = { resource: resourceFromAttributes(resource), scopeMetrics: [{ scope: SCOPE, metrics }] };
  return JsonMetricsSerializer.serializeRequest(rm)!;
}

/** Encodes log entries as an OTLP/HTTP JSON ExportLogsServiceRequest (the transformer's wire format). */
export function encodeLogs(entries: readonly LogEntry[], resource: Record<string, string>): Uint8Array {
  const res = resourceFromAttributes(resource);
  const records: ReadableLogRecord[] = entries.map((e) => ({
    hrTime: hr(e.t),
    hrTimeObserved: hr(e.t),
    severityNumber: e.severity,
    severityText: SEVERITY_TEXT(e.severity),
    body: safeText(e.body),
    resource: res,
    instrumentationScope: SCOPE,
    attributes: Object.fromEntries(Object.entries(e.attrs).map(([k, v]) => [k, safeText(v)])),
    droppedAttributesCount: 0,
  }));
  return JsonLogsSerializer.serializeRequest(records)!;
}
