import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call } from '../testing/http-client.ts';
import { tempDir } from '../testing/test-stores.ts';
import { type CliHarness, eventually, startCliHarness } from './cli-harness.ts';

// `eim sim` as the README runs it (issue 11, defects 6 and 7): the Quick start's fleet, then
// section 2's, on one server; an edited manifest; and what the simulator prints meanwhile.

/** Generous: each step is a node process starting on a machine that may be busy. */
const WAIT_MS = 30_000;

describe('eim sim: runs that do not collide, manifests never overwritten', () => {
  let h: CliHarness;
  const tmp = tempDir();
  const stateDir = join(tmp.dir, 'state');
  const manifest = join(tmp.dir, 'sim-hosts.yaml');
  const hosts = async () => (await call(`${h.server.url}/v1/projects/default/hosts?pageSize=100`, { token: h.server.token })).json.items as { name: string; status: { hostStatus?: { message: string } } }[];
  const sim = (args: string[]) => h.spawnEim(['sim', '--heartbeat', '1s', '--summary-every', '1s', '--state-dir', stateDir, ...args]);
  let secondPrefix = '';

  before(async () => {
    h = await startCliHarness();
    h.login();
  });
  after(async () => {
    await h.close();
    tmp.remove();
  });

  test("the Quick start's auto-registered fleet and section 2's fleet do not collide; nothing enrolled is reported waiting", async () => {
    const cwdBefore = readdirSync('.').sort();
    const quick = sim(['--nodes', '3', '--auto-register']);
    await eventually(() => /· 3 enrolled ·/.test(quick.output()), 'the quick start fleet enrolled', WAIT_MS);
    await quick.stop();
    const first = /eim sim: 3 nodes (sim-[0-9a-f]{4})-00000 … \1-00002 in project default on http:\/\/\S+ \(the same nodes again: eim sim --prefix \1\)/.exec(quick.output());
    assert.ok(first, quick.output());

    const line = sim(['--nodes', '3', '--manifest', manifest]);
    await eventually(() => /wait to enrol until their hosts are registered/.test(line.output()), 'the manifest line', WAIT_MS);
    secondPrefix = /eim sim: 3 nodes (sim-[0-9a-f]{4})-00000/.exec(line.output())![1];
    assert.notEqual(secondPrefix, first[1], 'a new prefix per run');
    assert.match(line.output(), new RegExp(`^3 nodes wait to enrol until their hosts are registered: eim apply -f ${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    // While they wait, one line per interval sums them up: no line per node per retry.
    await eventually(() => /^warn {2}[1-3] nodes? waiting to enrol: /m.test(line.output()), 'the summed-up warning', WAIT_MS);
    assert.doesNotMatch(line.output(), /enrollment failed/, 'no per-node enrolment lines without --verbose');
    assert.match(line.output(), /· 3 waiting to enrol ·/);

    const applied = await h.eim(['apply', '-f', manifest]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((applied.stdout.match(/^host\/sim-[0-9a-f]{4}-0000\d created$/gm) ?? []).length, 3, applied.stdout);
    await eventually(() => /· 3 enrolled ·/.test(line.output()), 'section 2 fleet enrolled', WAIT_MS);
    const mark = line.output().length;
    await eventually(() => /^sim \d+s: .*· 3 enrolled ·/m.test(line.output().slice(mark)), 'a summary after enrolment', WAIT_MS);
    assert.doesNotMatch(line.output().slice(mark), /waiting to enrol/, 'enrolled nodes are never reported as waiting');
    await line.stop();
    assert.equal((await hosts()).length, 6, 'both fleets are there');
    assert.deepEqual(readdirSync('.').sort(), cwdBefore, 'nothing written into the working directory');
  });

  test('an edited manifest is never overwritten; registered nodes enrol without one', async () => {
    const edited = readFileSync(manifest, 'utf8').replace(/desiredState: registered/g, 'desiredState: onboarded');
    writeFileSync(manifest, edited);
    const again = sim(['--nodes', '3', '--prefix', secondPrefix, '--manifest', manifest]);
    await eventually(() => /all 3 nodes are registered as hosts already: they enrol now \(no manifest written\)/.test(again.output()), 'no manifest needed', WAIT_MS);
    await again.stop();
    assert.equal(readFileSync(manifest, 'utf8'), edited);

    const other = sim(['--nodes', '2', '--prefix', 'line2', '--manifest', manifest]);
    const alt = join(tmp.dir, 'sim-hosts.1.yaml');
    await eventually(() => other.output().includes(`eim apply -f ${alt}`), 'the manifest written beside the edited one', WAIT_MS);
    await other.stop();
    assert.match(other.output(), new RegExp(`^${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was changed since eim sim wrote it \\(or is not its own\\): left as it is$`, 'm'));
    assert.equal(readFileSync(manifest, 'utf8'), edited, 'the edited file is untouched');
    assert.match(readFileSync(alt, 'utf8'), /name: line2-00001/);

    // Without --manifest, the manifest goes to the state dir, not the working directory.
    const quiet = sim(['--nodes', '1', '--prefix', 'line3']);
    await eventually(() => /eim apply -f /.test(quiet.output()), 'the default manifest path', WAIT_MS);
    await quiet.stop();
    assert.match(quiet.output(), new RegExp(`eim apply -f ${join(stateDir, 'line3', 'hosts.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });
});
