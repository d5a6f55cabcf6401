import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseParser } from '../client/index.ts';
import { httpsCall } from '../testing/https-call.ts';
import { EIM_BIN, type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { makeTestCa, writeCerts } from '../testing/test-certs.ts';
import { createTestDatabase, PG_URL, pgReachable, tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// Mutual TLS for agents with real processes: two `eim server` processes on one PostgreSQL database
// share the agent CA; an `eim agent` enrols on one and is admitted by both; invalidating its host
// through one makes the other refuse its certificate (even with a fresh agent token); a SIGHUP
// rotation of the server certificate keeps an open agent stream and the client-certificate
// requirement. Certificates are made in the test (selfsigned), never with openssl.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

/** Runs `eim …args` to its end; exit code and output. */
function eim(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [EIM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b));
    p.stderr.on('data', (b: Buffer) => (out += b));
    p.on('close', (code) => resolve({ code, out }));
  });
}

test('eim server refuses an unusable agent CA at start, saying why', async () => {
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const ca = await makeTestCa();
  const leaf = await ca.issue();
  const agents = await makeTestCa('agents');
  const f = writeCerts(tmp.dir, { 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'agents.crt': agents.cert, 'agents.key': agents.key });
  const base = (d: string) => ['server', '--port', '0', '--data-dir', join(tmp.dir, d)];
  const noTls = await eim([...base('a'), '--agent-ca-cert', f['agents.crt'], '--agent-ca-key', f['agents.key']]);
  assert.equal(noTls.code, 1);
  assert.match(noTls.out, /needs the server to serve TLS itself: give --tls-cert and --tls-key/);
  const onlyCert = await eim([...base('b'), '--tls-cert', f['tls.crt'], '--tls-key', f['tls.key'], '--agent-ca-cert', f['agents.crt']]);
  assert.equal(onlyCert.code, 1);
  assert.match(onlyCert.out, /--agent-ca-cert and --agent-ca-key go together/);
  const notCa = await eim([...base('c'), '--tls-cert', f['tls.crt'], '--tls-key', f['tls.key'], '--agent-ca-cert', f['tls.crt'], '--agent-ca-key', f['tls.key']]);
  assert.equal(notCa.code, 1);
  assert.match(notCa.out, /not a CA/);
  const wrongKey = await eim([...base('d'), '--tls-cert', f['tls.crt'], '--tls-key', f['tls.key'], '--agent-ca-cert', f['agents.crt'], '--agent-ca-key', f['tls.key']]);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.out, /the key is not the certificate's/);
});

test('two servers on one database: an agent enrolled on one is admitted by both; SIGHUP keeps its stream and the certificate requirement; invalidation through one is refused by the other', async (t) => {
  if (!(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}`);
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const serverCa = await makeTestCa('server CA');
  const agents = await makeTestCa('eim agents');
  const first = await serverCa.issue({ cn: 'first' });
  const f = writeCerts(tmp.dir, { 'ca.pem': serverCa.cert, 'tls.crt': first.cert, 'tls.key': first.key, 'agent-ca.crt': agents.cert, 'agent-ca.key': agents.key });
  const tlsArgs = ['--store', db.url, '--tls-cert', f['tls.crt'], '--tls-key', f['tls.key']];
  const a: ServerProcess = await spawnServer(['--data-dir', join(tmp.dir, 'a'), ...tlsArgs, '--agent-ca-cert', f['agent-ca.crt'], '--agent-ca-key', f['agent-ca.key']]);
  cleanups.push(() => a.kill('SIGKILL'));
  // The other one takes the agent CA from the environment.
  process.env.EIM_AGENT_CA_CERT = f['agent-ca.crt'];
  process.env.EIM_AGENT_CA_KEY = f['agent-ca.key'];
  let b: ServerProcess;
  try {
    b = await spawnServer(['--data-dir', join(tmp.dir, 'b'), ...tlsArgs, '--managers', 'none']);
  } finally {
    delete process.env.EIM_AGENT_CA_CERT;
    delete process.env.EIM_AGENT_CA_KEY;
  }
  cleanups.push(() => b.kill('SIGKILL'));
  assert.match(a.output(), /mutual TLS for agents: .*each valid 7 day\(s\)/);
  assert.match(b.output(), /mutual TLS for agents/);

  const ca = serverCa.cert;
  const et = (await httpsCall(`${a.url}/v1/projects/default/tokens`, { method: 'POST', ca, token: a.token, body: { role: 'enrollment', autoRegister: true, ttlSeconds: 600 } })).json.token;
  const agentDir = join(tmp.dir, 'agent');
  const agent: ChildProcess = spawn(
    process.execPath,
    [EIM_BIN, 'agent', '--server', a.url, '--ca-file', f['ca.pem'], '--enrollment-token', et, '--executor', 'sim', '--heartbeat', '1s', '--data-dir', agentDir],
    { env: { ...process.env, EIM_SERVER: '', EIM_AGENT_SERVER: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push(() => agent.kill('SIGKILL'));
  let agentOut = '';
  agent.stdout!.on('data', (c: Buffer) => (agentOut += c));
  agent.stderr!.on('data', (c: Buffer) => (agentOut += c));
  const agentExit = new Promise<number | null>((resolve) => agent.on('exit', resolve));
  await until(() => existsSync(join(agentDir, 'agent.json')), 'the agent enrolled', { timeoutMs: 20_000, intervalMs: 100 });
  const { hostId, token } = JSON.parse(readFileSync(join(agentDir, 'agent.json'), 'utf8'));
  const pem = readFileSync(join(agentDir, 'agent-tls.pem'), 'utf8');
  const me = { cert: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0], key: /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)![0] };
  const beat = (url: string, o: { token: string; cert?: string; key?: string }) => httpsCall(`${url}/southbound/v1/heartbeat`, { method: 'POST', ca, ...o, body: {} });

  // Both servers admit it with its certificate; neither without.
  assert.equal((await beat(b.url, { token, ...me })).status, 204);
  const bare = await beat(b.url, { token });
  assert.equal(bare.status, 401);
  assert.equal(bare.json.error.details.reason, 'client-certificate');

  // An agent stream on A, open across the rotation.
  const frames: string[] = [];
  const stream = https.get(`${a.url}/southbound/v1/stream`, { ca, ...me, agent: false, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
    assert.equal(res.statusCode, 200);
    const parser = new SseParser((fr) => frames.push(fr.event ?? 'message'));
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      frames.push('data');
      parser.push(c);
    });
  });
  cleanups.push(() => stream.destroy());
  await until(() => frames.length > 0, 'the stream is open', { timeoutMs: 5000, intervalMs: 20 });

  const second = await serverCa.issue({ cn: 'second' });
  writeFileSync(f['tls.crt'], second.cert);
  writeFileSync(f['tls.key'], second.key);
  a.proc.kill('SIGHUP');
  const fingerprint = () =>
    new Promise<string>((resolve, reject) => {
      https.get(`${a.url}/healthz`, { ca, agent: false }, (res) => {
        resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      }).on('error', reject);
    });
  await until(async () => (await fingerprint()) === new X509Certificate(second.cert).fingerprint256, 'A serves the new certificate', { timeoutMs: 5000, intervalMs: 50 });
  // The requirement is kept: no certificate, refused; ours, verified against the agent CA still.
  const after = await beat(a.url, { token });
  assert.equal(after.status, 401, after.text);
  assert.equal(after.json.error.details.problem, 'missing');
  assert.equal((await beat(a.url, { token, ...me })).status, 204);
  await sleep(1500); // a heartbeat or two of the agent process across the rotation
  assert.doesNotMatch(agentOut, /refused|lost|failed|not trusted/, agentOut);

  // Invalidated through A: the stream opened before the rotation hears it, the agent stops...
  const patched = await httpsCall(`${a.url}/v1/projects/default/hosts/${hostId}`, { method: 'PATCH', ca, token: a.token, body: { spec: { desiredState: 'untrusted' } } });
  assert.equal(patched.status, 200, patched.text);
  await until(() => frames.includes('revoked'), 'the open stream delivers the revocation', { timeoutMs: 5000, intervalMs: 20 });
  assert.equal(await agentExit, 3, agentOut);
  // ...and B refuses the certificate, even with an agent token minted after the revocation.
  const fresh = await httpsCall(`${b.url}/v1/projects/default/tokens`, { method: 'POST', ca, token: b.token, body: { role: 'agent', hostId, ttlSeconds: 600 } });
  assert.equal(fresh.status, 201, fresh.text);
  const refused = await until(
    async () => {
      const r = await beat(b.url, { token: fresh.json.token, ...me });
      return r.status === 401 && r;
    },
    'B refuses the certificate of the invalidated host',
    { timeoutMs: 5000, intervalMs: 50 },
  );
  assert.match(refused.json.error.message, /untrusted, being deleted or gone: its agent certificates are refused/);
});
