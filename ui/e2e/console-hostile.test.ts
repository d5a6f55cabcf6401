import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call } from '../../src/testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../../src/testing/server-process.ts';
import { tempDir } from '../../src/testing/test-stores.ts';
import { until as untilShared } from '../../src/testing/until.ts';
import { browserUnavailable, launchBrowser, screenshot, signIn, until } from './browser-harness.ts';

// Issue 9: the console renders what tenants and agents wrote as text. Labels, a site's address,
// status messages (the enrolment hostname in the registration message), hardware fields, NIC names, a command's result and log lines hold markup that would run script
// if it were parsed; the test sees them on screen literally, no script ran (a window counter and
// a dialog listener), none of the markup became elements, and the console's document still
// carries its Content-Security-Policy.

const skip = browserUnavailable();
const RAN = '(window.__xss=(window.__xss||0)+1)';
const PAYLOADS = {
  script: `<script>${RAN}</script>`,
  img: `<img src=x onerror="${RAN}">`,
  svg: `"><svg onload="${RAN}">`,
  link: `javascript:${RAN}//`,
  dialog: `'><iframe srcdoc="<script>parent.alert(1)</script>"></iframe>`,
  entity: '&lt;b&gt;not bold&lt;/b&gt; <b>not bold</b>',
} as const;

describe('web console: hostile strings are text', { skip }, () => {
  const tmp = tempDir();
  let server: ServerProcess;
  let browser: Browser;
  let hostId = '';
  let agent = '';
  let beat: NodeJS.Timeout | undefined;
  const dialogs: string[] = [];
  const api = (path: string, o: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) =>
    call(`${server.url}${path}`, { token: server.token, ...o, method: o.method ?? (o.body === undefined ? 'GET' : 'POST') });
  const P = '/v1/projects/default';

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    const region = await api(`${P}/regions`, { body: { name: 'emea', labels: { note: PAYLOADS.script }, spec: {} } });
    const site = await api(`${P}/sites`, { body: { name: 'plant-1', labels: { note: PAYLOADS.svg }, spec: { regionId: region.json.id, address: PAYLOADS.img } } });
    const host = await api(`${P}/hosts`, { body: { name: 'edge-1', labels: { a: PAYLOADS.img, b: PAYLOADS.link }, spec: { serialNumber: 'SN-HOSTILE', desiredState: 'onboarded', siteId: site.json.id } } });
    assert.equal(host.status, 201, host.body);
    hostId = host.json.id;
    const enrollment = (await api(`${P}/tokens`, { body: { role: 'enrollment' } })).json.token;
    // The hostname the agent reports goes into the host's registration status message.
    const enrolled = await api('/southbound/v1/enroll', { token: enrollment, body: { serialNumber: 'SN-HOSTILE', hostname: `edge-1${PAYLOADS.entity}${PAYLOADS.img}` } });
    assert.equal(enrolled.status, 200, enrolled.body);
    agent = enrolled.json.token;
    const heartbeat = () => api('/southbound/v1/heartbeat', { token: agent, body: {} }).catch(() => undefined);
    await heartbeat();
    beat = setInterval(heartbeat, 1000);
    // What the agent reports: hardware, a NIC, a log line.
    const hw = await api('/southbound/v1/hardware', {
      token: agent,
      body: { hardware: { cpuModel: PAYLOADS.svg, productName: PAYLOADS.script }, nics: [{ deviceName: PAYLOADS.img, macAddress: PAYLOADS.dialog }], storages: [], gpus: [], usbs: [] },
    });
    assert.equal(hw.status, 200, hw.body);
    const now = `${Date.now()}000000`;
    const logs = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: now, severityNumber: 17, severityText: 'ERROR', body: { stringValue: `boot ${PAYLOADS.img} ${PAYLOADS.dialog} ${PAYLOADS.entity}` } }] }] }] };
    const pushed = await api('/southbound/v1/otlp/v1/logs', { token: agent, body: logs, headers: { 'x-eim-batch': 'hostile.1' } });
    assert.equal(pushed.status, 200, pushed.body);
    // A power command the agent answers with a failure: the manager shows its message on the Power row.
    await api(`${P}/hosts/${hostId}`, { method: 'PATCH', body: { spec: { desiredPowerState: 'off' } } });
    const command = await untilShared(async () => (await api(`${P}/commands?filter=${encodeURIComponent(`spec.hostId = "${hostId}"`)}`)).json.items?.[0], 'the power command');
    const result = await api(`/southbound/v1/commands/${command.id}/result`, { token: agent, body: { state: 'failed', recoverable: false, message: `${PAYLOADS.link} ${PAYLOADS.script}` } });
    assert.equal(result.status, 204, result.body);
    browser = await launchBrowser();
  });
  after(async () => {
    clearInterval(beat);
    await browser?.close();
    await server?.kill();
    tmp.remove();
  });

  /** Nothing the payloads hold ran, opened a dialog or became an element. */
  async function assertInert(page: Page, where: string) {
    // Evaluated in the page (as text: this file is compiled without the DOM's types).
    assert.equal(await page.evaluate('window.__xss'), undefined, `${where}: no script ran`);
    assert.deepEqual(dialogs, [], `${where}: no dialog opened`);
    const injected = await page.evaluate(`({
      img: document.querySelectorAll('img[src="x"]').length,
      handlers: document.querySelectorAll('[onerror], [onload]').length,
      iframes: document.querySelectorAll('iframe').length,
      scripts: [...document.scripts].filter((s) => (s.textContent || '').includes('__xss')).length,
      jsLinks: [...document.querySelectorAll('a[href]')].filter((a) => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length,
      bold: document.querySelectorAll('main b').length,
    })`);
    assert.deepEqual(injected, { img: 0, handlers: 0, iframes: 0, scripts: 0, jsLinks: 0, bold: 0 }, `${where}: no markup of the payloads became elements`);
  }

  test('labels, hardware, NICs, a command result and log lines show literally, and nothing runs', async () => {
    const csp: string[] = [];
    const signed = await signIn(browser, server.url, server.token);
    signed.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    signed.on('response', (r) => {
      if (r.request().resourceType() === 'document') csp.push(r.headers()['content-security-policy'] ?? '(none)');
    });
    await signed.reload();
    await signed.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 30_000 });

    // The overview's host table shows the labels.
    const row = signed.locator('tbody tr[data-host="edge-1"]');
    await until('the host in the table', async () => (await row.count()) === 1);
    for (const label of [`a=${PAYLOADS.img}`, `b=${PAYLOADS.link}`]) {
      await until(`the label ${label} as text`, async () => (await row.innerText()).includes(label.slice(2)));
    }
    await assertInert(signed, 'overview');

    await signed.goto(`${server.url}/#/hosts/${hostId}`);
    const main = signed.locator('main');
    const shown = async (text: string) => (await main.innerText()).includes(text);
    await until('the CPU model as text', () => shown(PAYLOADS.svg));
    await until('the product name as text', () => shown(PAYLOADS.script));
    await until('the NIC name and MAC as text', async () => (await shown(PAYLOADS.img)) && (await shown(PAYLOADS.dialog)));
    await until("the command's failure on the Power row, as text", () => shown(`${PAYLOADS.link} ${PAYLOADS.script}`));
    await until('the log line as text', () => shown(`boot ${PAYLOADS.img} ${PAYLOADS.dialog} ${PAYLOADS.entity}`));
    await until('the enrolment hostname in the Registration row, as text', () => shown(`from edge-1${PAYLOADS.entity}${PAYLOADS.img}`));
    await assertInert(signed, 'host page');
    await screenshot(signed, 'hostile-strings');

    await signed.goto(`${server.url}/#/locations`);
    await until('the region tree', () => shown('plant-1'));
    await until("the site's address as text", () => shown(PAYLOADS.img));
    await assertInert(signed, 'regions and sites');

    const policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    assert.ok(csp.length >= 1, `documents loaded: ${csp.length}`);
    for (const c of csp) assert.equal(c, policy, "every console document carries the policy (no 'unsafe-inline', no other origin)");
    const direct = await call(`${server.url}/`);
    assert.equal(direct.headers['content-security-policy'], policy);
  });
});
