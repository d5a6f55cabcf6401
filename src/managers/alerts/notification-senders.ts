import { createHmac } from 'node:crypto';
import type { AlertmanagerPayload } from './alertmanager-payload.ts';

/** What a receiver answered: ok (2xx, or the mail server took it), and a short description. */
export interface SendResult {
  ok: boolean;
  /** e.g. `HTTP 200: {"status":"ok"}`, `250 OK`, `connect ECONNREFUSED 127.0.0.1:9` (never a secret). */
  detail: string;
}

export interface WebhookTarget {
  url: string;
  headers?: Record<string, string>;
  hmacSecret?: string;
}

export interface EmailTarget {
  smtpHost: string;
  smtpPort: number;
  starttls: boolean;
  username?: string;
  password?: string;
  from: string;
  to: string[];
}

export interface Senders {
  webhook(target: WebhookTarget, payload: AlertmanagerPayload, idempotencyKey: string): Promise<SendResult>;
  email(target: EmailTarget, payload: AlertmanagerPayload, idempotencyKey: string): Promise<SendResult>;
}

/** A receiver that does not answer in this long counts as down (the delivery is retried). */
export const SEND_TIMEOUT_MS = 10_000;
/** Of a receiver's answer, this much is kept (for the test command and the delivery record). */
const ANSWER_CHARS = 300;

/**
 * POSTs the payload as JSON with `X-Eim-Signature: sha256=<hex HMAC of the body>` when a secret
 * is set and `Idempotency-Key`; 2xx is ok, anything else (5xx, 4xx, a timeout, a refused
 * connection) is not. Redirects are not followed.
 */
export async function sendWebhook(t: WebhookTarget, payload: AlertmanagerPayload, key: string, timeoutMs = SEND_TIMEOUT_MS): Promise<SendResult> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { ...t.headers, 'content-type': 'application/json', 'user-agent': 'eim-alerts', 'idempotency-key': key };
  if (t.hmacSecret) headers['x-eim-signature'] = `sha256=${createHmac('sha256', t.hmacSecret).update(body).digest('hex')}`;
  try {
    const res = await fetch(t.url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const text = (await answerStart(res)).slice(0, ANSWER_CHARS).replace(/\s+/g, ' ');
    return { ok: res.status >= 200 && res.status < 300, detail: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
  } catch (e) {
    return { ok: false, detail: describeFetchError(e, timeoutMs) };
  }
}

/** The start of a receiver's answer: reads only what is kept (a receiver may answer with anything, of any size), then lets the rest go. */
async function answerStart(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < ANSWER_CHARS * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
    }
  } catch {
    // what arrived is enough
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = err?.cause;
  return (cause?.message ?? err?.message ?? String(e)).slice(0, 300);
}

/** The notification as an email: subject, plain text and HTML listing the alerts, with console links. */
export function emailContent(p: AlertmanagerPayload): { subject: string; text: string; html: string } {
  const firing = p.alerts.filter((a) => a.status === 'firing').length;
  const resolved = p.alerts.length - firing;
  const group = Object.entries(p.groupLabels).map(([k, v]) => `${k}=${v}`).join(' ');
  const subject = `[${p.status.toUpperCase()}${firing ? `:${firing}` : ''}${resolved ? ` resolved:${resolved}` : ''}] ${group}`.slice(0, 250);
  const shown = p.alerts.slice(0, 200);
  const more = p.alerts.length - shown.length;
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const text = [
    `${firing} firing, ${resolved} resolved (${group})`,
    '',
    ...shown.map((a) => `- [${a.status}] ${a.annotations.summary ?? a.labels.alertname}${a.annotations.description ? `\n  ${a.annotations.description}` : ''}\n  since ${a.startsAt}${a.status === 'resolved' ? `, resolved ${a.endsAt}` : ''}\n  ${a.generatorURL}`),
    ...(more > 0 ? [`… and ${more} more: ${p.externalURL.replace(/\/+$/, '')}/#/alerts`] : []),
    '',
    `eim alerts: ${p.externalURL}`,
  ].join('\n');
  const html = [
    `<p>${firing} firing, ${resolved} resolved (${esc(group)})</p><ul>`,
    ...shown.map((a) => `<li><b>[${a.status}]</b> <a href="${esc(a.generatorURL)}">${esc(a.annotations.summary ?? a.labels.alertname)}</a>${a.annotations.description ? `<br>${esc(a.annotations.description)}` : ''}<br><small>since ${esc(a.startsAt)}${a.status === 'resolved' ? `, resolved ${esc(a.endsAt)}` : ''}</small></li>`),
    '</ul>',
    ...(more > 0 ? [`<p>… and ${more} more: <a href="${esc(p.externalURL)}/#/alerts">the alerts view</a></p>`] : []),
  ].join('\n');
  return { subject, text, html };
}

/** Sends the notification by SMTP (STARTTLS required when `starttls`), through nodemailer. */
export async function sendEmail(t: EmailTarget, payload: AlertmanagerPayload, key: string, timeoutMs = SEND_TIMEOUT_MS): Promise<SendResult> {
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: t.smtpHost,
    port: t.smtpPort,
    secure: t.smtpPort === 465,
    requireTLS: t.starttls,
    ignoreTLS: !t.starttls && t.smtpPort !== 465,
    auth: t.username ? { user: t.username, pass: t.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const c = emailContent(payload);
  try {
    const info = await transport.sendMail({ from: t.from, to: t.to, subject: c.subject, text: c.text, html: c.html, headers: { 'X-Eim-Idempotency-Key': key } });
    return { ok: true, detail: String(info.response ?? 'accepted').slice(0, ANSWER_CHARS) };
  } catch (e) {
    // nodemailer's messages name the server and the SMTP answer, never the password.
    return { ok: false, detail: String((e as Error)?.message ?? e).slice(0, ANSWER_CHARS) };
  } finally {
    transport.close();
  }
}

export const defaultSenders: Senders = { webhook: sendWebhook, email: sendEmail };
