import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { call } from '../testing/http-client.ts';
import { type CliHarness, eventually, startCliHarness } from './cli-harness.ts';

// Terminal escape injection (the class of kubectl's CVE-2021-25743): strings tenants and agents
// control (labels, addresses, status messages) must reach an operator's terminal with their control
// characters shown, not acted on; -o json and -o yaml stay exact for their parsers.

/** What may not reach the terminal raw: C0 but newline and tab, DEL, C1, bidi controls, line and paragraph separators. */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J\x1b[H';
const LINK = '\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\';
const CLIPBOARD = '\x1b]52;c;cm0gLXJmIH4=\x07';
const HIDE = 'ok\x1b[1A\x1b[2K';
const C1 = '\x9b31m\x85';
const BIDI = 'txt\u202eexe.sh\u2066x\u2069';
const C0 = 'bs\x08del\x7fcr\rlf\ntab\tsoh\x01';
const EVIL = `${TITLE}${CLEAR}${LINK}${CLIPBOARD}${HIDE}${C1}${BIDI}${C0}end`;
/** EVIL as the CLI shows it: each control as its escape. */
const SHOWN = String.raw`\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b]8;;https://evil.example/\x1b\click\x1b]8;;\x1b\\x1b]52;c;cm0gLXJmIH4=\x07ok\x1b[1A\x1b[2K\x9b31m\x85txt\u202eexe.sh\u2066x\u2069bs\x08del\x7fcr\rlf\ntab\tsoh\x01end`;

function assertClean(text: string, what: string): void {
  const m = UNSAFE.exec(text);
  if (m) assert.fail(`${what}: a raw U+${m[0].codePointAt(0)!.toString(16).padStart(4, '0')} reached the terminal: ${JSON.stringify(text.slice(Math.max(0, m.index - 60), m.index + 60))}`);
}

describe('eim CLI: control characters in data are shown, never sent to the terminal', () => {
  let h: CliHarness;
  let hostId = '';
  let regionRevision = 0;
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${h.server.url}/v1/projects/default${path}`, { token: h.server.token, ...o });
  const at = new Date().toISOString();

  before(async () => {
    h = await startCliHarness();
    h.login();
    const region = await api('/regions', { method: 'POST', body: { name: 'emea', labels: { note: EVIL.slice(0, 250), plain: 'x' }, spec: {} } });
    assert.equal(region.status, 201, region.body);
    regionRevision = region.json.revision;
    const site = await api('/sites', { method: 'POST', body: { name: 'berlin-1', spec: { regionId: region.json.id, address: EVIL } } });
    assert.equal(site.status, 201, site.body);
    const host = await api('/hosts', { method: 'POST', body: { name: 'edge-01', labels: { note: BIDI }, spec: { siteId: site.json.id, desiredState: 'onboarded' } } });
    assert.equal(host.status, 201, host.body);
    hostId = host.json.id;
    const manager = (await api('/tokens', { method: 'POST', body: { role: 'manager' } })).json.token as string;
    const status = await api(`/hosts/${hostId}/status`, {
      method: 'PATCH',
      token: manager,
      body: {
        hostStatus: { indicator: 'error', message: EVIL, timestamp: at },
        registrationStatus: { indicator: 'idle', message: `agent enrolled from ${TITLE}evil-host`, timestamp: at },
        hardware: { hostname: `${CLEAR}edge`, cpuModel: LINK },
      },
    });
    assert.equal(status.status, 200, status.body);
  });
  after(() => h.close());

  test('get (table and wide) escapes every control, and the columns still line up', async () => {
    for (const args of [['get', 'hosts'], ['get', 'hosts', '-o', 'wide'], ['get', 'host', 'edge-01'], ['get', 'sites', '-o', 'wide'], ['get', 'regions', '-o', 'wide'], ['get', 'hosts', '--summary', '--group-by', 'label.note']]) {
      const r = await h.eim(args);
      assert.equal(r.code, 0, r.stderr);
      assertClean(r.stdout, args.join(' '));
      assertClean(r.stderr, `${args.join(' ')} (stderr)`);
    }
    const summary = await h.eim(['get', 'hosts', '--summary', '--group-by', 'label.note']);
    assert.match(summary.stdout, /^txt\\u202eexe\.sh\\u2066x\\u2069\s+0\s+0\s+1\s/m, `a label value as a group:\n${summary.stdout}`);
    const wide = await h.eim(['get', 'hosts', '-o', 'wide']);
    assert.ok(wide.stdout.includes(SHOWN), `the status message, recognisable:\n${wide.stdout}`);
    assert.ok(wide.stdout.includes(String.raw`note=txt\u202eexe.sh\u2066x\u2069`), 'the label value, recognisable');
    const [header, row] = wide.stdout.trimEnd().split('\n');
    assert.ok(row.slice(header.indexOf('SITE')).startsWith('berlin-1 '), `SITE, after the message, lines up:\n${wide.stdout}`);
    const sites = (await h.eim(['get', 'sites', '-o', 'wide'])).stdout.trimEnd().split('\n');
    assert.ok(sites[1].includes(SHOWN), sites[1]);
    assert.equal(sites[1].search(/ \d+s /) + 1, sites[0].indexOf('AGE'), `AGE after the address lines up:\n${sites.join('\n')}`);
    const narrow = await h.eim(['get', 'hosts'], { env: { COLUMNS: '100' } });
    assertClean(narrow.stdout, 'a table cut to 100 columns');
    assert.ok(narrow.stdout.trimEnd().split('\n').every((l) => l.length <= 100), `fits 100 columns:\n${narrow.stdout}`);
  });

  test('describe escapes the labels, the spec and status trees, the status changes and the events', async () => {
    for (const [kind, name] of [['host', 'edge-01'], ['site', 'berlin-1'], ['region', 'emea']]) {
      for (const columns of ['200', '60']) {
        const r = await h.eim(['describe', kind, name], { env: { COLUMNS: columns } });
        assert.equal(r.code, 0, r.stderr);
        assertClean(r.stdout, `describe ${kind} (${columns} columns)`);
      }
    }
    const host = (await h.eim(['describe', 'host', 'edge-01'], { env: { COLUMNS: '400' } })).stdout;
    assert.ok(host.includes(SHOWN), `the status message:\n${host}`);
    assert.ok(host.includes(String.raw`agent enrolled from \x1b]0;pwned\x07evil-host`), 'the registration message');
    assert.match(host, /^Labels:\s+note=txt\\u202eexe\.sh\\u2066x\\u2069$/m);
    assert.ok(host.includes(String.raw`hostname: \x1b[2J\x1b[Hedge`), 'hardware strings');
    const region = (await h.eim(['describe', 'region', 'emea'])).stdout;
    assert.match(region, /^Labels:\s+note=\\x1b\]0;pwned\\x07/m);
  });

  test('watch and get --watch escape the event lines', async () => {
    const w = h.spawnEim(['watch', 'hosts', 'regions', 'sites', '--since', String(regionRevision - 1)]);
    const g = h.spawnEim(['get', 'hosts', '--watch', '-o', 'wide']);
    await eventually(() => /LISTED/.test(g.output()), 'the listed host');
    assert.equal((await api(`/regions/${(await api('/regions')).json.items[0].id}`, { method: 'PATCH', body: { labels: { plain: CLEAR } } })).status, 200);
    assert.equal((await api(`/hosts/${hostId}`, { method: 'PATCH', body: { labels: { note: TITLE } } })).status, 200);
    await eventually(() => /UPDATED region emea/.test(w.output()) && /UPDATED host edge-01/.test(w.output()), 'the updates on eim watch');
    await eventually(() => /UPDATED\s+edge-01/.test(g.output()), 'the update on get --watch');
    await Promise.all([w.stop(), g.stop()]);
    assertClean(w.output(), 'eim watch');
    assertClean(g.output(), 'eim get --watch');
    assert.ok(w.output().includes(String.raw`labels.plain x → \x1b[2J\x1b[H`), `the label change, recognisable:\n${w.output()}`);
    assert.ok(w.output().includes(String.raw`labels.note txt\u202eexe.sh\u2066x\u2069 → \x1b]0;pwned\x07`), w.output());
    // In quotes there, its quotes and backslashes escaped as in JSON.
    assert.ok(w.output().includes(String.raw`hostStatus "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b]8;;https://evil.example/\x1b\\click`), `the host's status message on its first update line:\n${w.output()}`);
    assert.ok(w.output().includes(String.raw`\x9b31m\x85txt\u202eexe.sh\u2066x\u2069bs\x08del\x7fcr\rlf\ntab\tsoh\x01end" (error)`), w.output());
  });

  test('-o json and -o yaml give the exact strings back, with no raw control on the terminal', async () => {
    for (const format of ['json', 'yaml']) {
      for (const args of [['get', 'hosts'], ['get', 'host', 'edge-01'], ['get', 'sites'], ['get', 'regions']]) {
        const r = await h.eim([...args, '-o', format]);
        assert.equal(r.code, 0, r.stderr);
        assertClean(r.stdout.replaceAll('\n', '').replaceAll('\t', ''), `${args.join(' ')} -o ${format}`);
      }
      const r = await h.eim(['get', 'hosts', '-o', format]);
      const parsed = format === 'json' ? JSON.parse(r.stdout) : parseYaml(r.stdout);
      assert.equal(parsed.items[0].status.hostStatus.message, EVIL, `${format}: the message exactly`);
      assert.deepEqual(parsed.items, (await api('/hosts')).json.items, `${format}: every string as the API has it`);
      const site = await h.eim(['get', 'site', 'berlin-1', '-o', format]);
      assert.equal((format === 'json' ? JSON.parse(site.stdout) : parseYaml(site.stdout)).spec.address, EVIL);
    }
    const w = h.spawnEim(['watch', 'hosts', '--since', '0', '-o', 'json']);
    await eventually(() => w.output().includes('"UPDATED"'), 'an update as JSON');
    await w.stop();
    const lines = w.output().trim().split('\n');
    assertClean(lines.join(''), 'eim watch -o json');
    assert.ok(lines.some((l) => JSON.parse(l).object.status?.hostStatus?.message === EVIL), 'the message exactly');
  });

  test('an error on stderr shows the message escaped: a server (or a proxy before it) cannot write to the terminal either', async () => {
    const answers = [
      { status: 404, type: 'application/json', body: JSON.stringify({ error: { code: 'not_found', message: `no host ${EVIL}` } }) },
      { status: 400, type: 'text/plain', body: `bad request ${EVIL}` },
    ];
    for (const a of answers) {
      const server = createServer((_req, res) => res.writeHead(a.status, { 'content-type': a.type }).end(a.body));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const r = await h.eim(['get', 'hosts', '--server', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--token', 't']);
        assert.equal(r.code, 1, r.stderr);
        assertClean(r.stderr, `the error line of a ${a.status}`);
        assert.ok(r.stderr.startsWith('error: '), r.stderr);
        if (a.status === 404) assert.ok(r.stderr.includes(`no host ${SHOWN} (not_found)`), r.stderr);
        assert.equal(r.stderr.split('\n').length, 2, 'one line');
      } finally {
        server.close();
      }
    }
  });
});
