import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { type Caller, kindByName, type Resource } from '../api/index.ts';
import { hostWindowLines } from '../cli/host-windows.ts';
import { ReferenceNames } from '../cli/reference-names.ts';
import { listMatching, listPages } from '../cli/resource-lookup.ts';
import { Informer, InventoryClient } from '../client/index.ts';
import { call } from '../testing/http-client.ts';
import { openTestApp } from '../testing/test-app.ts';
import { DIALECTS, PG_URL, pgReachable } from '../testing/test-stores.ts';

// A list page has a byte budget (4 MiB of resources by default): a viewer asking for 1,000 big
// resources gets the ones that fit and a token for the rest, never 1,000 × 256 KiB. Every list path
// that reads resources over HTTP follows the token of a short page: the REST list itself, the
// client's listAll, an informer's list, the CLI's list, its reference names and its host windows.

const P = 'default';
const ADMIN: Caller = { subject: 'admin', grants: [{ project: '*', role: 'admin' }] };
const BUDGET = 4 * 1024 * 1024;
const OS_SPEC = { imageUrl: 'https://images.example.com/os.img', sha256: 'ab'.repeat(32), profileName: 'os', profileVersion: '1', osType: 'mutable', architecture: 'x86_64' };

/** About 200 kB of labels (a string field of a resource is bounded, its labels are not): repeated letters that compress to little on disk, or random hex that does not. */
const bigLabels = (compressible: boolean): Record<string, string> =>
  Object.fromEntries(Array.from({ length: 780 }, (_, k) => [`big${k}`, compressible ? 'x'.repeat(250) : randomBytes(125).toString('hex')]));

for (const dialect of DIALECTS) {
  test(`${dialect}: pageSize=1000 of 40 resources of 200 kB over HTTP: pages within the budget, and every list path reaches each once, in order`, async (t) => {
    if (dialect === 'postgres' && !(await pgReachable())) return t.skip(`PostgreSQL not reachable at ${PG_URL}: these PostgreSQL checks did NOT run`);
    const srv = await openTestApp({ dialect, listen: true });
    t.after(() => srv.close());
    const admin = srv.inventory.as(ADMIN);
    const viewer = (await srv.tokens.issue({ subject: 'viewer', grants: [{ project: P, role: 'viewer' }] })).token;
    // Half of them compress to a few kB on disk (PostgreSQL): the budget counts what is sent.
    const made: Resource[] = [];
    for (let i = 0; i < 40; i++) {
      made.push(await admin.create(P, 'OperatingSystem', { name: `os-${String(i).padStart(2, '0')}`, labels: bigLabels(i % 2 === 0), spec: OS_SPEC }));
    }
    const ids = made.map((r) => r.id);

    // The REST list, as a viewer: a short page with a token, within the budget.
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await call(`${srv.url}/v1/projects/${P}/operating-systems?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`, { token: viewer });
      assert.equal(r.status, 200, r.body.slice(0, 300));
      assert.ok(r.json.items.length >= 1 && r.json.items.length < 40, `${r.json.items.length} items in page ${pages}`);
      assert.ok(Buffer.byteLength(r.body) <= BUDGET + 64 * 1024, `a page of ${Buffer.byteLength(r.body)} bytes`);
      assert.equal(r.json.totalSize, 40);
      seen.push(...r.json.items.map((x: Resource) => x.id));
      token = r.json.nextPageToken;
      if (pages === 0) assert.ok(token, 'the first page says more follow');
      assert.ok(++pages <= 40, 'paging ends');
    } while (token);
    assert.deepEqual(seen, ids, 'each once, in name order');

    const client = new InventoryClient({ server: srv.url, token: viewer });
    t.after(() => client.close());
    const page = await client.list(P, 'OperatingSystem', { pageSize: 1000 });
    assert.ok(page.items.length < 40 && page.nextPageToken);
    assert.deepEqual((await client.listAll(P, 'OperatingSystem')).items.map((r) => r.id), ids, "the client's listAll");

    const informer = new Informer({ inventory: client, project: P, kind: 'OperatingSystem' });
    t.after(() => informer.stop());
    informer.start();
    await informer.synced;
    assert.deepEqual(informer.list().map((r) => r.id).sort(), [...ids].sort(), "an informer's first list holds them all");

    const def = kindByName('OperatingSystem')!;
    assert.deepEqual((await listMatching(client, P, def, {})).items.map((r) => r.id), ids, "the CLI's list");
    const limited: Resource[] = [];
    let more: { total: number } | undefined;
    for await (const p of listPages(client, P, def, { limit: 30 })) {
      limited.push(...p.items);
      more = p.more ?? more;
    }
    assert.deepEqual(limited.map((r) => r.id), ids.slice(0, 30), "the CLI's list with --limit 30");
    assert.deepEqual(more, { total: 40 });

    const names = new ReferenceNames(client, P);
    await names.load(ids);
    assert.deepEqual(ids.map((id) => names.nameOf(id)), made.map((r) => r.name), 'reference names: every id found');

    // Schedules are big by their labels: `eim describe host` names every one that covers the host.
    const host = await admin.create(P, 'Host', { name: 'edge-1', spec: { desiredState: 'registered' } });
    const labels = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`k${i}`, 'v'.repeat(250)]));
    const schedules: Resource[] = [];
    for (let i = 0; i < 24; i++) {
      schedules.push(await admin.create(P, 'Schedule', { name: `w-${String(i).padStart(2, '0')}`, labels, spec: { purpose: 'maintenance', target: { hostId: host.id }, single: { startAt: '2030-01-01T00:00:00.000Z' } } }));
    }
    assert.ok((await client.list(P, 'Schedule', { pageSize: 1000 })).nextPageToken, 'the schedules take more than one page');
    const lines = await hostWindowLines(client, host as never);
    for (const s of schedules) assert.ok(lines.some((l) => l.includes(s.id)), `${s.name} is shown`);
  });
}
