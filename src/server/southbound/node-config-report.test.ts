import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NodeConfigItemResult } from '../../api/node-config.ts';
import { enrolAgent } from '../../testing/enrol-agent.ts';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { boundReportedItems, NODE_CONFIG_REPORT_MAX_BYTES } from './node-config-report.ts';

const line = (i: number) => `run step ${i} ${'x'.repeat(1000)}`;
const dryRun = (n: number): NodeConfigItemResult[] =>
  Array.from({ length: n }, (_, k) => ({ item: `config:customconfig-${String(k).padStart(8, '0')}`, state: 'dry-run' as const, message: 'm'.repeat(1000), wouldRun: Array.from({ length: 32 }, (_, i) => line(i)) }));
const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

describe('boundReportedItems', () => {
  test('a report that fits is kept as it is', () => {
    const items: NodeConfigItemResult[] = [{ item: 'account:ops', state: 'applied' }, { item: 'config:customconfig-00000001', state: 'dry-run', wouldRun: ['systemctl restart chrony'] }];
    assert.deepEqual(boundReportedItems(items), items);
  });

  test('a larger one keeps each item, with the first lines of wouldRun, a count of the rest, and shortened lines and messages', () => {
    const items = dryRun(8);
    assert.ok(bytes(items) > NODE_CONFIG_REPORT_MAX_BYTES);
    const kept = boundReportedItems(items);
    assert.ok(bytes(kept) <= NODE_CONFIG_REPORT_MAX_BYTES, `${bytes(kept)} bytes`);
    assert.deepEqual(kept.map((i) => i.item), items.map((i) => i.item));
    for (const i of kept) {
      assert.equal(i.state, 'dry-run');
      assert.equal(i.wouldRun!.length, 5);
      assert.equal(i.wouldRun![4], '… 28 more');
      assert.match(i.wouldRun![0]!, /^run step 0 x+…$/);
      assert.ok(i.wouldRun!.every((l) => l.length <= 160));
      assert.equal(i.message!.length, 256);
    }
  });

  test('a line is never cut inside a character of two UTF-16 units', () => {
    const emoji = `${'x'.repeat(158)}🔧${'y'.repeat(2000)}`; // the pair at 158–159, where a cut to 160 falls
    const [kept] = boundReportedItems([{ item: 'config:customconfig-00000001', state: 'dry-run', wouldRun: Array.from({ length: 32 }, () => emoji) }], 2048);
    assert.equal(kept!.wouldRun![0], `${'x'.repeat(158)}…`);
    assert.ok(kept!.wouldRun!.every((l) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(l)), 'no lone high surrogate');
  });

  test('too many items even shortened: payload_too_large', () => {
    assert.throws(() => boundReportedItems(dryRun(128)), { code: 'payload_too_large', message: /at most 32768 are kept on a host/ });
  });
});

describe('POST /southbound/v1/node-config: an agent cannot fill its own host', () => {
  let srv: TestApp;
  before(async () => {
    srv = await openTestApp({ southbound: { leaseCheckMs: 50 } });
  });
  after(() => srv.close());

  test('a report of megabytes in the schema is kept bounded, and the host still takes the agent status and an admin patch', async () => {
    const { hostId, token } = await enrolAgent(srv, 'SN-NODE-CONFIG-BIG');
    const manager = srv.inventory.as({ subject: 'managers', grants: [{ project: '*', role: 'manager' }] });
    await manager.updateStatus('default', 'Host', hostId, { nodeConfig: { version: 'v1', accounts: [], configs: [], sources: [] } });
    const report = { version: 'v1', items: dryRun(8) };
    assert.ok(bytes(report) > 256 * 1024, 'larger than a whole host');
    const r = await srv.call('POST', '/southbound/v1/node-config', token, report);
    assert.equal(r.status, 204, JSON.stringify(r.json));
    const host = (await srv.call('GET', `/v1/projects/default/hosts/${hostId}`, srv.admin)).json;
    const items = host.status.nodeConfig.items as NodeConfigItemResult[];
    assert.equal(items.length, 8);
    assert.equal(items[0]!.wouldRun!.at(-1), '… 28 more');
    assert.ok(bytes(host) < 64 * 1024, `the host takes ${bytes(host)} bytes`);
    assert.equal((await srv.call('POST', '/southbound/v1/status', token, { message: 'm'.repeat(1000) })).status, 204);
    assert.equal((await srv.call('PATCH', `/v1/projects/default/hosts/${hostId}`, srv.admin, { labels: { rack: 'r1' } })).status, 200);
    const tooMany = await srv.call('POST', '/southbound/v1/node-config', token, { version: 'v1', items: dryRun(40) });
    assert.equal(tooMany.status, 413, JSON.stringify(tooMany.json));
    assert.equal(tooMany.json.error.code, 'payload_too_large');
  });
});
