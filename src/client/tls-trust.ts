import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

/**
 * The certificates a client trusts: Node's root certificates plus `extra` (PEM, one or more CA
 * certificates), or undefined for Node's roots alone (Node's default).
 * @example new https.Agent({ ca: trustedCertificates(readCaFile('ca.pem')) })
 */
export function trustedCertificates(extra?: string): string[] | undefined {
  return extra ? [...tls.rootCertificates, extra] : undefined;
}

/**
 * Reads a CA file for --ca-file: PEM text holding at least one certificate; an Error that names the
 * file and says what is wrong otherwise.
 * @example const ca = readCaFile('/etc/eim/ca.pem')
 */
export function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the CA file ${path}: ${(e as Error).message}`);
  }
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  try {
    if (!first) throw new Error('no PEM certificate in it');
    new X509Certificate(first[0]);
  } catch (e) {
    throw new Error(`the CA file ${path} is not a PEM certificate (-----BEGIN CERTIFICATE-----…): ${(e as Error).message}`);
  }
  return text;
}

/**
 * A keep-alive connection pool for `server`: HTTPS (trusting Node's roots plus `ca`; presenting
 * `clientCertificate` when the server asks for one) or HTTP.
 * @example const pool = connectionPool('https://eim.example.com', { ca, maxSockets: 256 })
 */
export function connectionPool(server: string, o: { ca?: string; maxSockets?: number; clientCertificate?: ClientCertificate } = {}): http.Agent {
  const options = { keepAlive: true, maxSockets: o.maxSockets ?? 64 };
  return server.startsWith('https:')
    ? new https.Agent({ ...options, ...(o.ca ? { ca: trustedCertificates(o.ca) } : {}), ...(o.clientCertificate ? { cert: o.clientCertificate.cert, key: o.clientCertificate.key } : {}) })
    : new http.Agent(options);
}

/** A client certificate and its private key (PEM), presented when the server asks (mutual TLS). */
export interface ClientCertificate {
  cert: string;
  key: string;
}

/** TLS verification failures: the server is there, but its certificate is not trusted. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to tell the user when a connection failed on the server's certificate, else undefined. */
export function untrustedCertificateHint(e: { code?: string; message: string }): string | undefined {
  if (!e.code || !UNTRUSTED.has(e.code)) return undefined;
  return e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
    ? `the server's TLS certificate is not for this address (${e.message}); connect by a name the certificate lists`
    : `the server's TLS certificate is not trusted (${e.message}); pass --ca-file with the CA that signed it (or set EIM_CA_FILE)`;
}
