import { randomBytes } from 'node:crypto';

const str = (b: Buffer | string) => {
  const body = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};

/**
 * An Ed25519 public key line with a random (or seeded-by-byte) 32-byte key: well-formed for
 * parseSshKey, no private key behind it.
 * @example testEd25519Key('alice@laptop') // 'ssh-ed25519 AAAAC3Nza… alice@laptop'
 */
export function testEd25519Key(comment?: string, fill?: number): string {
  const key = fill === undefined ? randomBytes(32) : Buffer.alloc(32, fill);
  const body = Buffer.concat([str('ssh-ed25519'), str(key)]).toString('base64');
  return comment ? `ssh-ed25519 ${body} ${comment}` : `ssh-ed25519 ${body}`;
}

/** An RSA public key line whose modulus has exactly `bits` bits (random, not a real modulus). */
export function testRsaKey(bits: number, comment?: string): string {
  const n = randomBytes(Math.ceil(bits / 8));
  const top = bits % 8 === 0 ? 8 : bits % 8;
  n[0] = (n[0] & ((1 << top) - 1)) | (1 << (top - 1));
  const mpint = n[0] & 0x80 ? Buffer.concat([Buffer.from([0]), n]) : n;
  const body = Buffer.concat([str('ssh-rsa'), str(Buffer.from([1, 0, 1])), str(mpint)]).toString('base64');
  return comment ? `ssh-rsa ${body} ${comment}` : `ssh-rsa ${body}`;
}
