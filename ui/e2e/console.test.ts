import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FleetSimulator } from '../../src/sim/fleet-simulator.ts';
import { call } from '../../src/testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../../src/testing/server-process.ts';
import { tempDir } from '../../src/testing/test-stores.ts';
import { browserUnavailable, launchBrowser, screenshot, signIn, tileCount, until } from './browser-harness.ts';

// The web console in a real browser (Debian's chromium through playwright-core) against a real
// `eim server` process and simulated agents: the four scenarios of issue 6.

const NODES = 12;
const skip = browserUnavailable();

describe('web console in a browser', { skip }, () => {
  const tmp = tempDir();
  let server: ServerProcess;
  let sim: FleetSimulator;
  let browser: Browser;
  let page: Page;
  let base = '';
  const api = (path: string, o: { method?: string; body?: unknown } = {}) => call(`${base}/v1/projects/default${path}`, { token: server.token, ...o });
  const hosts = async () => (await api('/hosts?pageSize=1000')).json.items as any[];

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = server.url;
    const region = await api('/regions', { method: 'POST', body: { name: 'emea', spec: {} } });
    assert.equal(region.status, 201, region.body);
    const site = await api('/sites', { method: 'POST', body: { name: 'plant-1', spec: { regionId: region.json.id } } });
    assert.equal(site.status, 201, site.body);
    const enrollment = await api('/tokens', { method: 'POST', body: { role: 'enrollment' } });
    sim = new FleetSimulator({ server: base, enrollmentToken: enrollment.json.token, nodes: NODES, seed: 'ui', heartbeatMs: 1000, rescanMs: 60_000 });
    for (const n of sim.identities()) {
      const spec = { uuid: n.uuid, serialNumber: n.serialNumber, desiredState: 'registered', ...(n.index % 2 ? { siteId: site.json.id } : {}) };
      const r = await api('/hosts', { method: 'POST', body: { name: n.hostname, labels: { line: String(n.index % 3) }, spec } });
      assert.equal(r.status, 201, r.body);
    }
    await sim.start();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test(`log in and see ${NODES} hosts`, async () => {
    page = await signIn(browser, base, server.token);
    await until('every host in the tiles', async () => (await tileCount(page, 'total')) === NODES);
    // The agents enrol and heartbeat: the running tile fills without a reload.
    await until('every host running', async () => (await tileCount(page, 'running')) === NODES);
    assert.equal(await page.locator('tbody tr[data-host]').count(), NODES);
    assert.equal(await tileCount(page, 'unallocated'), NODES / 2);
    await page.getByLabel('Label', { exact: true }).fill('line=1');
    await page.getByRole('button', { name: 'Add label filter' }).click();
    await until('the label filter applied', async () => (await page.locator('tbody tr[data-host]').count()) === NODES / 3);
    await page.getByRole('button', { name: 'Remove label filter line=1' }).click();
    await screenshot(page, 'overview');
  });

  test('onboard one and see its state change without a reload', async () => {
    const target = (await hosts()).find((h) => h.name === sim.identities()[0].hostname);
    assert.equal(target.status.currentState, 'registered');
    await page.evaluate('window.__noReload = true');
    await page.getByRole('link', { name: target.name, exact: true }).click();
    await page.locator('[data-testid=current-state]').getByText('registered').waitFor();
    await page.getByRole('button', { name: 'Onboard' }).click();
    await page.locator('[data-testid=desired-state]').getByText('onboarded').waitFor();
    await page.locator('[data-testid=current-state]').getByText('onboarded').waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate('window.__noReload'), true, 'the page was not reloaded');
    assert.equal((await api(`/hosts/${target.id}`)).json.status.currentState, 'onboarded');
    // An untrusted host cannot be onboarded again: the server would refuse it, so the button is off and the page says why.
    await page.getByRole('button', { name: 'Invalidate' }).click();
    await page.locator('[data-testid=current-state]').getByText('untrusted').waitFor({ timeout: 30_000 });
    await until('Onboard disabled', async () => await page.getByRole('button', { name: 'Onboard' }).isDisabled());
    assert.match((await page.getByTestId('action-note').textContent()) ?? '', /^Onboard is not possible: the host is untrusted/);
    await screenshot(page, 'host-refused');
  });

  test('open a host and see its NICs', async () => {
    const target = (await hosts()).find((h) => h.name === sim.identities()[3].hostname);
    const nics = (await api(`/host-nics?pageSize=1000&filter=${encodeURIComponent(`status.hostId = "${target.id}"`)}`)).json.items as any[];
    assert.ok(nics.length > 0, 'the simulated host reported NICs');
    await page.goto(`${base}/#/`);
    await page.getByRole('link', { name: target.name, exact: true }).click();
    const table = page.locator('[data-testid="Network interfaces"]');
    await table.getByText(nics[0].status.macAddress).waitFor();
    assert.equal(await table.locator('tbody tr').count(), nics.length);
    for (const n of nics) assert.equal(await table.getByText(n.status.deviceName, { exact: true }).count(), 1);
    await screenshot(page, 'host');
  });

  test('stop the server, restart it, and see the indicator recover with no event missed', async () => {
    await page.goto(`${base}/#/`);
    const conn = page.locator('[data-testid=connection]');
    await page.locator('[data-testid=connection][data-state=live]').waitFor();
    const listsBefore = Number(await conn.getAttribute('data-lists'));
    const port = new URL(base).port;
    await server.kill('SIGTERM');
    await page.locator('[data-testid=connection][data-state=reconnecting]').waitFor({ timeout: 15_000 });
    await screenshot(page, 'reconnecting');
    server = await spawnServer(['--data-dir', tmp.dir, '--port', port]);
    // Written at once, most likely before the console reconnects: it must get them by resuming.
    const all = await hosts();
    for (const h of all) assert.equal((await api(`/hosts/${h.id}`, { method: 'PATCH', body: { labels: { wave: '2' } } })).status, 200);
    await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 30_000 });
    await until('the console holds what the server holds', async () => {
      const want = new Map((await hosts()).map((h) => [h.name, h.revision]));
      const got = await page.locator('tbody tr[data-host]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-host'), Number(r.getAttribute('data-revision'))]));
      return got.length === want.size && got.every(([name, rev]) => want.get(name as string) === rev);
    });
    assert.equal(await page.locator('tbody tr[data-host]').filter({ hasText: 'wave=2' }).count(), NODES, 'every label change arrived');
    assert.equal(Number(await conn.getAttribute('data-lists')), listsBefore, 'it resumed from its revision, it did not relist');
    assert.ok(Number(await conn.getAttribute('data-resumes')) >= 1);
    await screenshot(page, 'recovered');
  });
});
