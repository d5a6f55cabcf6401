import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

/** A PEM certificate and its private key. */
export interface CertPair {
  cert: string;
  key: string;
}

/** A certificate authority made in a test, which signs server certificates. */
export interface TestCa extends CertPair {
  /** A server certificate for 127.0.0.1, ::1 and localhost (and `names`), signed by this CA. */
  issue(o?: { cn?: string; names?: string[]; days?: number }): Promise<CertPair>;
}

const HOUR = 3600_000;

/**
 * A fresh CA (EC P-256, valid a day) for TLS tests: no openssl needed, nothing trusted outside the test.
 * @example const ca = await makeTestCa(); const server = await ca.issue(); writeCerts(dir, { 'ca.pem': ca.cert, ... })
 */
export async function makeTestCa(name = 'eim test CA'): Promise<TestCa> {
  const now = Date.now();
  const root = await selfsigned.generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - HOUR),
    notAfterDate: new Date(now + 24 * HOUR),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const ca = { cert: root.cert, key: root.private };
  return {
    ...ca,
    async issue(o = {}) {
      const leaf = await selfsigned.generate([{ name: 'commonName', value: o.cn ?? 'eim test server' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        notBeforeDate: new Date(now - HOUR),
        notAfterDate: new Date(now + (o.days ?? 1) * 24 * HOUR),
        ca,
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }, { type: 2, value: 'localhost' }, ...(o.names ?? []).map((value) => ({ type: 2 as const, value }))],
          },
        ],
      });
      return { cert: leaf.cert, key: leaf.private };
    },
  };
}

/** Writes PEM files into `dir`; answers their paths by name. */
export function writeCerts(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, pem] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], pem, { mode: 0o600 });
  }
  return out;
}
