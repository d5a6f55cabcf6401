import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FleetSimulator } from '../../src/sim/fleet-simulator.ts';
import { call } from '../../src/testing/http-client.ts';
import { type ServerProcess, spawnServer } from '../../src/testing/server-process.ts';
import { testEd25519Key } from '../../src/testing/ssh-keys.ts';
import { tempDir } from '../../src/testing/test-stores.ts';
import { browserUnavailable, launchBrowser, screenshot, signIn, tileCount, until } from './browser-harness.ts';

// The console's host actions and its other views, in a real browser against a real `eim server`
// (its managers write every status shown here) and simulated agents (the real agent code with the
// sim executor: power, installs and OS updates are simulated, and say so).

const skip = browserUnavailable();

/**
 * Eight nodes: 0-3 in site plant-1 (region emea-west, inside emea) with autoProvision, so they get
 * instances; 4-5 in plant-2 (emea itself); 6-7 unallocated. All onboarded.
 */
const NODES = 8;
/**
 * A script recording, in `window[key]`, each distinct text of `selector` ('(absent)' when it is not
 * in the page) as the page changes. A string, so the test's transpiler adds nothing to it.
 */
const recordText = (selector: string, key: string) => `(() => {
  const seen = (window[${JSON.stringify(key)}] = []);
  const record = () => {
    const el = document.querySelector(${JSON.stringify(selector)});
    const t = el ? el.textContent : '(absent)';
    if (seen[seen.length - 1] !== t) seen.push(t);
  };
  record();
  new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
})()`;
/**
 * A script listing the page's controls (focusable ones included) that have no accessible name:
 * no label, aria-label or aria-labelledby, and for a button no text. Those in a closed dialog, and
 * <main> (focused by "Skip to content"), are left out.
 */
const UNLABELLED = `[...document.querySelectorAll('input, select, textarea, button, [tabindex]')]
  .filter((e) => !e.closest('dialog:not([open])') && e.id !== 'main')
  .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
  .map((e) => e.outerHTML.slice(0, 80))`;

/** A script: the number of lines the text of `selector` takes (distinct tops of its text's line boxes). */
const linesOf = (selector: string) => `(() => {
  const walk = document.createTreeWalker(document.querySelector(${JSON.stringify(selector)}), NodeFilter.SHOW_TEXT);
  const tops = new Set();
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
  }
  return tops.size;
})()`;
/** A link of the views' navigation bar. */
const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true });
const hostHeading = (p: Page, name: string) => p.getByRole('heading', { level: 1, name: new RegExp(`^${name} `) });
const siteOf = (i: number) => (i < 4 ? 'plant-1' : i < 6 ? 'plant-2' : undefined);

describe('web console: host actions and the other views', { skip }, () => {
  const tmp = tempDir();
  let server: ServerProcess;
  let sim: FleetSimulator;
  let browser: Browser;
  let page: Page;
  let base = '';
  const ids: Record<string, string> = {};
  const api = (path: string, o: { method?: string; body?: unknown; token?: string } = {}) => call(`${base}/v1/projects/default${path}`, { token: server.token, ...o });
  const create = async (path: string, body: unknown) => {
    const r = await api(path, { method: 'POST', body });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  const list = async (path: string) => (await api(`${path}${path.includes('?') ? '&' : '?'}pageSize=1000`)).json.items as any[];
  const filtered = (path: string, filter: string) => list(`${path}?filter=${encodeURIComponent(filter)}`);
  const hostNamed = async (i: number) => (await filtered('/hosts', `name = "${sim.identities()[i].hostname}"`))[0];
  const openHost = async (p: Page, name: string) => {
    await p.goto(`${base}/#/`);
    await p.getByRole('link', { name, exact: true }).click();
    await p.locator('[data-testid=host-page]').waitFor();
  };

  before(async () => {
    server = await spawnServer(['--data-dir', tmp.dir]);
    base = server.url;
    const os = { sha256: 'a'.repeat(64), profileName: 'ubuntu', osType: 'mutable', architecture: 'x86_64' };
    ids.osA = (await create('/operating-systems', { name: 'ubuntu-22-04', labels: { default: 'true' }, spec: { ...os, imageUrl: 'https://images.example/u22.img', profileVersion: '22.04' } })).id;
    ids.osB = (await create('/operating-systems', { name: 'ubuntu-24-04', spec: { ...os, imageUrl: 'https://images.example/u24.img', profileVersion: '24.04' } })).id;
    ids.emea = (await create('/regions', { name: 'emea', spec: {} })).id;
    ids['emea-west'] = (await create('/regions', { name: 'emea-west', spec: { parentRegionId: ids.emea } })).id;
    ids.apac = (await create('/regions', { name: 'apac', spec: {} })).id;
    ids['plant-1'] = (await create('/sites', { name: 'plant-1', spec: { regionId: ids['emea-west'] } })).id;
    ids['plant-2'] = (await create('/sites', { name: 'plant-2', spec: { regionId: ids.emea } })).id;
    ids['plant-3'] = (await create('/sites', { name: 'plant-3', spec: { regionId: ids.apac } })).id;
    const enrollment = await create('/tokens', { role: 'enrollment' });
    sim = new FleetSimulator({ server: base, enrollmentToken: enrollment.token, nodes: NODES, seed: 'ui-views', heartbeatMs: 1000, provisionTimeMs: 300, updateTimeMs: 600, rescanMs: 60_000 });
    for (const n of sim.identities()) {
      const site = siteOf(n.index);
      await create('/hosts', { name: n.hostname, spec: { uuid: n.uuid, desiredState: 'onboarded', ...(site ? { siteId: ids[site] } : {}), ...(n.index < 4 ? { autoProvision: true } : {}) } });
    }
    // A window open now on plant-2, and one that opens in an hour on all of emea.
    const hour = 3600_000;
    await create('/schedules', { name: 'plant-2-now', spec: { purpose: 'maintenance', target: { siteId: ids['plant-2'] }, single: { startAt: new Date(Date.now() - 60_000).toISOString() } } });
    await create('/schedules', { name: 'emea-later', spec: { purpose: 'maintenance', target: { regionId: ids.emea }, single: { startAt: new Date(Date.now() + hour).toISOString(), endAt: new Date(Date.now() + 2 * hour).toISOString() } } });
    ids.policy = (await create('/os-update-policies', { name: 'to-24-04', spec: { policy: 'target', targetOsId: ids.osB, rollout: { maxConcurrent: 2, maxFailures: 1 } } })).id;
    ids.group = (await create('/telemetry-groups', { name: 'node-metrics', spec: { type: 'metrics', collector: 'host', groups: ['cpu'] } })).id;
    ids.profile = (await create('/telemetry-profiles', { name: 'plant-1-metrics', spec: { target: { siteId: ids['plant-1'] }, groupId: ids.group, metricsIntervalSeconds: 30 } })).id;
    await sim.start();
    browser = await launchBrowser();
    await until('every instance running', async () => (await filtered('/instances', 'status.currentState = "running"')).length === 4);
    page = await signIn(browser, base, server.token);
  });
  after(async () => {
    await browser?.close();
    await sim?.stop();
    await server?.kill();
    tmp.remove();
  });

  test('regions and sites as a tree with host counts (nested regions), live', async () => {
    await nav(page, 'Regions & sites').click();
    const tree = page.getByRole('list', { name: 'Regions' });
    const region = (name: string) => tree.locator('summary').filter({ hasText: new RegExp(`^region ${name} `) });
    const site = (name: string) => tree.locator('li:not(:has(details))').filter({ hasText: new RegExp(`^site ${name} `) });
    await region('emea').getByText('6 hosts').waitFor();
    assert.equal(await region('emea-west').locator('.count-chip').textContent(), '4 hosts');
    assert.equal(await region('apac').locator('.count-chip').textContent(), '0 hosts');
    assert.equal(await site('plant-1').locator('.count-chip').textContent(), '4 hosts');
    assert.equal(await site('plant-2').locator('.count-chip').textContent(), '2 hosts');
    // emea-west is drawn inside emea.
    assert.equal(await tree.locator('details:has(> summary:text-matches("^region emea ")) details > summary').filter({ hasText: /^region emea-west / }).count(), 1);
    assert.equal(await page.getByTestId('unallocated').textContent(), '2');
    // A host moving to plant-3 moves its count without a reload.
    const moving = await hostNamed(6);
    assert.equal((await api(`/hosts/${moving.id}`, { method: 'PATCH', body: { spec: { siteId: ids['plant-3'] } } })).status, 200);
    await region('apac').getByText('1 host', { exact: true }).waitFor();
    assert.equal(await site('plant-3').locator('.count-chip').textContent(), '1 host');
    assert.equal(await page.getByTestId('unallocated').textContent(), '1');
    await screenshot(page, 'locations');
  });

  test('sites and regions are links: each opens the host list of its hosts', async () => {
    await nav(page, 'Regions & sites').click();
    const tree = page.getByRole('list', { name: 'Regions' });
    const rowNames = () => page.locator('tbody tr[data-host]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host')).sort());
    await tree.getByRole('link', { name: 'plant-1', exact: true }).click();
    await page.getByTestId('location-filter').getByText('Hosts in site plant-1').waitFor();
    await until('the four hosts of plant-1', async () => (await rowNames()).length === 4);
    assert.deepEqual(await rowNames(), [0, 1, 2, 3].map((i) => sim.identities()[i].hostname).sort());
    assert.match((await page.getByTestId('shown').textContent()) ?? '', /^4 of \d+ hosts · in site plant-1/);
    // A region: the hosts of its sites and of its sub-regions' sites.
    await nav(page, 'Regions & sites').click();
    await tree.getByRole('link', { name: 'emea', exact: true }).click();
    await until('the six hosts under emea', async () => (await rowNames()).length === 6);
    // A host row's site is a link too; × shows every host again.
    await page.locator(`tr[data-host="${sim.identities()[4].hostname}"]`).getByRole('link', { name: 'plant-2' }).click();
    await until('the two hosts of plant-2', async () => (await rowNames()).length === 2);
    await page.getByTestId('location-filter').getByRole('link').click();
    await until('every host', async () => (await rowNames()).length === NODES);
  });

  test('schedules: the window open now, and the closed one with its next opening', async () => {
    await nav(page, 'Schedules').click();
    const row = (name: string) => page.locator(`tr[data-schedule="${name}"]`);
    await row('plant-2-now').locator('td.now').getByText('open').waitFor();
    await row('emea-later').locator('td.now').getByText('closed').waitFor();
    const later = (await list('/schedules')).find((s) => s.name === 'emea-later');
    assert.ok(later.status.nextOpenAt, 'the maintenance manager wrote the next opening');
    assert.match((await row('emea-later').locator('td.next').textContent()) ?? '', /\(in 5\d min\)$/);
    assert.equal(await row('plant-2-now').locator('td.next').textContent(), '—');
    assert.match((await page.getByTestId('open-windows').textContent()) ?? '', /^1 window open now: plant-2-now$/);
    // The hosts each schedule covers: plant-2's two; emea's six (plant-1 through emea-west, plant-2).
    assert.equal(await row('plant-2-now').locator('td.hosts').textContent(), '2');
    assert.equal(await row('emea-later').locator('td.hosts').textContent(), '6');
    await screenshot(page, 'schedules');
  });

  test("the overview's Maintenance tile counts the hosts inside an open window", async () => {
    await nav(page, 'Overview').click();
    await until('plant-2 in its window', async () => (await filtered('/hosts', 'status.maintenance.inWindow = true')).length === 2);
    await until('the tile counting them', async () => (await tileCount(page, 'maintenance')) === 2);
    await page.locator('[data-count=maintenance]').click();
    const shown = await page.locator('tbody tr[data-host]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host')).sort());
    assert.deepEqual(shown, [sim.identities()[4].hostname, sim.identities()[5].hostname].sort());
    await page.locator('[data-count=total]').click();
  });

  test('power off: the page shows the new current power state once the agent answers', async () => {
    const target = await hostNamed(6);
    assert.equal(target.status.currentPowerState, 'on');
    await openHost(page, target.name);
    // No power command yet: the row says what the agent reported, not "unspecified".
    assert.equal(target.status.powerStatus, undefined);
    await page.getByRole('row', { name: 'Power — on, as the agent reports (no power command sent yet) —' }).waitFor();
    await page.evaluate('window.__noReload = true');
    await page.getByLabel('Power', { exact: true }).selectOption('off');
    await page.getByRole('button', { name: 'Set power' }).click();
    await page.getByTestId('desired-power').getByText('off').waitFor();
    await page.getByTestId('current-power').getByText('off').waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate('window.__noReload'), true, 'the page was not reloaded');
    assert.equal((await api(`/hosts/${target.id}`)).json.status.currentPowerState, 'off');
    await page.getByRole('row', { name: /^Power idle power off/ }).waitFor();
    // The result belongs to that host: another host's page (reached by its address, as the Back
    // button or a pasted link does) does not show it, nor this host's choice of power.
    const other = await hostNamed(7);
    await page.goto(`${base}/#/hosts/${other.id}`);
    await hostHeading(page, other.name).waitFor();
    assert.equal(await page.getByTestId('action-result').count(), 0, "the other host's page shows no result of this action");
    assert.equal(await page.getByLabel('Power', { exact: true }).inputValue(), 'on');
  });

  test('delete: cancel and Escape keep the host; confirm deletes it (marked, then removed) and it leaves the list live', async () => {
    const target = await hostNamed(7);
    // A second tab keeps the overview open and records what the host's row shows.
    const watcher = await signIn(browser, base, server.token);
    await watcher.locator(`tr[data-host="${target.name}"]`).waitFor();
    await watcher.evaluate(recordText(`tr[data-host="${target.name}"] td.state`, '__rowStates'));

    await openHost(page, target.name);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${target.name}?` });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Escape cancels too.
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await new Promise((r) => setTimeout(r, 300));
    const kept = await api(`/hosts/${target.id}`);
    assert.equal(kept.status, 200);
    assert.equal(kept.json.spec.desiredState, 'onboarded', 'cancelling deleted nothing');

    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete host' }).click();
    await page.getByRole('status').getByText(`Host ${target.id} does not exist`).waitFor({ timeout: 20_000 });
    await watcher.locator(`tr[data-host="${target.name}"]`).waitFor({ state: 'detached', timeout: 20_000 });
    // Two phases in the log: the console's DELETE marks the host, then its manager removes it.
    const events = (await api(`/events?id=${target.id}&limit=1000`)).json.events.slice(-2);
    assert.deepEqual(
      events.map((e: any) => [e.type, e.object.spec.desiredState]),
      [
        ['UPDATED', 'deleted'],
        ['DELETED', 'deleted'],
      ],
    );
    // Nothing holds a host's removal (all that refers to it is owned by it), so the manager removes
    // it within milliseconds of the mark, and the list may draw both in one frame: what the row
    // showed is its state, then possibly the mark, then nothing.
    const states: string[] = await watcher.evaluate('window.__rowStates');
    const shown = states.filter((t, k) => k === 0 || t !== states[k - 1]);
    assert.deepEqual(shown.filter((t) => t !== `${target.status.currentState} → deleted`), [target.status.currentState, '(absent)'], JSON.stringify(states));
    assert.equal((await api(`/hosts/${target.id}`)).status, 404);
    // The tiles come from the server's summary, fetched again at most once a second after a change.
    await until('the total tile one host fewer', async () => (await tileCount(watcher, 'total')) === NODES - 1);
    await watcher.close();
  });

  test("a refused action shows the server's message (a viewer may not power a host)", async () => {
    const viewer = await create('/tokens', { role: 'viewer' });
    const target = await hostNamed(4);
    const p = await signIn(browser, base, viewer.token);
    await openHost(p, target.name);
    await p.getByLabel('Power', { exact: true }).selectOption('reset');
    await p.getByRole('button', { name: 'Set power' }).click();
    const said = (await api(`/hosts/${target.id}`, { method: 'PATCH', token: viewer.token, body: { spec: { desiredPowerState: 'reset' } } })).json.error;
    assert.equal(said.code, 'permission_denied');
    const shown = await p.getByRole('alert').filter({ hasText: 'refused' }).textContent();
    assert.equal(shown, `Power reset refused: ${said.message}`);
    await p.close();
  });

  test("changing the instance's update policy on the host page, then the rollout's progress live", async () => {
    const hosts = await Promise.all([0, 1, 2, 3].map(hostNamed));
    await openHost(page, hosts[0].name);
    const select = page.getByLabel('Update policy');
    await select.selectOption({ label: 'to-24-04' });
    await page.getByRole('status').getByText('Update policy changed.').waitFor();
    const inst = await until('the instance attached', async () => (await filtered('/instances', `spec.hostId = "${hosts[0].id}"`)).find((i) => i.spec.osUpdatePolicyId === ids.policy));
    assert.equal(inst.spec.osUpdatePolicyId, ids.policy);
    // The page shows it once the instance's event reaches its live copy (the API may answer first).
    await until('the select shows the policy', async () => (await select.inputValue()) === ids.policy);
    assert.equal(await select.inputValue(), ids.policy);
    for (const h of hosts.slice(1)) {
      const [i] = await filtered('/instances', `spec.hostId = "${h.id}"`);
      assert.equal((await api(`/instances/${i.id}`, { method: 'PATCH', body: { spec: { osUpdatePolicyId: ids.policy } } })).status, 200);
    }

    await nav(page, 'OS & updates').click();
    const row = page.locator('tr[data-policy="to-24-04"]');
    // No os-update window yet: all four wait.
    await row.locator('td.status').getByText(/^waiting for a window/).waitFor();
    assert.equal(await row.locator('progress').getAttribute('value'), '0');
    // Collect every progress value the row shows while the rollout runs.
    await page.evaluate(recordText('tr[data-policy="to-24-04"] .progress-wrap', '__progress'));
    await create('/schedules', { name: 'plant-1-updates', spec: { purpose: 'os-update', target: { siteId: ids['plant-1'] }, single: { startAt: new Date(Date.now() - 1000).toISOString() } } });
    await row.locator('td.status').getByText(/^done: 4\/4 up to date/).waitFor({ timeout: 30_000 });
    const bar = row.locator('progress');
    assert.deepEqual([await bar.getAttribute('value'), await bar.getAttribute('max')], ['4', '4']);
    assert.equal(await bar.getAttribute('aria-label'), 'to-24-04: 4 of 4 instances updated');
    const seen: string[] = await page.evaluate('window.__progress');
    assert.ok(seen.every((t) => /^[0-4] \/ 4$/.test(t)), `never more than all: ${JSON.stringify(seen)}`);
    const policy = (await api(`/os-update-policies/${ids.policy}`)).json;
    assert.deepEqual([policy.status.rollout.upToDate, policy.status.rollout.total, policy.status.rollout.failed], [4, 4, 0]);
    // The OS table counts what the instances run now.
    const osTableRow = page.getByRole('row', { name: /^ubuntu-24-04 / });
    assert.equal(await osTableRow.locator('td').last().textContent(), '4');
    await screenshot(page, 'updates');

    // On a laptop screen, and in a narrower window where the status words press on the other
    // columns, the policy's name and its progress keep to one line (the status wraps instead).
    for (const width of [1366, 1024]) {
      const small = await signIn(browser, base, server.token, { width, height: 768 });
      await nav(small, 'OS & updates').click();
      await small.locator('tr[data-policy="to-24-04"] td.status').getByText(/^done/).waitFor();
      await screenshot(small, `updates-${width}`);
      for (const part of ['td:nth-child(1)', 'td:nth-child(4) .progress-wrap']) assert.equal(await small.evaluate(linesOf(`tr[data-policy="to-24-04"] ${part}`)), 1, `${part} on one line at ${width} px`);
      await small.close();
    }
    assert.equal(await row.locator('td:nth-child(3)').textContent(), '2 at once, stop at the first failure');

    // The host page: 22.04 desired, 24.04 current is the update, not drift, and it says so.
    await openHost(page, hosts[0].name);
    const osRow = page.getByTestId('instance-os');
    await osRow.getByText('ubuntu-24-04').waitFor();
    assert.equal(await osRow.getAttribute('class'), '', 'not highlighted');
    assert.equal(await page.getByTestId('os-note').textContent(), ' · updated by policy to-24-04 (from ubuntu-22-04); spec.osId stays what was installed');
    // Its telemetry by name: the group, the profile, and the site the profile targets.
    const telemetry = page.getByTestId('telemetry-sources');
    await telemetry.getByRole('row').first().waitFor();
    assert.deepEqual(await telemetry.getByRole('row').first().locator('td').allTextContents(), ['node-metrics', 'plant-1-metrics', 'site plant-1', 'metricsIntervalSeconds']);

    // Those four hosts are in a window too now: the tile counts six.
    await nav(page, 'Overview').click();
    await until('six hosts in a window', async () => (await filtered('/hosts', 'status.maintenance.inWindow = true')).length === 6);
    await until('the tile counting six', async () => (await tileCount(page, 'maintenance')) === 6);
  });

  test('an invalidated host: Onboard is off and the page says why (the server would refuse it)', async () => {
    const target = await hostNamed(5);
    assert.equal((await api(`/hosts/${target.id}`, { method: 'PATCH', body: { spec: { desiredState: 'untrusted' } } })).status, 200);
    await until('the host untrusted', async () => (await api(`/hosts/${target.id}`)).json.status.currentState === 'untrusted');
    await openHost(page, target.name);
    const onboard = page.getByRole('button', { name: 'Onboard' });
    await until('Onboard disabled', async () => await onboard.isDisabled());
    const why = (await page.getByTestId('action-note').textContent()) ?? '';
    assert.match(why, /^Onboard is not possible: the host is untrusted .*; from there it may only be deleted$/);
    assert.equal(await onboard.getAttribute('title'), why);
    // What the server says to the same request agrees.
    const refused = await api(`/hosts/${target.id}`, { method: 'PATCH', body: { spec: { desiredState: 'onboarded' } } });
    assert.equal(refused.json.error.code, 'failed_precondition');
    await screenshot(page, 'untrusted-host');
  });

  /** Waits until focus has moved to the view's start (it moves once the view renders). */
  const focusOnMain = (p: Page) => until('focus on the view', async () => (await p.evaluate('document.activeElement && document.activeElement.id')) === 'main');

  test('keyboard only: sign in and open a host with Tab and Enter; every control has a label', async () => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await p.goto(base);
    // The token field has focus on arrival.
    assert.equal(await p.evaluate('document.activeElement.id'), 'token');
    await p.keyboard.type(server.token);
    await p.keyboard.press('Enter');
    await p.locator('[data-testid=connection][data-state=live]').waitFor();
    const name = sim.identities()[1].hostname;
    await p.locator(`tr[data-host="${name}"]`).waitFor();
    let tabs = 0;
    while ((await p.evaluate('document.activeElement.textContent')) !== name) {
      assert.ok(++tabs < 80, `the link to ${name} is reachable with Tab`);
      await p.keyboard.press('Tab');
    }
    await p.keyboard.press('Enter');
    await hostHeading(p, name).waitFor();
    assert.match(p.url(), /#\/hosts\/host-[0-9a-f]{8}$/);
    // Focus moves to the new view (after it renders): the next Tab is its first link, and Enter goes back.
    await focusOnMain(p);
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate('document.activeElement.textContent'), '← Overview');
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: 'Fleet overview' }).waitFor();
    await focusOnMain(p);
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate('document.activeElement.getAttribute("data-count")'), 'total', 'then into the overview, at its first tile');
    await p.goto(`${base}/#/hosts/${(await hostNamed(1)).id}`);
    await hostHeading(p, name).waitFor();

    // Labelled controls, found the way assistive technology finds them.
    for (const label of ['Power', 'Update policy', 'Project']) assert.equal(await p.getByLabel(label, { exact: true }).count(), 1, label);
    const unlabelled = () => p.evaluate(UNLABELLED);
    assert.deepEqual(await unlabelled(), [], 'host page');
    for (const [link, what] of [
      ['Overview', 'tbody tr[data-host]'],
      ['Regions & sites', 'summary'],
      ['Schedules', 'tr[data-schedule]'],
      ['OS & updates', 'tr[data-policy]'],
    ]) {
      await nav(p, link).click();
      await p.locator(what).first().waitFor();
      assert.deepEqual(await unlabelled(), [], link);
    }
    await p.close();
  });
  test("a host's node configuration: each account with what its agent did and where it came from; a failed item says why", async () => {
    await create('/local-accounts', { name: 'deploy', spec: { username: 'deploy', sshKeys: [testEd25519Key('ops@laptop')], sudo: 'nopasswd', target: { siteId: ids['plant-1'] } } });
    // Not a name eim reserves, but a system account on the simulated node: its agent refuses it.
    await create('/local-accounts', { name: 'db', spec: { username: 'postgres', target: { siteId: ids['plant-1'] } } });
    const p = await signIn(browser, base, server.token);
    await openHost(p, sim.identities()[2].hostname);
    const section = p.getByTestId('node-config');
    const row = (username: string) => section.getByTestId('node-config-items').locator('tr', { has: p.getByRole('cell', { name: username, exact: true }) });
    await until('both accounts reported by the agent', async () => /applied/.test((await row('deploy').textContent().catch(() => '')) ?? '') && /failed/.test((await row('postgres').textContent().catch(() => '')) ?? ''));
    assert.match(await section.textContent() ?? '', /applied by the agent/);
    const deploy = await row('deploy').locator('td').allInnerTexts();
    assert.deepEqual(deploy, ['account', 'deploy', '1 SSH key, sudo nopasswd', 'applied', 'site plant-1']);
    assert.match(await p.getByTestId('node-config-errors').innerText(), /account:postgres failed: postgres is a system account on this node \(uid \d+\)/);
    assert.equal((await p.getByTestId('node-config-status').innerText()).trim(), '1 item failed', 'counted beside the version, told once below');
    await screenshot(p, 'host-node-config');
    // A host outside plant-1 gets none of it.
    await openHost(p, sim.identities()[5].hostname);
    await p.getByText('No local account or custom config applies to this host.').waitFor();
    await p.close();
  });
});
