import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { checkedLookup, checkReceiverAddress } from './webhook-policy.ts';
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

/** How a notification is sent. */
export interface SendOptions {
  /** A receiver that does not answer in this long counts as down. @default SEND_TIMEOUT_MS */
  timeoutMs?: number;
  /**
   * Deliver to this machine's own or its link's addresses (loopback, link-local such as a cloud's
   * metadata service, unspecified, multicast, broadcast): otherwise such a receiver is refused before
   * any connection, checked on the address actually connected to. Private ranges are always allowed.
   * @default false
   */
  allowLocal?: boolean;
}

/**
 * POSTs the payload as JSON with `X-Eim-Signature: sha256=<hex HMAC of the body>` when a secret
 * is set and `Idempotency-Key`; 2xx is ok, anything else (5xx, 4xx, a timeout, a refused
 * connection, a local address not allowed) is not. Redirects are not followed.
 * @example await sendWebhook({ url: 'https://hooks.example/eim' }, payload, key, { allowLocal: false })
 */
export async function sendWebhook(t: WebhookTarget, payload: AlertmanagerPayload, key: string, o: SendOptions = {}): Promise<SendResult> {
  const timeoutMs = o.timeoutMs ?? SEND_TIMEOUT_MS;
  const allowLocal = o.allowLocal ?? false;
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { ...t.headers, 'content-type': 'application/json', 'user-agent': 'eim-alerts', 'idempotency-key': key };
  if (t.hmacSecret) headers['x-eim-signature'] = `sha256=${createHmac('sha256', t.hmacSecret).update(body).digest('hex')}`;
  headers['content-length'] = String(Buffer.byteLength(body));
  let url: URL;
  try {
    url = new URL(t.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, detail: `not an http(s) URL: ${url.protocol}` };
    // An IP literal is connected to without a lookup: checked here.
    checkReceiverAddress(url.hostname, allowLocal);
  } catch (e) {
    return { ok: false, detail: describeError(e, timeoutMs) };
  }
  try {
    const { status, text } = await post(url, headers, body, allowLocal, timeoutMs);
    const kept = text.slice(0, ANSWER_CHARS).replace(/\s+/g, ' ');
    return { ok: status >= 200 && status < 300, detail: `HTTP ${status}${kept ? `: ${kept}` : ''}` };
  } catch (e) {
    return { ok: false, detail: describeError(e, timeoutMs) };
  }
}

class SendTimeout extends Error {}

/** One POST over node:http(s), connecting only where checkedLookup allows; answers the status and the start of the body (the rest is let go). */
function post(url: URL, headers: Record<string, string>, body: string, allowLocal: boolean, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // A fresh agent per request (agent: false): no pooled socket skips the connect-time check.
    const req = request(url, { method: 'POST', headers, agent: false, lookup: checkedLookup(allowLocal) });
    let settled = false;
    let answered: (() => void) | undefined;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    // Past the timeout, an answer that has begun counts with what arrived of it.
    const timer = setTimeout(() => (answered ? answered() : req.destroy(new SendTimeout())), timeoutMs);
    req.on('error', (e) => settle(() => reject(e)));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      answered = () =>
        settle(() => {
          // A receiver may answer with anything, of any size: only what is kept is read.
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      res.on('data', (c: Buffer) => {
        if (settled) return;
        chunks.push(c);
        bytes += c.byteLength;
        if (bytes >= ANSWER_CHARS * 4) answered!();
      });
      res.on('end', answered);
      // What arrived is enough.
      res.on('error', answered);
      res.on('aborted', answered);
    });
    req.end(body);
  });
}

function describeError(e: unknown, timeoutMs: number): string {
  if (e instanceof SendTimeout) return `no answer within ${timeoutMs / 1000} s`;
  if (e instanceof AggregateError && e.errors.length > 0) return describeError(e.errors[0], timeoutMs);
  const err = e as Error | undefined;
  return String(err?.message || e).slice(0, 300);
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

/**
 * Sends the notification by SMTP (STARTTLS required when `starttls`), through nodemailer. Unless
 * local receivers are allowed, the SMTP host is resolved and checked here and nodemailer is handed a
 * socket connected to the checked address (its getSocket hook), as sendWebhook does.
 */
export async function sendEmail(t: EmailTarget, payload: AlertmanagerPayload, key: string, o: SendOptions = {}): Promise<SendResult> {
  const timeoutMs = o.timeoutMs ?? SEND_TIMEOUT_MS;
  const allowLocal = o.allowLocal ?? false;
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
    ...(allowLocal ? {} : { getSocket: (_o: unknown, cb: (err: Error | null, socket?: { connection: Socket }) => void) => void checkedSocket(t.smtpHost, t.smtpPort, timeoutMs).then((connection) => cb(null, { connection }), (e: Error) => cb(e)) }),
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

/**
 * The senders (webhook over node:http(s), email over nodemailer) with one policy for local receivers.
 * @example const senders = createSenders({ allowLocal: false })
 */
export function createSenders(o: Pick<SendOptions, 'allowLocal'> = {}): Senders {
  return {
    webhook: (target, payload, key) => sendWebhook(target, payload, key, o),
    email: (target, payload, key) => sendEmail(target, payload, key, o),
  };
}

/** A plain TCP socket to the SMTP server, connected only to an address that is not local (nodemailer starts TLS on it itself). */
function checkedSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    try {
      checkReceiverAddress(host, false);
    } catch (e) {
      return reject(e);
    }
    const socket = connect({ host, port, lookup: checkedLookup(false), timeout: timeoutMs });
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.once('error', fail);
    socket.once('timeout', () => fail(new Error(`connection to ${host}:${port} timed out after ${timeoutMs / 1000} s`)));
    socket.once('connect', () => {
      socket.off('error', fail);
      // nodemailer attaches its own handler at once; this one keeps an error before that from crashing the process.
      socket.on('error', () => {});
      socket.removeAllListeners('timeout');
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}
