import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliHarness, startCliHarness } from './cli-harness.ts';

// Maintenance windows from the command line, against a real server running its managers.

describe('eim CLI: maintenance windows', () => {
  let h: CliHarness;
  before(async () => {
    h = await startCliHarness({ managers: true });
    h.login();
  });
  after(() => h?.close());

  const idOf = async (args: string[]) => {
    const r = await h.eim([...args, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { id: string }).id;
  };

  test('a repeated window on a parent region and a single one open now: describe shows both, a filter selects the host in maintenance', async () => {
    const outer = await idOf(['create', 'region', 'emea']);
    const inner = await idOf(['create', 'region', 'dach', '--set', `spec.parentRegionId=${outer}`]);
    const site = await idOf(['create', 'site', 'berlin-1', '--set', `spec.regionId=${inner}`]);
    const inWindow = await idOf(['create', 'host', 'edge-in', '--set', `spec.siteId=${site}`, '--set', 'spec.serialNumber=SN-IN']);
    await idOf(['create', 'host', 'edge-out', '--set', 'spec.serialNumber=SN-OUT']);
    // Nightly on the outer region, in Berlin time, at an hour twelve hours from now (closed now,
    // whenever the test runs); and a window open now on the site.
    const berlinHour = (d: Date) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(d));
    const nightly = (berlinHour(new Date()) + 12) % 24;
    await idOf(['create', 'schedule', 'emea-nightly', '--set', 'spec.purpose=maintenance', '--set', `spec.target.regionId=${outer}`,
      '--set', `spec.repeated.cron=0 ${nightly} * * *`, '--set', 'spec.repeated.durationSeconds=3600', '--set', 'spec.repeated.timezone=Europe/Berlin']);
    const started = new Date(Date.now() - 60_000).toISOString();
    await idOf(['create', 'schedule', 'berlin-now', '--set', 'spec.purpose=os-update', '--set', `spec.target.siteId=${site}`, '--set', `spec.single.startAt=${started}`]);

    let selected: { id: string }[] = [];
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      const r = await h.eim(['get', 'hosts', '--filter', 'status.maintenance.inWindow = true', '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      selected = (JSON.parse(r.stdout) as { items: { id: string }[] }).items;
      if (selected.length > 0) break;
    }
    assert.deepEqual(selected.map((x) => x.id), [inWindow], 'only the host under the open window');

    const d = await h.eim(['describe', 'host', 'edge-in']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /Maintenance windows:/);
    assert.match(d.stdout, /now: {2}in a window \(os-update\) \(no end\)/);
    const next = /next: (\d{4}-\d\d-\d\dT\d\d:00:00\.000Z) \(in /.exec(d.stdout);
    assert.ok(next, `the next nightly window:\n${d.stdout}`);
    assert.equal(berlinHour(new Date(next[1])), nightly, 'the next nightly window, at its hour in Berlin time, shown in UTC');
    assert.match(d.stdout, /- berlin-now \(sched-[0-9a-f]{8}\): os-update, from .* on, via site berlin-1 \[open now\]/);
    assert.match(d.stdout, new RegExp(`- emea-nightly \\(sched-[0-9a-f]{8}\\): maintenance, cron "0 ${nightly} \\* \\* \\*" Europe/Berlin for 3600 s, via region emea$`, 'm'));
    const other = await h.eim(['describe', 'host', 'edge-out']);
    assert.match(other.stdout, /no schedule covers this host/);

    // A bad cron is refused with the reason.
    const bad = await h.eim(['create', 'schedule', 'bad', '--set', 'spec.purpose=maintenance', '--set', `spec.target.siteId=${site}`, '--set', 'spec.repeated.cron=30 22 1 *', '--set', 'spec.repeated.durationSeconds=60']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /5 fields/);
  });
});
