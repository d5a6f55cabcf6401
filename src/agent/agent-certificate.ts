import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from './atomic-file.ts';

/** The agent's client certificate for mutual TLS, with its private key (PEM both). */
export interface AgentCertificate {
  key: string;
  cert: string;
  /** When the certificate expires (ms since the epoch). */
  notAfter: number;
  /** When it was signed, as far as the certificate says (ms; the server backdates by a few minutes). */
  notBefore: number;
}

/** A new private key and a certificate signing request for it; the key never leaves this machine. */
export interface CertificateRequest {
  key: string;
  csr: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/**
 * A new ECDSA P-256 key and a PKCS #10 request signed with it. The server decides what the
 * certificate names (the host it enrols as); the request's own subject is only a hint.
 * @example const { key, csr } = await createCertificateRequest('edge-01')
 */
export async function createCertificateRequest(hostname: string): Promise<CertificateRequest> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cn = hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'eim-agent';
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys, signingAlgorithm: ALGORITHM });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { key, csr: csr.toString('pem') };
}

/**
 * The certificate the server signed, with the request's key; throws when the certificate is not for
 * that key (the agent then keeps what it had).
 */
export function agentCertificate(key: string, cert: string): AgentCertificate {
  const x = new X509Certificate(cert);
  if (!x.checkPrivateKey(createPrivateKey(key))) throw new Error("the server's certificate is not for this agent's key");
  return { key, cert: x.toString(), notAfter: Date.parse(x.validTo), notBefore: Date.parse(x.validFrom) };
}

/** Where the agent keeps its certificate and key: a file next to agent.json, memory for the simulator. */
export interface CertificateStore {
  /** For messages: where it lives. */
  readonly location: string;
  load(): AgentCertificate | undefined;
  save(c: AgentCertificate): void;
  remove(): void;
}

/**
 * `<dataDir>/agent-tls.pem`: the private key and the certificate in one file (mode 0600), written
 * atomically, so a crash never leaves a key with another key's certificate. A file that cannot be
 * read as a key and its certificate counts as none (the server then asks the agent to enrol again).
 * @example new FileCertificateStore('/var/lib/eim-agent').load()?.notAfter
 */
export class FileCertificateStore implements CertificateStore {
  readonly location: string;

  constructor(
    dataDir: string,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.location = path.join(dataDir, 'agent-tls.pem');
  }

  load(): AgentCertificate | undefined {
    let text: string;
    try {
      text = readFileSync(this.location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.onWarning(`cannot read ${this.location}: ${(e as Error).message}`);
      return undefined;
    }
    const mode = statSync(this.location).mode & 0o777;
    if (mode !== 0o600) {
      chmodSync(this.location, 0o600);
      this.onWarning(`${this.location} had mode ${mode.toString(8)}; set it to 600 (it holds the agent's private key)`);
    }
    const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0];
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
    try {
      if (!key || !cert) throw new Error('it does not hold a private key and a certificate');
      return agentCertificate(key, cert);
    } catch (e) {
      this.onWarning(`${this.location} is not usable (${(e as Error).message}); the agent goes on without it`);
      return undefined;
    }
  }

  save(c: AgentCertificate): void {
    writeFileAtomic(this.location, `${c.key.trim()}\n${c.cert.trim()}\n`);
  }

  remove(): void {
    rmSync(this.location, { force: true });
  }
}

/** In memory (the fleet simulator keeps one per simulated machine, across its reboots; tests). */
export class MemoryCertificateStore implements CertificateStore {
  readonly location = 'the in-memory agent certificate';
  private c?: AgentCertificate;
  load(): AgentCertificate | undefined {
    return this.c;
  }
  save(c: AgentCertificate): void {
    this.c = c;
  }
  remove(): void {
    this.c = undefined;
  }
}
