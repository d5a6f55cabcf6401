import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import os from 'node:os';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { buildPayload } from './alertmanager-payload.ts';
import type { Alert, AlertReceiver } from './alert-types.ts';
import { sendEmail, sendWebhook } from './notification-senders.ts';
import { rereadOwnAddresses } from './webhook-policy.ts';

const now = '2026-12-06T10:00:00.000Z';
const alert = (i: number, state: 'firing' | 'resolved'): Alert =>
  ({
    id: `alert-0000000${i}`, name: `a${i}`, kind: 'Alert', project: 'default', labels: {}, revision: 1, generation: 1, createdAt: now, updatedAt: now, spec: {},
    status: {
      ruleId: 'alertrule-00000001', resourceId: `host-0000000${i}`, state, severity: 'critical', activeSince: now, startsAt: now, ...(state === 'resolved' ? { endsAt: '2026-12-06T10:05:00.000Z' } : {}),
      fingerprint: `f${i}`, labels: { alertname: 'host-connection-lost', severity: 'critical', host: `edge-${i}`, hostId: `host-0000000${i}`, site: 'berlin-1' },
      annotations: { summary: `Host edge-${i} lost <its> connection` },
    },
  }) as Alert;
const receiver = { name: 'ops', project: 'default', id: 'alertreceiver-00000001' } as AlertReceiver;
const payload = buildPayload({ receiver, groupKey: 'g', groupLabels: { alertname: 'host-connection-lost', site: 'berlin-1' }, alerts: [alert(1, 'firing'), alert(2, 'firing'), alert(3, 'resolved')], externalUrl: 'https://eim.example' });

test('email: plain text and HTML list the alerts with links to the console; the SMTP login is used and never shown', async () => {
  const mails: { raw: string; user?: string; pass?: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      mails.push({ raw: '', user: auth.username, pass: auth.password ?? undefined });
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      let raw = '';
      stream.on('data', (c) => (raw += c));
      stream.on('end', () => {
        mails.push({ raw });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as { port: number }).port;
  try {
    const r = await sendEmail({ smtpHost: '127.0.0.1', smtpPort: port, starttls: false, username: 'eim', password: 'smtp-pass-123', from: 'eim@example.com', to: ['ops@example.com'] }, payload, 'key-1', { allowLocal: true });
    assert.equal(r.ok, true, r.detail);
    assert.ok(!r.detail.includes('smtp-pass-123'));
    assert.deepEqual(mails.filter((m) => m.user).map((m) => [m.user, m.pass]), [['eim', 'smtp-pass-123']]);
    const mail = await simpleParser(mails.find((m) => m.raw)!.raw);
    assert.match(mail.subject ?? '', /^\[FIRING:2 resolved:1\] alertname=host-connection-lost site=berlin-1$/);
    assert.equal((mail.to as { text: string }).text, 'ops@example.com');
    assert.match(mail.text ?? '', /Host edge-1 lost <its> connection/);
    assert.match(mail.text ?? '', /https:\/\/eim\.example\/#\/hosts\/host-00000001/);
    assert.match(mail.text ?? '', /\[resolved\] Host edge-3/);
    assert.match(String(mail.html), /<a href="https:\/\/eim\.example\/#\/hosts\/host-00000002">Host edge-2 lost &#60;its&#62; connection<\/a>/);
    assert.equal(mail.headers.get('x-eim-idempotency-key'), 'key-1');
    // A server that is not there: a failure that says why, without the password.
    const down = await sendEmail({ smtpHost: '127.0.0.1', smtpPort: 1, starttls: false, username: 'eim', password: 'smtp-pass-123', from: 'eim@example.com', to: ['ops@example.com'] }, payload, 'key-2', { allowLocal: true });
    assert.equal(down.ok, false);
    assert.match(down.detail, /ECONNREFUSED|connect/i);
    assert.ok(!down.detail.includes('smtp-pass-123'));
    // starttls required, and the server offers none: refused, not sent in the clear.
    const plain = await sendEmail({ smtpHost: '127.0.0.1', smtpPort: port, starttls: true, from: 'eim@example.com', to: ['ops@example.com'] }, payload, 'key-3', { allowLocal: true });
    assert.equal(plain.ok, false);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('webhook: a 5xx, a refused connection and a receiver that never answers are failures saying why; no redirect is followed', async () => {
  let status = 503;
  let hang = false;
  const server = createServer((req, res) => {
    req.resume();
    if (hang) return;
    if (status === 302) return void res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
    res.writeHead(status).end('x'.repeat(1000));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    const r503 = await sendWebhook({ url }, payload, 'k', { allowLocal: true });
    assert.equal(r503.ok, false);
    assert.match(r503.detail, /^HTTP 503: x+$/);
    assert.ok(r503.detail.length <= 320, 'the answer is cut short');
    status = 302;
    assert.match((await sendWebhook({ url }, payload, 'k', { allowLocal: true })).detail, /^HTTP 302/);
    hang = true;
    const slow = await sendWebhook({ url }, payload, 'k', { timeoutMs: 300, allowLocal: true });
    assert.deepEqual(slow, { ok: false, detail: 'no answer within 0.3 s' });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await sendWebhook({ url: `http://127.0.0.1:${closedPort}/` }, payload, 'k', { allowLocal: true });
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /ECONNREFUSED/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('webhook: of an endless answer only its start is read and kept', async () => {
  let written = 0;
  let ended = false;
  let cut = false;
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'x'.repeat(64 * 1024);
    // Keeps writing until the client goes away (or 64 MiB, a bound for the test itself).
    const more = () => {
      while (written < 64 * 2 ** 20) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      ended = true;
      res.end();
    };
    res.on('close', () => (cut = !ended));
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await sendWebhook({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook` }, payload, 'k', { timeoutMs: 5000, allowLocal: true });
    assert.equal(r.ok, true);
    assert.match(r.detail, /^HTTP 200: x+$/);
    assert.ok(r.detail.length <= 'HTTP 200: '.length + 300, `kept ${r.detail.length} characters`);
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(cut, `the connection was let go before the answer ended (${written} bytes written)`);
  } finally {
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
  }
});

/** A listener on 127.0.0.1 and ::1 that counts what reaches it (requests, or bare connections for SMTP). */
async function countingListener(): Promise<{ port: number; requests: () => number; connections: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(200).end('got it');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '::', r));
  return {
    port: (server.address() as { port: number }).port,
    requests: () => requests,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const REFUSAL = /^refused: (127\.0\.0\.1|::1|::ffff:7f00:1) is a loopback address: this server does not deliver to its own host or link \(--alert-local-receivers allow on eim server or eim managers permits it\)$/;

test('webhook: a receiver on this machine (127.0.0.1, localhost resolved at connect time, [::ffff:127.0.0.1], [::1]) is refused and nothing reaches it; allowed, it is delivered', async () => {
  const l = await countingListener();
  try {
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '[::1]']) {
      const r = await sendWebhook({ url: `http://${host}:${l.port}/hook` }, payload, 'k');
      assert.equal(r.ok, false, host);
      assert.match(r.detail, REFUSAL, host);
      const https = await sendWebhook({ url: `https://${host}:${l.port}/hook` }, payload, 'k', { allowLocal: false });
      assert.match(https.detail, REFUSAL, `https://${host}`);
    }
    assert.equal(l.connections(), 0, 'no connection was even opened');
    const allowed = await sendWebhook({ url: `http://localhost:${l.port}/hook` }, payload, 'k', { allowLocal: true });
    assert.deepEqual(allowed, { ok: true, detail: 'HTTP 200: got it' });
    assert.equal(l.requests(), 1);
  } finally {
    await l.close();
  }
});

test('webhook: link-local (a cloud metadata service) is refused before any connection; not an http(s) URL is a failure saying so', async () => {
  assert.match((await sendWebhook({ url: 'http://169.254.169.254/latest/meta-data/' }, payload, 'k', { timeoutMs: 500 })).detail, /^refused: 169\.254\.169\.254 is a link-local address/);
  assert.match((await sendWebhook({ url: 'http://[fe80::1]/' }, payload, 'k', { timeoutMs: 500 })).detail, /^refused: fe80::1 is a link-local address/);
  assert.match((await sendWebhook({ url: 'http://0.0.0.0:9/' }, payload, 'k', { timeoutMs: 500 })).detail, /^refused: 0\.0\.0\.0 is an unspecified address/);
  assert.deepEqual(await sendWebhook({ url: 'ftp://example.com/' }, payload, 'k'), { ok: false, detail: 'not an http(s) URL: ftp:' });
});

test('email: an SMTP server on this machine is refused (by address and by name) and nothing connects to it', async () => {
  const l = await countingListener();
  try {
    for (const smtpHost of ['127.0.0.1', 'localhost', '::1']) {
      const r = await sendEmail({ smtpHost, smtpPort: l.port, starttls: false, from: 'eim@example.com', to: ['ops@example.com'] }, payload, 'k');
      assert.equal(r.ok, false, smtpHost);
      assert.match(r.detail, REFUSAL, smtpHost);
    }
    assert.equal(l.connections(), 0);
  } finally {
    await l.close();
  }
});

test("email: with local receivers refused, this machine's LAN address is refused, and an SMTP server on another address is reached through the checked socket", async (t) => {
  const lan = Object.values(os.networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  if (!lan) return t.skip('no non-loopback IPv4 address here');
  let mails = 0;
  const server = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], onData(stream, _s, cb) { stream.resume(); stream.on('end', () => { mails++; cb(); }); } });
  await new Promise<void>((r) => server.listen(0, lan, r));
  const interfaces = os.networkInterfaces;
  try {
    const target = { smtpHost: lan, smtpPort: (server.server.address() as { port: number }).port, starttls: false, from: 'eim@example.com', to: ['ops@example.com'] };
    // Services listening on every address answer on the LAN address as on loopback.
    const refused = await sendEmail(target, payload, 'k');
    assert.equal(refused.ok, false);
    assert.match(refused.detail, new RegExp(`refused: ${lan.replace(/\./g, '\\.')} is this machine's own address`));
    assert.equal(mails, 0);
    // The same server seen as another machine (the interfaces read without that address): the
    // checked socket connects, and the mail goes through.
    os.networkInterfaces = () => ({});
    rereadOwnAddresses();
    const r = await sendEmail(target, payload, 'k');
    assert.equal(r.ok, true, r.detail);
    assert.equal(mails, 1);
  } finally {
    os.networkInterfaces = interfaces;
    rereadOwnAddresses();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
