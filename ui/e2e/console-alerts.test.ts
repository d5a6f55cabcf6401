import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FleetSimulator } from '../../src/sim/fleet-simulator.ts';
import { call } from '../../src/testing/http-client.ts';
import { freePort } from '../../src/testing/server-cluster.ts';
import { type ServerProcess, spawnServer } from '../../src/testing/server-process.ts';
import { tempDir } from '../../src/testing/test-stores.ts';
import { browserUnavailable, launchBrowser, screenshot, signIn, until } from './browser-harness.ts';

// Alerts in the console (issue 13): the header's firing count, the Alerts view and a host's alerts,
// all live from the watch stream, and a silence made from the view.

const NODES = 3;
const skip = browserUnavailable();

describe('alerts in the web console', { skip }, () => {
  const tmp = tempDir();
  let server: ServerProcess;
  let sim: FleetSimulator;
  let browser: Browser;
  let page: Page;
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${server.url}/v1/projects/default${path}`, { token: server.token, ...o });

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir, '--alert-tick', '100']);
    const region = await api('/regions', { method: 'POST', body: { name: 'emea', spec: {} } });
    const site = await api('/sites', { method: 'POST', body: { name: 'plant-1', spec: { regionId: region.json.id } } });
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment' } });
    sim = new FleetSimulator({ server: server.url, enrollmentToken: enrollment.json.token, nodes: NODES, seed: 'ui-alerts', heartbeatMs: 500, rescanMs: 60_000 });
    for (const n of sim.identities()) {
      const r = await api('/hosts', { method: 'POST', body: { name: n.hostname, spec: { uuid: n.uuid, desiredState: 'registered', siteId: site.json.id } } });
      assert.equal(r.status, 201, r.body);
    }
    const rule = (await api('/alert-rules?filter=name%20%3D%20host-connection-lost')).json.items[0];
    assert.equal((await api(`/alert-rules/${rule.id}`, { method: 'PATCH', body: { spec: { forSeconds: 0 } } })).status, 200);
    await sim.start();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test('hosts going dark: the header counts them in red, the Alerts view lists them, a host page shows its own; a silence from the view mutes one', async () => {
    page = await signIn(browser, server.url, server.token);
    const count = page.getByTestId('firing-count');
    await until('every host running, nothing firing', async () => (await api('/hosts')).json.items.every((h: any) => h.status.hostStatus?.message === 'running') && (await count.textContent()) === '0 firing');
    await sim.stop();
    await until('three firing in the header, critical', async () => (await count.textContent()) === `${NODES} firing (${NODES} critical)`);
    assert.match((await count.getAttribute('class')) ?? '', /cat-error/);
    await count.click();
    const rows = page.locator('[data-testid=alerts] tbody tr');
    await until('the Alerts view lists them', async () => (await rows.count()) === NODES);
    assert.match((await rows.first().textContent()) ?? '', /firing.*critical.*plant-1.*lost its connection/);
    await page.getByLabel('Severity').selectOption('warning');
    await until('no warning alerts', async () => (await rows.count()) === 0);
    await page.getByLabel('Severity').selectOption('critical');
    await until('the critical ones again', async () => (await rows.count()) === NODES);
    await screenshot(page, 'alerts');

    const first = sim.identities()[0].hostname;
    await page.getByRole('button', { name: `Silence ${first} for 2 hours` }).click();
    await page.getByRole('status').getByText(`Silenced ${first} for 2 hours.`).waitFor();
    await until('the header no longer counts it', async () => (await count.textContent()) === `${NODES - 1} firing (${NODES - 1} critical)`);
    await until('the row says silenced', async () => /firing \(silenced\)/.test((await page.locator(`tr[data-alert="${first}"]`).textContent()) ?? ''));
    const silences = (await api('/silences')).json.items;
    assert.equal(silences.length, 1);
    assert.match(silences[0].spec.filter, /labels\.resourceId = host-/);

    await page.getByRole('link', { name: first, exact: true }).first().click();
    await until("the host page's alerts", async () => /lost its connection/.test((await page.getByTestId('host-alerts').textContent()) ?? ''));
    await screenshot(page, 'host-alerts');
  });
  test('the Alerts view lists the receivers; Send test delivers one test notification and says what the receiver answered', async () => {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push(JSON.parse(raw).alerts[0].labels.alertname);
        res.writeHead(200).end('thanks');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const port = (hook.address() as { port: number }).port;
      // A port nothing listens on: free a moment ago.
      const deadPort = await freePort();
      for (const [name, url] of [['ops', `http://127.0.0.1:${port}/hook`], ['nobody-home', `http://127.0.0.1:${deadPort}/hook`]]) {
        const r = await api('/alert-receivers', { method: 'POST', body: { name, spec: { webhook: { url, hmacSecret: 'console-secret-5c1e' } } } });
        assert.equal(r.status, 201, r.body);
      }
      const p = await signIn(browser, server.url, server.token);
      await p.goto(`${server.url}/#/alerts`);
      const row = (name: string) => p.locator(`[data-testid=receivers] tr[data-receiver="${name}"]`);
      await row('ops').waitFor();
      assert.match((await row('ops').textContent()) ?? '', new RegExp(`webhook 127\\.0\\.0\\.1:${port}/hook`));
      await p.getByRole('button', { name: 'Send a test notification to ops' }).click();
      await until('the answer of ops', async () => /Delivered: HTTP 200: thanks/.test((await row('ops').getByRole('status').textContent().catch(() => '')) ?? ''));
      assert.deepEqual(received, ['eim-test']);
      await p.getByRole('button', { name: 'Send a test notification to nobody-home' }).click();
      const answer = async () => (await row('nobody-home').getByRole('status').textContent().catch(() => '')) ?? '';
      await until('the failure of nobody-home', async () => /^Not delivered: /.test(await answer()));
      assert.match(await answer(), /^Not delivered: .*ECONNREFUSED/);
      assert.ok(!((await p.content()).includes('console-secret-5c1e')), 'the secret is not in the page');
      await screenshot(p, 'alert-receivers');
      await p.close();
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});
