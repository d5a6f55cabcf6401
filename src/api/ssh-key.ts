/** The SSH public key types eim accepts (OpenSSH names). DSA (`ssh-dss`) is refused: OpenSSH dropped it. */
export const SSH_KEY_TYPES = [
  'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** The smallest RSA modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;

/** The longest public key line accepted (an RSA 16384-bit key is about 2,800 characters). */
export const SSH_KEY_MAX_LENGTH = 16384;

export interface SshPublicKey {
  type: (typeof SSH_KEY_TYPES)[number];
  /** The base64 body, as given. */
  body: string;
  comment?: string;
  /** RSA: the modulus size; others: the curve's. */
  bits: number;
  /** The key as one authorized_keys line: `type body[ comment]`. */
  line: string;
}

/** Why a text is not an acceptable SSH public key; never echoes the key. */
export class SshKeyError extends Error {}

const ECDSA_CURVES: Record<string, { curve: string; bits: number }> = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', bits: 256 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', bits: 384 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', bits: 521 },
  'sk-ecdsa-sha2-nistp256@openssh.com': { curve: 'nistp256', bits: 256 },
};

/**
 * Parses one OpenSSH public key line `type base64 [comment]` and checks its wire format: the
 * body's own type name equals the outer one, an Ed25519 key is 32 bytes, an ECDSA key names its
 * curve, an RSA modulus has at least MIN_RSA_BITS bits. authorized_keys options (`command=…`),
 * private keys, several lines and control characters are refused. Throws SshKeyError.
 * @example parseSshKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI… alice@laptop').type // 'ssh-ed25519'
 */
export function parseSshKey(text: string): SshPublicKey {
  if (text.length > SSH_KEY_MAX_LENGTH) throw new SshKeyError(`is longer than ${SSH_KEY_MAX_LENGTH} characters`);
  if (/PRIVATE KEY/.test(text)) throw new SshKeyError('is a private key: give the public key (the .pub file), and keep the private key to yourself');
  const trimmed = text.trim();
  // Any control character (a newline above all) could smuggle a second authorized_keys line in.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new SshKeyError('holds a line break or another control character: one key per entry, on one line');
  const [type, body, ...rest] = trimmed.split(/ +/);
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type ?? '')) {
    const shown = /^[a-z0-9@.-]{1,40}$/.test(type ?? '') ? `"${type}"` : 'its first word';
    throw new SshKeyError(`has type ${shown}, not one of ${SSH_KEY_TYPES.join(', ')} (authorized_keys options such as command= are not accepted)`);
  }
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) throw new SshKeyError(`has no valid base64 body after "${type}"`);
  const wire = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  const r = new WireReader(wire);
  const inner = latin1(r.string());
  if (inner !== type) throw new SshKeyError(`says "${type}" but its body is a ${/^[a-z0-9@.-]{1,40}$/.test(inner) ? `"${inner}"` : 'different'} key`);
  let bits: number;
  if (type === 'ssh-rsa') {
    r.string(); // e
    const n = r.string();
    bits = bitLength(n);
    if (bits < MIN_RSA_BITS) throw new SshKeyError(`is an RSA key of ${bits} bits: at least ${MIN_RSA_BITS} are needed (make a new one: ssh-keygen -t ed25519)`);
  } else if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    if (r.string().length !== 32) throw new SshKeyError('is an Ed25519 key whose public part is not 32 bytes');
    bits = 256;
  } else {
    const { curve, bits: b } = ECDSA_CURVES[type];
    if (latin1(r.string()) !== curve) throw new SshKeyError(`is an ECDSA key whose curve is not ${curve}`);
    r.string(); // Q
    bits = b;
  }
  if (type.startsWith('sk-')) r.string(); // application
  if (!r.done) throw new SshKeyError('has bytes after the key in its body');
  const comment = rest.join(' ') || undefined;
  return { type: type as SshPublicKey['type'], body, comment, bits, line: comment ? `${type} ${body} ${comment}` : `${type} ${body}` };
}

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b.subarray(0, 64));

/** Reads the SSH wire format (RFC 4251 strings: a uint32 length, then the bytes). Browser-safe: no Buffer. */
class WireReader {
  private at = 0;
  constructor(private readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.at === this.buf.length;
  }
  string(): Uint8Array {
    if (this.at + 4 > this.buf.length) throw new SshKeyError('has a body that ends too early (truncated or not a key)');
    const len = new DataView(this.buf.buffer, this.buf.byteOffset + this.at, 4).getUint32(0);
    if (this.at + 4 + len > this.buf.length) throw new SshKeyError('has a body that ends too early (truncated or not a key)');
    const out = this.buf.subarray(this.at + 4, this.at + 4 + len);
    this.at += 4 + len;
    return out;
  }
}

/** The bits of an SSH mpint (big-endian, a leading zero byte for a set high bit). */
function bitLength(mpint: Uint8Array): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]));
}
