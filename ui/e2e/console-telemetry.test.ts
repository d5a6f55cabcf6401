import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FleetSimulator } from '../../src/sim/fleet-simulator.ts';
import { call } from '../../src/testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../../src/testing/server-process.ts';
import { tempDir } from '../../src/testing/test-stores.ts';
import { browserUnavailable, launchBrowser, screenshot, signIn, until } from './browser-harness.ts';

// Collected telemetry in the console (issue 15): a host's sparklines and log tail, and the
// overview's busiest and fullest hosts, against a real server and simulated agents pushing
// seeded series every second.

const skip = browserUnavailable();

describe('web console: metrics and logs', { skip }, () => {
  let server: ServerProcess;
  let sim: FleetSimulator;
  let browser: Browser;
  const tmp = tempDir();
  let hostId = '';

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    const base = `${server.url}/v1/projects/default`;
    const api = (path: string, body: unknown) => call(`${base}${path}`, { token: server.token, method: 'POST', body });
    const region = (await api('/regions', { name: 'emea', spec: {} })).json;
    const site = (await api('/sites', { name: 'plant-1', spec: { regionId: region.id } })).json;
    const enrollment = (await api('/tokens', { role: 'enrollment' })).json.token;
    sim = new FleetSimulator({ server: server.url, enrollmentToken: enrollment, nodes: 3, seed: 'ui-tel', heartbeatMs: 500, logPollMs: 500 });
    for (const n of sim.identities()) {
      const h = (await api('/hosts', { name: n.hostname, spec: { serialNumber: n.serialNumber, desiredState: 'onboarded', siteId: site.id } })).json;
      hostId ||= h.id;
    }
    await sim.start();
    const metrics = (await api('/telemetry-groups', { name: 'node', spec: { type: 'metrics', collector: 'host', groups: ['cpu', 'memory', 'disk', 'net'] } })).json;
    const logs = (await api('/telemetry-groups', { name: 'logs', spec: { type: 'logs', collector: 'host', groups: ['syslog'] } })).json;
    await api('/telemetry-profiles', { name: 'm', spec: { target: { regionId: region.id }, groupId: metrics.id, metricsIntervalSeconds: 1 } });
    await api('/telemetry-profiles', { name: 'l', spec: { target: { regionId: region.id }, groupId: logs.id, logLevel: 'debug' } });
    await until('samples stored', async () => {
      // The host page asks for the hour in 30 s steps: a line needs samples in two of them.
      const r = await call(`${base}/hosts/${hostId}/metrics?from=1h&step=30`, { token: server.token });
      return (r.json.series?.[0]?.points?.length ?? 0) >= 2 && (await call(`${base}/hosts/${hostId}/logs`, { token: server.token })).json.items.length > 0;
    }, 60_000);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test('the host page shows CPU, memory, disk and network sparklines and the log tail; the overview the busiest and fullest hosts', async () => {
    const page = await signIn(browser, server.url, server.token);
    const busiest = page.getByTestId('busiest-hosts');
    await until('the busiest hosts', async () => (await busiest.locator('li').count()) === 3);
    assert.match(await page.getByTestId('fullest-hosts').innerText(), /ui-tel-0000\d · \d+\.\d %/);
    await page.goto(`${server.url}/#/hosts/${hostId}`);
    for (const chart of ['cpu', 'memory', 'disk', 'network']) {
      const fig = page.getByTestId(`spark-${chart}`);
      await until(`the ${chart} sparkline`, async () => ((await fig.locator('polyline').getAttribute('points').catch(() => '')) ?? '').split(' ').length >= 2);
    }
    assert.match(await page.getByTestId('spark-cpu').innerText(), /CPU \d+\.\d %/);
    assert.match(await page.getByTestId('spark-network').innerText(), /Network [\d.]+ [kMG]?B\/s/);
    await until('log lines', async () => (await page.locator('.log-tail div').count()) > 0);
    await page.getByLabel('Level').selectOption('error');
    await until('only errors', async () => {
      const lines = await page.locator('.log-tail div').allInnerTexts();
      return lines.every((l) => / ERROR /.test(l)) || (await page.getByText('No log lines at this level').count()) > 0;
    });
    await screenshot(page, 'host-telemetry');
  });
});
