import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTestApp } from '../testing/test-app.ts';

// Issue 9 item 17: a package name never becomes a package manager option.

const HOSTILE = ['-oDPkg::Pre-Invoke::=reboot', '-oAPT::Get::AllowUnauthenticated=true', '--allow-downgrades', '-y', 'openssl curl', 'a;reboot', 'x$(reboot)', '*', 'open*', "a'b", ''];
const FINE = ['openssl', 'libssl3:amd64', 'curl=7.81.0-1ubuntu1.15', 'linux-image-6.8.0-45-generic', 'python3.12', 'g++', 'kernel-core', 'pkg=1:2.3~rc1+dfsg-4'];

test('OsUpdatePolicy and OperatingSystem packages: option-like and non-package names are refused with 400', async () => {
  const srv = await openTestApp();
  try {
    const P = '/v1/projects/default';
    const os = (name: string, packages: string[]) =>
      srv.call('POST', `${P}/operating-systems`, srv.admin, {
        name,
        spec: { imageUrl: 'https://images.example/u.img', sha256: 'a'.repeat(64), profileName: 'u', profileVersion: '1', osType: 'mutable', architecture: 'x86_64', packages },
      });
    const policy = (name: string, packages: string[]) => srv.call('POST', `${P}/os-update-policies`, srv.admin, { name, spec: { policy: 'latest', packages, rollout: { maxConcurrent: 1, maxFailures: 0 } } });
    for (const [i, bad] of HOSTILE.entries()) {
      for (const r of [await os(`os-bad-${i}`, ['openssl', bad]), await policy(`p-bad-${i}`, [bad])]) {
        assert.equal(r.status, 400, `${JSON.stringify(bad)} → ${r.status}`);
        assert.equal(r.json.error.code, 'invalid_argument');
      }
    }
    assert.equal((await os('os-ok', FINE)).status, 201);
    const ok = await policy('p-ok', FINE);
    assert.equal(ok.status, 201);
    assert.equal((await srv.call('PATCH', `${P}/os-update-policies/${ok.json.id}`, srv.admin, { spec: { packages: ['-oDPkg::Pre-Invoke::=reboot'] } })).status, 400, 'a patch too');
    assert.equal((await policy('p-many', Array.from({ length: 257 }, (_, i) => `p${i}`))).status, 400, 'at most 256');
  } finally {
    await srv.close();
  }
});
