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

/** The file NODE_EXTRA_CA_CERTS names (Node adds it to its roots only when no `ca` is given), read once. */
let extraFromEnv: { path: string; pem: string | undefined } | undefined;
function nodeExtraCertificates(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.NODE_EXTRA_CA_CERTS ?? '';
  if (extraFromEnv?.path !== path) {
    let pem: string | undefined;
    try {
      pem = path ? readFileSync(path, 'utf8') : undefined;
    } catch {
      pem = undefined; // Node warns about an unreadable file itself
    }
    extraFromEnv = { path, pem };
  }
  return extraFromEnv.pem;
}

/** One list per `extra` (a handful per process): the same array each time, so its TLS context is built once. */
const trusted = new Map<string, string[] | undefined>();

/**
 * The certificates a client trusts: Node's root certificates, the system's CA bundle
 * (systemCertificates), the file NODE_EXTRA_CA_CERTS names, and `extra` (PEM, one or more CA
 * certificates, from --ca-file); undefined (Node's default) when there is none of the last three
 * but Node's own. The same array for the same inputs.
 * @example new https.Agent({ secureContext: secureContextFor(trustedCertificates(readCaFile('ca.pem'))) })
 */
export function trustedCertificates(extra?: string): string[] | undefined {
  const sys = systemCertificates();
  const env = nodeExtraCertificates();
  const key = `${process.env.SSL_CERT_FILE ?? ''}\0${process.env.NODE_EXTRA_CA_CERTS ?? ''}\0${extra ?? ''}`;
  if (!trusted.has(key)) {
    if (trusted.size >= 64) trusted.clear();
    trusted.set(key, !extra && !sys && !env ? undefined : [...tls.rootCertificates, ...(sys ? [sys] : []), ...(env ? [env] : []), ...(extra ? [extra] : [])]);
  }
  return trusted.get(key);
}

/** TLS contexts by CA list (its identity): parsing ~300 CA certificates takes tens of ms, once per list, not per connection. */
const contexts = new WeakMap<string[], tls.SecureContext>();

/**
 * A TLS context trusting `ca` (trustedCertificates; undefined: Node's roots) and presenting
 * `client` when the server asks. Without a client certificate it is built once per list and
 * shared; with one, the caller keeps the context it gets (one per agent and certificate: the
 * connection pool and the stream of a SouthboundClient), as an explicit `ca` on every connection
 * would parse the whole list again each time.
 * @example https.get(url, { secureContext: secureContextFor(trustedCertificates(ca)) })
 */
export function secureContextFor(ca: string[] | undefined, client?: ClientCertificate): tls.SecureContext | undefined {
  if (client) return tls.createSecureContext({ ...(ca ? { ca } : {}), cert: client.cert, key: client.key });
  if (!ca) return undefined;
  let ctx = contexts.get(ca);
  if (!ctx) contexts.set(ca, (ctx = tls.createSecureContext({ ca })));
  return ctx;
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
  // No TCP keep-alive probe before a minute idle (Node's default is every second from the first):
  // the server closes an idle connection after 30 s, and requests time out on their own.
  const options = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets: o.maxSockets ?? 64 };
  if (!server.startsWith('https:')) return new http.Agent(options);
  const secureContext = secureContextFor(trustedCertificates(o.ca), o.clientCertificate);
  return new https.Agent({ ...options, ...(secureContext ? { secureContext } : {}) });
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
