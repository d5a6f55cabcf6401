import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from '../api/index.ts';
import { InventoryClient, type SseFrame, SseParser } from '../client/index.ts';
import { EIM_BIN, type ServerProcess, spawnServer } from '../testing/server-process.ts';
import { type CertPair, makeTestCa, type TestCa, writeCerts } from '../testing/test-certs.ts';
import { tempDir } from '../testing/test-stores.ts';
import { until } from '../testing/until.ts';

// `eim server --tls-cert --tls-key`: HTTPS for the API, the watch, the southbound and the console;
// clients trust Node's roots plus --ca-file; SIGHUP re-reads the certificate without dropping
// open streams. Certificates are made in the test (selfsigned), never with openssl.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
});

/** Runs `eim …args` to its end with a clean environment (no EIM_* of the caller, a temp config). */
function eim(args: string[], env: Record<string, string> = {}, configDir?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', EIM_CONFIG: join(configDir ?? tempDir().dir, 'config.json'), ...env };
  for (const k of ['EIM_SERVER', 'EIM_TOKEN', 'EIM_PROJECT', 'EIM_CA_FILE']) if (!(k in env)) delete e[k];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [EIM_BIN, ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b));
    p.stderr.on('data', (b: Buffer) => (stderr += b));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An HTTPS GET trusting `ca`; the status, body and the server certificate's fingerprint. */
function get(url: string, ca: string | undefined, token?: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    req.on('error', reject);
  });
}

/** An SSE stream over HTTPS; frames are collected. */
function openWatch(url: string, ca: string, token: string): Promise<{ frames: SseFrame[]; fingerprint: string; ended: () => boolean; close: () => void }> {
  return new Promise((resolve, reject) => {
    const frames: SseFrame[] = [];
    let ended = false;
    const req = https.get(url, { ca, agent: false, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch answered ${res.statusCode}`));
      const parser = new SseParser((f) => frames.push(f));
      res.setEncoding('utf8');
      res.on('data', (c: string) => parser.push(c));
      res.on('close', () => (ended = true));
      resolve({ frames, fingerprint: (res.socket as TLSSocket).getPeerCertificate().fingerprint256, ended: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('eim server over TLS', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let first: CertPair;
  let files: Record<string, string>;
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    dir = tmp.dir;
    ca = await makeTestCa('eim test CA');
    otherCa = await makeTestCa('someone else');
    first = await ca.issue({ cn: 'first' });
    files = writeCerts(dir, { 'ca.pem': ca.cert, 'other-ca.pem': otherCa.cert, 'tls.crt': first.cert, 'tls.key': first.key });
    server = await spawnServer(['--data-dir', join(dir, 'data'), '--tls-cert', files['tls.crt'], '--tls-key', files['tls.key'], '--managers', 'none']);
    cleanups.push(() => server.kill('SIGKILL'));
  });

  test('it listens on https, logs the certificate, and no plain-HTTP warning', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.output(), /TLS: .*CN=first.*valid until/);
    assert.doesNotMatch(server.output(), /WITHOUT TLS/);
    const health = await get(`${server.url}/healthz`, ca.cert);
    assert.equal(health.status, 200);
    const openapi = await get(`${server.url}/openapi.json`, ca.cert);
    assert.equal(JSON.parse(openapi.body).openapi, '3.1.0');
    await assert.rejects(get(`${server.url}/healthz`, undefined), /self-signed|unable to verify|UNABLE_TO_VERIFY/i, 'Node alone does not trust a private CA');
    const plain = await new Promise<string>((resolve) => {
      http.get(`${server.url.replace('https:', 'http:')}/healthz`, { agent: false }, (res) => resolve(`answered ${res.statusCode}`)).on('error', (e) => resolve(`refused: ${e.message}`));
    });
    assert.match(plain, /^refused/, 'no plain HTTP on the TLS port');
  });

  test('beyond loopback: a TLS server says nothing of plain HTTP, a plain one warns loudly', async () => {
    const secure = await spawnServer(['--data-dir', join(dir, 'wide-tls'), '--host', '0.0.0.0', '--tls-cert', files['tls.crt'], '--tls-key', files['tls.key'], '--managers', 'none']);
    cleanups.push(() => secure.kill('SIGKILL'));
    assert.match(secure.url, /^https:/);
    await secure.kill();
    assert.match(secure.output(), /TLS: .*CN=first/);
    assert.doesNotMatch(secure.output(), /WITHOUT TLS/, 'a server with a certificate listens with TLS');
    const plain = await spawnServer(['--data-dir', join(dir, 'wide-plain'), '--host', '0.0.0.0', '--managers', 'none']);
    cleanups.push(() => plain.kill('SIGKILL'));
    await plain.kill();
    assert.match(plain.output(), /0\.0\.0\.0:\d+ WITHOUT TLS/);
  });

  test('the CLI refuses an untrusted server and works with --ca-file, EIM_CA_FILE, or the CA saved by eim login', async () => {
    const base = ['--server', server.url, '--token', server.token];
    const refused = await eim(['get', 'regions', ...base]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /TLS certificate is not trusted.*--ca-file/);
    const wrong = await eim(['get', 'regions', ...base, '--ca-file', files['other-ca.pem']]);
    assert.equal(wrong.code, 1, 'another CA does not do');
    const ok = await eim(['get', 'regions', ...base, '--ca-file', files['ca.pem']]);
    assert.equal(ok.code, 0, ok.stderr);
    const byEnv = await eim(['get', 'regions', ...base], { EIM_CA_FILE: files['ca.pem'] });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    // The system's CA bundle is trusted too (a CA installed with update-ca-certificates); SSL_CERT_FILE names another bundle.
    const bySystem = await eim(['get', 'regions', ...base], { SSL_CERT_FILE: files['ca.pem'] });
    assert.equal(bySystem.code, 0, bySystem.stderr);
    const otherSystem = await eim(['get', 'regions', ...base], { SSL_CERT_FILE: files['other-ca.pem'] });
    assert.equal(otherSystem.code, 1, 'a system bundle without the CA does not do');
    const notPem = await eim(['get', 'regions', ...base, '--ca-file', files['tls.key']]);
    assert.equal(notPem.code, 2, 'a file that is no certificate is a usage error');
    assert.match(notPem.stderr, /not a PEM certificate/);

    const config = tempDir();
    cleanups.push(() => config.remove());
    const login = await eim(['login', ...base, '--ca-file', files['ca.pem']], {}, config.dir);
    assert.equal(login.code, 0, login.stderr);
    const later = await eim(['get', 'regions', '-o', 'json'], {}, config.dir);
    assert.equal(later.code, 0, later.stderr);
  });

  test('the Inventory client lists and watches over HTTPS with the CA', async () => {
    const inv = new InventoryClient({ server: server.url, token: server.token, ca: ca.cert });
    cleanups.push(() => inv.close());
    const { revision } = await inv.list('default', 'Region');
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const seen: string[] = [];
    const watching = (async () => {
      for await (const item of inv.watch({ project: 'default', kinds: ['Region'], since: revision, signal: ac.signal })) {
        if (item.type === 'event') seen.push(item.event().object.name);
      }
    })().catch(() => {});
    await inv.create('default', 'Region', { name: 'over-tls', spec: {} });
    await until(() => seen.includes('over-tls'), 'the event over the HTTPS watch', { timeoutMs: 5000 });
    ac.abort();
    await watching;
  });

  test('the agent refuses a server its CA did not sign; with --ca-file it enrols over HTTPS', async () => {
    const made = await new InventoryClient({ server: server.url, token: server.token, ca: ca.cert }).transport.json<{ token: string }>({
      method: 'POST',
      path: '/v1/projects/default/tokens',
      body: { role: 'enrollment', autoRegister: true, ttlSeconds: 600 },
    });
    const agent = (caFile: string, name: string) => {
      const p: ChildProcess = spawn(
        process.execPath,
        [EIM_BIN, 'agent', '--server', server.url, '--ca-file', caFile, '--enrollment-token', made.token, '--executor', 'sim', '--heartbeat', '1s', '--data-dir', join(dir, name)],
        { env: { ...process.env, EIM_SERVER: '', EIM_AGENT_SERVER: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      p.stdout!.on('data', (b: Buffer) => (out += b));
      p.stderr!.on('data', (b: Buffer) => (out += b));
      cleanups.push(() => p.kill('SIGKILL'));
      return { p, output: () => out };
    };
    const hosts = async () => (await get(`${server.url}/v1/projects/default/hosts`, ca.cert, server.token)).body;

    const refused = agent(files['other-ca.pem'], 'refused');
    await until(() => /TLS certificate is not trusted/.test(refused.output()), 'the agent reports the untrusted certificate', { timeoutMs: 15_000, intervalMs: 50 });
    assert.equal(JSON.parse(await hosts()).items.length, 0, 'it did not enrol');
    refused.p.kill('SIGTERM');

    const trusted = agent(files['ca.pem'], 'trusted');
    await until(async () => JSON.parse(await hosts()).items.length === 1, 'the agent enrolled', { timeoutMs: 15_000, intervalMs: 100 });
    // Its heartbeats and stream run over TLS too: the host is seen.
    await until(async () => JSON.parse(await hosts()).items[0].status?.lastSeenAt, 'a heartbeat over TLS', { timeoutMs: 15_000, intervalMs: 100 });
    // The command stream (SSE, outside the request pool) trusts the same CA: no stream failure is logged.
    await sleep(1500);
    assert.doesNotMatch(trusted.output(), /command stream lost|reconnecting the command stream|not trusted/, trusted.output());
    trusted.p.kill('SIGTERM');
  });

  test('eim managers and eim sim trust the CA given with --ca-file, and refuse the server without it', async () => {
    const config = tempDir();
    cleanups.push(() => config.remove());
    const run = (args: string[]) => {
      const p = spawn(process.execPath, [EIM_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', EIM_CONFIG: join(config.dir, 'config.json'), EIM_SERVER: '', EIM_TOKEN: '', EIM_CA_FILE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (b: Buffer) => (out += b));
      p.stderr!.on('data', (b: Buffer) => (out += b));
      cleanups.push(() => p.kill('SIGKILL'));
      return { p, output: () => out, exited: new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code))) };
    };
    // As the README runs them: a manager token for every project.
    const managerToken = (
      await new InventoryClient({ server: server.url, token: server.token, ca: ca.cert }).transport.json<{ token: string }>({ method: 'POST', path: '/v1/projects/*/tokens', body: { role: 'manager', ttlSeconds: 600 } })
    ).token;
    const untrusted = run(['managers', '--inventory', server.url, '--token', managerToken]);
    assert.notEqual(await untrusted.exited, 0, untrusted.output());
    assert.match(untrusted.output(), /TLS certificate is not trusted/);

    const managers = run(['managers', '--inventory', server.url, '--token', managerToken, '--ca-file', files['ca.pem']]);
    const sim = run(['sim', '--server', server.url, '--token', server.token, '--ca-file', files['ca.pem'], '--nodes', '2', '--auto-register', '--prefix', 'tlssim', '--heartbeat', '1s', '--state-dir', join(dir, 'sim-state')]);
    // The simulated agents enrol and heartbeat over TLS; the managers (this server runs none) onboard their hosts.
    const simHosts = async () => (JSON.parse((await get(`${server.url}/v1/projects/default/hosts?pageSize=100`, ca.cert, server.token)).body).items as Resource[]).filter((h) => h.name.startsWith('tlssim-'));
    await until(
      async () => {
        const hs = await simHosts();
        return hs.length === 2 && hs.every((h) => (h.status as { currentState?: string }).currentState === 'onboarded' && (h.status as { hostStatus?: { message?: string } }).hostStatus?.message === 'running');
      },
      'two simulated hosts onboarded by eim managers and running',
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((e: Error) => assert.fail(`${e.message}\nmanagers: ${managers.output()}\nsim: ${sim.output()}`));
    assert.doesNotMatch(managers.output() + sim.output(), /not trusted/);
    sim.p.kill('SIGTERM');
    managers.p.kill('SIGTERM');
    await Promise.all([sim.exited, managers.exited]);
  });

  test('SIGHUP re-reads the certificate: an open watch goes on, new connections get the new certificate; a broken one is refused and the current kept', async () => {
    const watch = await openWatch(`${server.url}/v1/projects/default/watch?kinds=regions`, ca.cert, server.token);
    cleanups.push(() => watch.close());
    assert.equal(watch.fingerprint, fingerprintOf(first.cert));
    const second = await ca.issue({ cn: 'second', days: 3 });
    writeFileSync(files['tls.crt'], second.cert);
    writeFileSync(files['tls.key'], second.key);
    server.proc.kill('SIGHUP');
    await until(async () => (await get(`${server.url}/healthz`, ca.cert)).fingerprint === fingerprintOf(second.cert), 'a new connection sees the new certificate', { timeoutMs: 5000, intervalMs: 50 });
    // The log line comes over the child's stdout, which may reach us after the new connection's answer.
    await until(() => /reloaded the certificate and key: .*CN=second.*expires in 2 day\(s\); renew it/.test(server.output()), 'a certificate close to its end is worth a warning', { timeoutMs: 5000, intervalMs: 50 }).catch((e: Error) =>
      assert.fail(`${e.message}\n${server.output()}`),
    );

    const r = await get(`${server.url}/healthz`, ca.cert);
    assert.equal(r.status, 200);
    const created = await new InventoryClient({ server: server.url, token: server.token, ca: ca.cert }).create('default', 'Region', { name: 'after-rotation', spec: {} });
    await until(() => watch.frames.some((f) => f.event === 'CREATED' && JSON.parse(f.data).id === created.id), 'the old stream delivers after the rotation', { timeoutMs: 5000 });
    assert.equal(watch.ended(), false);

    writeFileSync(files['tls.key'], 'not a key');
    server.proc.kill('SIGHUP');
    await until(() => /kept the current certificate/.test(server.output()), 'the refusal is logged', { timeoutMs: 5000, intervalMs: 50 });
    assert.equal((await get(`${server.url}/healthz`, ca.cert)).fingerprint, fingerprintOf(second.cert), 'still serving the second certificate');
    assert.ok(server.proc.exitCode === null, 'the server is still running');
    await sleep(10);
  });
});

test('eim server refuses unusable TLS files at start, naming them', async () => {
  const tmp = tempDir();
  cleanups.push(() => tmp.remove());
  const ca = await makeTestCa();
  const a = await ca.issue();
  const b = await ca.issue();
  const f = writeCerts(tmp.dir, { 'a.crt': a.cert, 'b.key': b.key });
  const onlyCert = await eim(['server', '--data-dir', join(tmp.dir, 'd1'), '--port', '0', '--tls-cert', f['a.crt']]);
  assert.equal(onlyCert.code, 1);
  assert.match(onlyCert.stderr, /--tls-cert and --tls-key go together/);
  const mismatch = await eim(['server', '--data-dir', join(tmp.dir, 'd2'), '--port', '0', '--tls-cert', f['a.crt'], '--tls-key', f['b.key']]);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /a\.crt.*b\.key.*not a usable/);
});
