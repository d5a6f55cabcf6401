import { createHash } from 'node:crypto';
import type { Alert, AlertReceiver } from './alert-types.ts';

/** One alert as Alertmanager's webhook sends it. */
export interface PayloadAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** The body of Alertmanager's webhook (version 4), so tools that consume it work unchanged. */
export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: PayloadAlert[];
}

/** Alertmanager's zero time: a firing alert's endsAt. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The console page of what an alert is about: its host's page when it has a host, else the alerts view. */
export function consoleLink(externalUrl: string, a: Alert): string {
  const base = externalUrl.replace(/\/+$/, '');
  const hostId = a.status.labels.hostId;
  return hostId ? `${base}/#/hosts/${hostId}` : `${base}/#/alerts`;
}

const common = (maps: Record<string, string>[]): Record<string, string> => {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
};

/**
 * The webhook body for a group's notification.
 * @example buildPayload({ receiver, groupLabels: { alertname: 'host-connection-lost' }, alerts, externalUrl })
 */
export function buildPayload(o: { receiver: AlertReceiver; groupKey: string; groupLabels: Record<string, string>; alerts: Alert[]; externalUrl: string; truncatedAlerts?: number }): AlertmanagerPayload {
  const alerts: PayloadAlert[] = o.alerts.map((a) => ({
    status: a.status.state === 'firing' ? 'firing' : 'resolved',
    labels: a.status.labels,
    annotations: a.status.annotations,
    startsAt: a.status.startsAt ?? a.status.activeSince,
    endsAt: a.status.state === 'firing' ? ZERO_TIME : (a.status.endsAt ?? ZERO_TIME),
    generatorURL: consoleLink(o.externalUrl, a),
    fingerprint: a.status.fingerprint,
  }));
  return {
    version: '4',
    groupKey: o.groupKey,
    truncatedAlerts: o.truncatedAlerts ?? 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: o.receiver.name,
    groupLabels: o.groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: o.externalUrl,
    alerts,
  };
}

/**
 * A key naming exactly this notification (receiver, group, each alert's state): a resend after a
 * crash carries the same key, so a receiver can drop the repeat.
 */
export function idempotencyKey(receiverId: string, groupKey: string, alerts: readonly Alert[]): string {
  const h = createHash('sha256').update(`${receiverId}\n${groupKey}\n`);
  for (const a of [...alerts].sort((x, y) => (x.status.fingerprint < y.status.fingerprint ? -1 : 1))) h.update(`${a.status.fingerprint}:${a.status.state}:${a.status.startsAt ?? ''}\n`);
  return h.digest('hex').slice(0, 32);
}
