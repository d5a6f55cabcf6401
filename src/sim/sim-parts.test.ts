import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simOsRelease } from '../agent/index.ts';
import { SimExecutor } from '../agent/index.ts';
import { tempDir } from '../testing/test-stores.ts';
import { simIdentity } from './fleet-simulator.ts';
import { SimLog, situationOf } from './sim-log.ts';
import { manifestText, writeManifest } from './sim-manifest.ts';
import { SimMemory } from './sim-memory.ts';

describe('simulator log', () => {
  test('many nodes in one situation make one line per interval; --verbose keeps each', () => {
    const lines: string[] = [];
    const log = new SimLog((l) => lines.push(l));
    for (let i = 0; i < 30; i++) {
      const node = log.forNode(`sim-ab12-${String(i).padStart(5, '0')}`);
      // What the agent says while its host is not registered, twice per node in the interval.
      for (const delay of ['1.2', '2.5']) node.warn(`enrollment failed: no host in project "default" is registered with uuid 1f0e${i}aaa-0000-4000-8000-00000000000${i % 10} or serial number SN${i}; register it first (eim create host NAME --set spec.uuid=…) or use an enrollment token made with autoRegister; trying again in ${delay} s`);
    }
    for (let i = 0; i < 50; i++) log.forNode(`n${i}`).warn(`heartbeat failed: fetch failed; trying again every 10 s`);
    log.forNode('n1').info('enrolled as host host-0a1b2c3d');
    log.flush();
    assert.deepEqual(lines, [
      'warn  50 nodes reconnecting: server unreachable (n0, n1, n10, …)',
      'warn  30 nodes waiting to enrol: no registered host matches them yet (register them, or run with --auto-register) (sim-ab12-00000, sim-ab12-00001, sim-ab12-00002, …)',
    ]);
    log.flush();
    assert.equal(lines.length, 2, 'an interval with nothing new prints nothing');
    const verbose: string[] = [];
    const v = new SimLog((l) => verbose.push(l), true);
    v.forNode('n1').warn('heartbeat failed: fetch failed');
    v.forNode('n1').info('enrolled');
    assert.deepEqual(verbose, ['warn  n1: heartbeat failed: fetch failed', 'info  n1: enrolled']);
  });

  test('situations: node-specific parts are taken out; distinct situations are bounded', () => {
    assert.equal(situationOf('command cmd-0a1b2c3d (power) failed (not recoverable): no power controller'), 'command … (power) failed (not recoverable): no power controller');
    assert.equal(situationOf('host host-0a1b2c3d was invalidated or deleted: the server revoked this agent'), 'stopped: their hosts were invalidated or deleted (agent tokens revoked)');
    const lines: string[] = [];
    const log = new SimLog((l) => lines.push(l));
    for (let i = 0; i < 200; i++) log.forNode(`n${i}`).warn(`odd warning ${'x'.repeat(i % 60)}`);
    log.flush();
    assert.equal(lines.length, 51, '50 situations and a line for the rest');
    assert.match(lines.at(-1)!, /^warn {2}30 more warnings of other kinds \(run with --verbose to see each\)$/);
  });
});

describe('simulator manifest', () => {
  test('written, left when unchanged, replaced when not edited, never overwritten when edited', () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'sub', 'sim-hosts.yaml');
      const three = manifestText([0, 1, 2].map((i) => simIdentity('t', i)), 't');
      assert.deepEqual(writeManifest(path, three), { path, outcome: 'written', asked: path });
      assert.match(readFileSync(path, 'utf8'), /^kind: hosts\nname: t-00000\nlabels: \{ simulated: "true" \}\nspec:\n {2}uuid: [0-9a-f-]{36}\n {2}serialNumber: \w+\n {2}desiredState: registered$/m);
      assert.equal(writeManifest(path, three).outcome, 'unchanged');
      const two = manifestText([0, 1].map((i) => simIdentity('t', i)), 't');
      assert.equal(writeManifest(path, two).outcome, 'replaced', 'an unedited manifest of ours may be replaced');
      const edited = readFileSync(path, 'utf8').replace('desiredState: registered', 'desiredState: onboarded');
      writeFileSync(path, edited);
      const w = writeManifest(path, three);
      assert.deepEqual(w, { path: join(tmp.dir, 'sub', 'sim-hosts.1.yaml'), outcome: 'kept', asked: path });
      assert.equal(readFileSync(path, 'utf8'), edited, 'the edited file is left as it is');
      assert.equal(writeManifest(path, three).path, w.path, 'the same content goes to the same other name');
      writeFileSync(join(tmp.dir, 'mine.yaml'), 'kind: regions\nname: eu\n');
      assert.equal(writeManifest(join(tmp.dir, 'mine.yaml'), three).outcome, 'kept', 'a file eim sim did not write is not its to replace');
    } finally {
      tmp.remove();
    }
  });
});

describe('simulator memory and machines', () => {
  test('revocations and OS survive a restart, per server and project; forgetRevoked brings nodes back', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'fleet.json');
      const a = new SimMemory(file, 'http://a default');
      a.update(3, { revokedAt: '2026-01-01T00:00:00.000Z', revokedReason: 'deleted', hostId: 'host-0a1b2c3d' });
      a.update(4, { os: { name: 'Ubuntu', version: '24.04' } });
      a.flush();
      const b = new SimMemory(file, 'http://a default');
      assert.equal(b.get(3)?.revokedAt, '2026-01-01T00:00:00.000Z');
      assert.deepEqual(b.get(4)?.os, { name: 'Ubuntu', version: '24.04' });
      assert.equal(new SimMemory(file, 'http://b default').get(3), undefined, 'another server is another fleet');
      assert.equal(b.forgetRevoked(), 1);
      b.flush();
      assert.equal(new SimMemory(file, 'http://a default').get(3)?.revokedAt, undefined);
      writeFileSync(file, '{ nope');
      assert.throws(() => new SimMemory(file, 'x'), /damaged .*delete it to start over/);
    } finally {
      tmp.remove();
    }
  });

  test('the executor tells which OS an install or update left, and which power command succeeded', async () => {
    const seen: unknown[] = [];
    const ex = new SimExecutor({ durationMs: 0, onOsChange: (os) => seen.push(os), onPower: (t, id) => seen.push(`${t} ${id}`) });
    const never = new AbortController().signal;
    const image = { osId: 'os-00000024', imageUrl: 'https://i.example/u.img', sha256: 'a'.repeat(64), profileName: 'ubuntu', profileVersion: '24.04' };
    await ex.run({ id: 'c1', type: 'install-os', params: { ...image, osId: 'os-00000022', profileVersion: '22.04' }, issuedAt: '2026-01-01T00:00:00Z' }, () => {}, never);
    await ex.run({ id: 'c2', type: 'update-os', params: image, issuedAt: '2026-01-01T00:00:00Z' }, () => {}, never);
    await ex.run({ id: 'c3', type: 'update-os', params: { packages: ['curl'] }, issuedAt: '2026-01-01T00:00:00Z' }, () => {}, never);
    await ex.run({ id: 'c4', type: 'power', params: { state: 'off' }, issuedAt: '2026-01-01T00:00:00Z' }, () => {}, never);
    assert.deepEqual(seen, [
      { osId: 'os-00000022', profileName: 'ubuntu', profileVersion: '22.04' },
      { osId: 'os-00000024', profileName: 'ubuntu', profileVersion: '24.04' },
      'off c4',
    ]);
    assert.equal(ex.powerState(), 'off');
    assert.deepEqual(simOsRelease('ubuntu', '24.04'), { name: 'Ubuntu', version: '24.04', kernel: '6.8.0-45-generic' });
    assert.deepEqual(simOsRelease('edgeos', '7.1'), { name: 'edgeos', version: '7.1' });
  });

  test('a restarted machine remembers its OS: a failed update rolls back to it', async () => {
    const ex = new SimExecutor({ durationMs: 0, osId: 'os-00000024', script: ['unrecoverable'] });
    const r = await ex.run({ id: 'u1', type: 'update-os', params: { osId: 'os-00000025', imageUrl: 'https://i.example/u.img', sha256: 'a'.repeat(64) }, issuedAt: '2026-01-01T00:00:00Z' }, () => {}, new AbortController().signal);
    assert.equal(r.state, 'failed');
    assert.equal(r.details?.rolledBackTo, 'os-00000024');
    assert.match(r.message ?? '', /rolled back to os-00000024$/);
  });

  test('prefixes name the nodes; the seed makes the machines', () => {
    assert.equal(simIdentity('s', 7, 'line1').hostname, 'line1-00007');
    assert.equal(simIdentity('s', 7, 'line1').uuid, simIdentity('s', 7).uuid);
    assert.notEqual(simIdentity('s', 7).uuid, simIdentity('other', 7).uuid);
  });
});
