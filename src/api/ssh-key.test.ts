import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { testEd25519Key, testRsaKey } from '../testing/ssh-keys.ts';
import { parseSshKey, SshKeyError } from './ssh-key.ts';

/** A real OpenSSH line for a real key pair (node:crypto's JWK gives the parts). */
function realRsa(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const mp = (b64: string) => {
    let b = Buffer.from(b64, 'base64url');
    if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return b;
  };
  const s = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (b.length >>> (24 - 8 * i)) & 255)), b]);
  return `ssh-rsa ${Buffer.concat([s(Buffer.from('ssh-rsa')), s(mp(jwk.e!)), s(mp(jwk.n!))]).toString('base64')} real@key`;
}

test('parses Ed25519 and RSA keys: type, bits, comment, the normalized line', () => {
  const ed = parseSshKey(`  ${testEd25519Key('alice@laptop  two words')}\n`);
  assert.equal(ed.type, 'ssh-ed25519');
  assert.equal(ed.bits, 256);
  assert.equal(ed.comment, 'alice@laptop two words');
  assert.match(ed.line, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/=]+ alice@laptop two words$/);
  assert.equal(parseSshKey(realRsa(2048)).bits, 2048);
  assert.equal(parseSshKey(testRsaKey(4096)).bits, 4096);
  assert.equal(parseSshKey(testEd25519Key()).comment, undefined);
});

test('refuses RSA below 2048 bits, unknown types, options, truncated or mismatched bodies, private keys, several lines', () => {
  const refused: [string, RegExp][] = [
    [realRsa(1024), /RSA key of 1024 bits/],
    [testRsaKey(2047), /RSA key of 2047 bits/],
    ['ssh-dss AAAAB3NzaC1kc3MAAACBAP==', /not one of/],
    [`command="rm -rf /" ${testEd25519Key()}`, /options such as command= are not accepted/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISECRETSECRETSECRET user@host', /ends too early|no valid base64 body/],
    ['ssh-ed25519 not_base64!', /no valid base64 body/],
    [testEd25519Key().replace('ssh-ed25519', 'ssh-rsa'), /says "ssh-rsa" but its body is a "ssh-ed25519" key/],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', /is a private key/],
    [`${testEd25519Key('a')}\n${testEd25519Key('b')}`, /line break/],
    [`ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 16]), Buffer.alloc(16)]).toString('base64')}`, /not 32 bytes/],
  ];
  for (const [text, why] of refused) assert.throws(() => parseSshKey(text), (e: unknown) => e instanceof SshKeyError && why.test(e.message), text.slice(0, 60));
});

test('property: any text is parsed or refused with an SshKeyError, never another error, and the message never holds the body', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.base64String().map((b) => `ssh-rsa ${b}`), fc.uint8Array({ maxLength: 300 }).map((u) => `ssh-ed25519 ${Buffer.from(u).toString('base64')}`)), (text) => {
      try {
        parseSshKey(text);
      } catch (e) {
        assert.ok(e instanceof SshKeyError, String(e));
        const body = text.split(' ')[1];
        if (body && body.length > 12) assert.ok(!e.message.includes(body));
      }
    }),
    { numRuns: 500 },
  );
});
