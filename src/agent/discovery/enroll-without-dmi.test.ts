import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestApp, type TestApp } from '../../testing/test-app.ts';
import { enrollIdentity } from './enroll-identity.ts';
import { fixtureSystem, type FixtureSystemSpec } from './fixture-system.ts';
import { LinuxDiscovery } from './linux-discovery.ts';

// The README's agent recipe for machines without DMI (many ARM boards, some VMs): what the agent
// reports there, and the two ways the README gives to enrol it (by serial number, or autoRegister).

const PCI = '/sys/devices/platform/soc/fd580000.ethernet';
/** A board with no /sys/class/dmi at all, one wired NIC. */
const BOARD: FixtureSystemSpec = {
  hostname: 'pi-line-3',
  arch: 'arm64',
  files: {
    '/proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n',
    '/proc/meminfo': 'MemTotal:        3884856 kB\n',
    '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    [`${PCI}/net/eth0/address`]: 'dc:a6:32:01:02:03\n',
    [`${PCI}/net/eth0/mtu`]: '1500\n',
    [`${PCI}/net/eth0/operstate`]: 'up\n',
  },
  links: { '/sys/class/net/eth0': `${PCI}/net/eth0`, [`${PCI}/net/eth0/device`]: '../..' },
};

describe('an agent on a machine without DMI (README: "The agent on a real machine")', () => {
  let srv: TestApp;
  const enroll = (token: string, body: unknown) => srv.call('POST', '/southbound/v1/enroll', token, body);
  const enrollmentToken = async (autoRegister?: boolean) =>
    (await srv.call('POST', '/v1/projects/default/tokens', srv.admin, { role: 'enrollment', ...(autoRegister ? { autoRegister } : {}) })).json.token as string;

  before(async () => (srv = await openTestApp({ southbound: {} })));
  after(() => srv.close());

  test('it reports no uuid and no serial number, only its hostname and MACs', async () => {
    const identity = enrollIdentity(await new LinuxDiscovery({ system: fixtureSystem(BOARD) }).scan());
    assert.deepEqual(identity, { hostname: 'pi-line-3', macs: ['dc:a6:32:01:02:03'] });
  });

  test('a plain enrollment token is refused with a message that says to use autoRegister', async () => {
    const identity = enrollIdentity(await new LinuxDiscovery({ system: fixtureSystem(BOARD) }).scan());
    const r = await enroll(await enrollmentToken(), identity);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'invalid_argument');
    assert.match(r.json.error.message, /neither a uuid nor a serial number.*autoRegister/);
    // The README quotes the refusal as it is.
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ');
    assert.ok(readme.includes(`the server refuses it with \`${r.json.error.message}\``), `the README quotes: ${r.json.error.message}`);
  });

  test('with an autoRegister enrollment token it registers itself, onboarded, named after its hostname', async () => {
    const identity = enrollIdentity(await new LinuxDiscovery({ system: fixtureSystem(BOARD) }).scan());
    const r = await enroll(await enrollmentToken(true), identity);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const host = (await srv.call('GET', `/v1/projects/default/hosts/${r.json.hostId}`, srv.admin)).json;
    assert.equal(host.name, 'pi-line-3');
    assert.equal(host.spec.desiredState, 'onboarded');
    assert.equal(host.labels['eim.auto-registered'], 'true');
    assert.equal(host.spec.uuid, undefined);
  });

  test('a machine with a serial number but no uuid (product_serial only) enrols against a host registered by serial', async () => {
    const vm: FixtureSystemSpec = { ...BOARD, hostname: 'vm-7', files: { ...BOARD.files, '/sys/class/dmi/id/product_serial': 'VMW-42-1234-5678\n' } };
    const identity = enrollIdentity(await new LinuxDiscovery({ system: fixtureSystem(vm) }).scan());
    assert.equal(identity.serialNumber, 'VMW-42-1234-5678');
    assert.equal(identity.uuid, undefined);
    const made = await srv.call('POST', '/v1/projects/default/hosts', srv.admin, { name: 'edge-vm-7', spec: { serialNumber: 'VMW-42-1234-5678', desiredState: 'onboarded' } });
    assert.equal(made.status, 201);
    const r = await enroll(await enrollmentToken(), identity);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.hostId, made.json.id);
  });
});
