import { createPrivateKey, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { AGENT_CSR_MAX_LENGTH, EimError } from '../../api/index.ts';

/** Where the agent CA's certificate and private key are (PEM files). */
export interface AgentCaFiles {
  certFile: string;
  keyFile: string;
}

export interface AgentCaOptions extends AgentCaFiles {
  /** How long the client certificates it signs live; agents renew them at 30-50 % of it left. @default 604800 (7 days) */
  certificateTtlSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

/** A client certificate signed for an agent. */
export interface IssuedCertificate {
  /** PEM. */
  certificate: string;
  expiresAt: string;
}

/** A certificate request whose signature was checked (the agent holds the private key), with an accepted key type. */
export interface CheckedCsr {
  readonly publicKey: x509.PublicKey;
}

/** The URI names an agent certificate carries: its host and its project. */
export const hostUri = (hostId: string) => `urn:eim:host:${hostId}`;
export const projectUri = (project: string) => `urn:eim:project:${project}`;

/** Certificates start this long before they are signed (clocks of edge nodes drift); a tenth of their lifetime at most. */
const BACKDATE_MS = 5 * 60_000;
const DEFAULT_TTL = 7 * 86_400;

/**
 * The small CA the server runs for mutual TLS with agents (`--agent-ca-cert`, `--agent-ca-key`): it
 * signs the certificate request an agent generated (the private key never leaves the node) into a
 * short-lived client certificate bound to the agent's host (CN and a `urn:eim:host:<id>` URI name)
 * and project (O and `urn:eim:project:<name>`). Whatever the request asks for besides its public key
 * is ignored. Several servers sharing one database use the same CA files.
 * @example const ca = await AgentCa.read({ certFile: 'agent-ca.crt', keyFile: 'agent-ca.key' }); await ca.issue(await ca.checkCsr(pem), 'host-0a1b2c3d', 'default')
 */
export class AgentCa {
  private constructor(
    /** The CA certificate (PEM): the only one trusted for agents' client certificates. */
    readonly certPem: string,
    readonly cert: X509Certificate,
    private readonly issuer: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly signingAlgorithm: webcrypto.Algorithm,
    /** The CA's key identifier, the same in every certificate: computed once. */
    private readonly authorityKeyId: x509.AuthorityKeyIdentifierExtension,
    readonly certificateTtlSeconds: number,
    readonly now: () => number,
  ) {}

  /**
   * Reads and checks the CA files: a self-signed CA certificate (basicConstraints CA) and its key
   * (EC P-256/P-384, Ed25519 or RSA). Throws an Error naming the files and what is wrong.
   */
  static async read(o: AgentCaOptions): Promise<AgentCa> {
    const ttl = o.certificateTtlSeconds ?? DEFAULT_TTL;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 366 * 86_400) throw new RangeError(`the agent certificate lifetime must be between 1 second and 366 days (got ${ttl} s)`);
    let certText: string;
    let keyText: string;
    try {
      certText = readFileSync(o.certFile, 'utf8');
      keyText = readFileSync(o.keyFile, 'utf8');
    } catch (e) {
      throw new Error(`cannot read the agent CA: ${(e as Error).message}`);
    }
    const what = `--agent-ca-cert ${o.certFile} and --agent-ca-key ${o.keyFile}`;
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certText)?.[0];
    let cert: X509Certificate;
    let key: KeyObject;
    try {
      if (!pem) throw new Error('no PEM certificate in the certificate file');
      cert = new X509Certificate(pem);
      key = createPrivateKey(keyText);
    } catch (e) {
      throw new Error(`${what} are not a PEM certificate and private key: ${(e as Error).message}`);
    }
    if (!cert.checkPrivateKey(key)) throw new Error(`${what}: the key is not the certificate's`);
    if (!cert.ca) throw new Error(`${what}: the certificate is not a CA (basicConstraints CA:TRUE); make a CA for agents (see the README)`);
    if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey)) {
      throw new Error(`${what}: the certificate is not self-signed; the agent CA must be a root of its own, used for agents only`);
    }
    const now = o.now ?? Date.now;
    if (Date.parse(cert.validTo) <= now()) throw new Error(`${what}: the CA certificate expired on ${new Date(cert.validTo).toISOString()}`);
    const { algorithm, importAs } = signingAlgorithmOf(key, what);
    const der = key.export({ format: 'der', type: 'pkcs8' });
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, importAs, false, ['sign']);
    const issuer = new x509.X509Certificate(pem!);
    return new AgentCa(pem!, cert, issuer, signingKey as webcrypto.CryptoKey, algorithm, await x509.AuthorityKeyIdentifierExtension.create(issuer), ttl, now);
  }

  /** For the log: the CA's subject and expiry, and the certificates' lifetime. */
  get summary(): string {
    return `agent certificates signed by ${this.cert.subject.replace(/\n/g, ', ')} (CA valid until ${new Date(this.cert.validTo).toISOString()}), each valid ${formatSeconds(this.certificateTtlSeconds)}`;
  }

  /**
   * Parses a certificate request (PEM, at most AGENT_CSR_MAX_LENGTH characters) and checks its
   * signature; only Ed25519 and EC P-256 keys are taken. `invalid_argument` otherwise.
   */
  async checkCsr(pem: string): Promise<CheckedCsr> {
    // First: enrolment asks before it validates the body, and parsing and verifying cost by the byte.
    if (pem.length > AGENT_CSR_MAX_LENGTH) throw new EimError('invalid_argument', `csr must have at most ${AGENT_CSR_MAX_LENGTH} characters (got ${pem.length}); an agent's request for a P-256 key is under 1,000`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      if (!/^\s*-----BEGIN CERTIFICATE REQUEST-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE REQUEST-----\s*$/.test(pem)) throw new Error('not one PEM block');
      csr = new x509.Pkcs10CertificateRequest(pem);
    } catch {
      throw new EimError('invalid_argument', 'csr is not a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----…)');
    }
    const alg = csr.publicKey.algorithm as { name: string; namedCurve?: string };
    if (!(alg.name === 'Ed25519' || (alg.name === 'ECDSA' && alg.namedCurve === 'P-256'))) {
      throw new EimError('invalid_argument', `csr: the key must be Ed25519 or ECDSA P-256 (got ${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ''})`);
    }
    let valid = false;
    try {
      valid = await csr.verify();
    } catch {
      valid = false;
    }
    if (!valid) throw new EimError('invalid_argument', 'csr: its signature does not match its key (the request must be signed with the private key it is for)');
    return { publicKey: csr.publicKey };
  }

  /** Signs a client certificate for `csr`'s key, bound to the host and project; it ends with the CA at the latest. */
  async issue(csr: CheckedCsr, hostId: string, project: string): Promise<IssuedCertificate> {
    if (!/^host-[0-9a-f]{8}$/.test(hostId) || !/^[a-z0-9-]+$/.test(project)) throw new EimError('internal', 'an agent certificate names a host id and a project');
    const now = this.now();
    const notAfter = new Date(Math.min(now + this.certificateTtlSeconds * 1000, Date.parse(this.cert.validTo)));
    const serial = randomBytes(16);
    serial[0] &= 0x7f; // a positive serial number
    serial[0] |= 0x01; // and never a shorter one
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject: `CN=${hostId}, O=${project}`,
      issuer: this.issuer.subjectName,
      notBefore: new Date(now - Math.min(BACKDATE_MS, this.certificateTtlSeconds * 100)),
      notAfter,
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: hostUri(hostId) },
          { type: 'url', value: projectUri(project) },
        ]),
        this.authorityKeyId,
      ],
    });
    return { certificate: cert.toString('pem'), expiresAt: notAfter.toISOString() };
  }
}

/** The WebCrypto algorithm that signs with this key. */
function signingAlgorithmOf(key: KeyObject, what: string): { algorithm: webcrypto.Algorithm; importAs: webcrypto.Algorithm } {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return { algorithm: { name: 'Ed25519' }, importAs: { name: 'Ed25519' } };
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!named) throw new Error(`${what}: an EC key must be on P-256 or P-384 (got ${curve})`);
    const hash = named === 'P-256' ? 'SHA-256' : 'SHA-384';
    return { algorithm: { name: 'ECDSA', hash } as webcrypto.Algorithm, importAs: { name: 'ECDSA', namedCurve: named } as webcrypto.Algorithm };
  }
  if (type === 'rsa') return { algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm, importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.Algorithm };
  throw new Error(`${what}: the key must be EC (P-256, P-384), Ed25519 or RSA (got ${type})`);
}

function formatSeconds(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400} day(s)`;
  if (s % 3600 === 0) return `${s / 3600} hour(s)`;
  return `${s} s`;
}
