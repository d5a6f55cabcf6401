import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

/** Where Linux distributions (and macOS) keep the system's CA bundle, first found wins. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL, CentOS
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // RHEL 7+
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // macOS, Alpine
];

let system: { key: string; pem: string | undefined } | undefined;

/**
 * The system's CA bundle (PEM): the file `SSL_CERT_FILE` names, else the first of the usual places
 * that exists; undefined when there is none. Read once per process (per SSL_CERT_FILE value), so a
 * CA an operator installed with update-ca-certificates is trusted without --ca-file.
 * @example systemCertificates() // '-----BEGIN CERTIFICATE-----…' on Debian
 */
export function systemCertificates(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env.SSL_CERT_FILE ?? '';
  if (system?.key === key) return system.pem;
  let pem: string | undefined;
  for (const path of key ? [key] : SYSTEM_BUNDLES) {
    try {
      const text = readFileSync(path, 'utf8');
      if (text.includes('-----BEGIN CERTIFICATE-----')) {
        pem = text;
        break;
      }
    } catch {
      // not there: the next place
    }
  }
  system = { key, pem };
  return pem;
}

/**
 * The certificates a client trusts: Node's root certificates, the system's CA bundle
 * (systemCertificates) and `extra` (PEM, one or more CA certificates, from --ca-file); undefined
 * (Node's default, its roots alone) when there is neither a system bundle nor `extra`.
 * @example new https.Agent({ ca: trustedCertificates(readCaFile('ca.pem')) })
 */
export function trustedCertificates(extra?: string): string[] | undefined {
  const sys = systemCertificates();
  if (!extra && !sys) return undefined;
  return [...tls.rootCertificates, ...(sys ? [sys] : []), ...(extra ? [extra] : [])];
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
 * A keep-alive connection pool for `server`: HTTPS (trusting trustedCertificates(`ca`); presenting
 * `clientCertificate` when the server asks for one) or HTTP.
 * @example const pool = connectionPool('https://eim.example.com', { ca, maxSockets: 256 })
 */
export function connectionPool(server: string, o: { ca?: string; maxSockets?: number; clientCertificate?: ClientCertificate } = {}): http.Agent {
  const options = { keepAlive: true, maxSockets: o.maxSockets ?? 64 };
  if (!server.startsWith('https:')) return new http.Agent(options);
  const ca = trustedCertificates(o.ca);
  return new https.Agent({ ...options, ...(ca ? { ca } : {}), ...(o.clientCertificate ? { cert: o.clientCertificate.cert, key: o.clientCertificate.key } : {}) });
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
