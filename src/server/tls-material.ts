import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** Where the server's certificate chain and private key are (PEM files). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The server's certificate chain and private key, read and checked. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** For the log: subject, names and expiry of the leaf certificate. */
  summary: string;
  /** When the leaf certificate expires. */
  validTo: Date;
}

/**
 * Reads the certificate and key and checks that they form a usable pair; throws an Error that names
 * the files and what is wrong (so a bad reload keeps the old certificate, and a bad start says why).
 * @example readTlsFiles({ certFile: 'server.crt', keyFile: 'server.key' }).summary
 */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
    key = readFileSync(files.keyFile);
  } catch (e) {
    throw new Error(`cannot read the TLS certificate or key: ${(e as Error).message}`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`--tls-cert ${files.certFile} and --tls-key ${files.keyFile} are not a usable PEM certificate and matching key: ${(e as Error).message}`);
  }
  const names = leaf.subjectAltName ? `; ${leaf.subjectAltName}` : '';
  return { cert, key, validTo: new Date(leaf.validTo), summary: `${leaf.subject.replace(/\n/g, ', ')}${names}; valid until ${new Date(leaf.validTo).toISOString()}` };
}

/**
 * The TLS options of the HTTPS server, built from the material in one place (at start and on every
 * SIGHUP reload). With `agentCa` (mutual TLS for agents), every connection is asked for a client
 * certificate, verified against that CA alone; one without a certificate (a /v1 user) is not
 * refused here: the southbound admits agents by what `socket.authorized` and the certificate say.
 */
export function tlsServerOptions(m: Pick<TlsMaterial, 'cert' | 'key'>, agentCa?: string): tls.SecureContextOptions & tls.TlsOptions {
  const base = { cert: m.cert, key: m.key, minVersion: 'TLSv1.2' as const };
  return agentCa ? { ...base, ca: agentCa, requestCert: true, rejectUnauthorized: false } : base;
}
