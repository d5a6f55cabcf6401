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

  test('the host page shows CPU, memory, disk and network sparklines and the log tail, live, over the hour and the day; the overview the busiest and fullest hosts', async () => {
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
    // Live, without a reload: the agents go on pushing, the hour's lines move.
    const cpuLine = await page.getByTestId('spark-cpu').locator('polyline').getAttribute('points');
    await until('the CPU sparkline redrawn with newer samples', async () => (await page.getByTestId('spark-cpu').locator('polyline').getAttribute('points')) !== cpuLine, 40_000);
    // The last day: the same charts from the rollups and recent samples, 10-minute steps.
    await page.getByLabel('Range').selectOption('24h');
    await until('the day charts', async () => (await page.getByTestId('spark-cpu').locator('svg').getAttribute('aria-label')) === 'CPU over the last day');
    await until('the day has a CPU figure', async () => /CPU \d+\.\d %/.test(await page.getByTestId('spark-cpu').innerText()));
    await page.getByLabel('Range').selectOption('1h');
    await page.getByLabel('Level').selectOption('error');
    await until('only errors', async () => {
      const lines = await page.locator('.log-tail div').allInnerTexts();
      return lines.every((l) => / ERROR /.test(l)) || (await page.getByText('No log lines at this level').count()) > 0;
    });
    await screenshot(page, 'host-telemetry');
  });

  test("a host's log tail shows a line its agent pushes while the page is open, without a reload", async () => {
    // An agent of our own (the simulated ones log at random), pushing OTLP logs with its own token.
    const base = `${server.url}/v1/projects/default`;
    const host = (await call(`${base}/hosts`, { token: server.token, method: 'POST', body: { name: 'pusher', spec: { serialNumber: 'SN-PUSHER', desiredState: 'onboarded' } } })).json;
    const enrollment = (await call(`${base}/tokens`, { token: server.token, method: 'POST', body: { role: 'enrollment' } })).json.token;
    const agent = (await call(`${server.url}/southbound/v1/enroll`, { token: enrollment, method: 'POST', body: { serialNumber: 'SN-PUSHER', hostname: 'pusher' } })).json.token;
    const push = async (seq: number, text: string) => {
      const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: `${Date.now()}000000`, severityNumber: 13, severityText: 'WARN', body: { stringValue: text } }] }] }] };
      const r = await call(`${server.url}/southbound/v1/otlp/v1/logs`, { token: agent, method: 'POST', body, headers: { 'x-eim-batch': `live.${seq}` } });
      assert.equal(r.status, 200, r.body);
    };
    await push(1, 'first line');
    const page = await signIn(browser, server.url, server.token);
    await page.goto(`${server.url}/#/hosts/${host.id}`);
    await until('the first line', async () => (await page.locator('.log-tail div').allInnerTexts()).some((l) => l.includes('first line')));
    await push(2, 'pushed while the page is open');
    await until('the new line on the open page', async () => (await page.locator('.log-tail div').allInnerTexts()).some((l) => l.includes('pushed while the page is open')), 15_000);
  });
});
