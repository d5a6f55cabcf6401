import { type EnrollResponse, isEimError } from '../api/index.ts';
import type { AgentLog } from './agent-log.ts';
import { type AgentCertificate, agentCertificate, type CertificateRequest, type CertificateStore, createCertificateRequest } from './agent-certificate.ts';
import type { Clock } from './clock.ts';
import type { SouthboundClient } from './southbound-client.ts';

export interface CertificateKeeperOptions {
  store: CertificateStore;
  client: SouthboundClient;
  clock: Clock;
  random: () => number;
  log: AgentLog;
  /** The server's URL: a certificate is asked for over https only (mutual TLS needs TLS). */
  server: string;
  /** Retry delay after a failed renewal. */
  retryMs: number;
}

/**
 * The agent's client certificate for mutual TLS: a new key and certificate request at enrolment
 * (over https), the certificate the server signed saved next to agent.json before agent.json itself,
 * presented on every call and the stream, and renewed with a new key when 30 to 50 % of its lifetime
 * is left (spread, so a fleet enrolled together does not renew together). A server without mutual
 * TLS signs nothing, and the agent then keeps no certificate.
 * @example const k = new CertificateKeeper({ store, client, clock, random, log, server, retryMs }); k.start(); if (k.due()) await k.renew()
 */
export class CertificateKeeper {
  private renewAt?: number;

  constructor(private readonly o: CertificateKeeperOptions) {}

  /** A key and certificate request to enrol with; none over plain http. */
  request(hostname: string): Promise<CertificateRequest | undefined> {
    return this.o.server.startsWith('https:') ? createCertificateRequest(hostname) : Promise.resolve(undefined);
  }

  /** Keeps the certificate enrolment returned for `request` (saved before agent.json is), or drops an old one when none came. */
  enrolled(request: CertificateRequest | undefined, response: EnrollResponse): void {
    if (request && response.certificate) this.o.store.save(agentCertificate(request.key, response.certificate));
    else this.o.store.remove();
  }

  /** Presents the saved certificate (if any) from now on and plans its renewal. */
  start(): AgentCertificate | undefined {
    const c = this.o.store.load();
    this.use(c);
    return c;
  }

  /** Whether the renewal is due now. */
  due(): boolean {
    return this.renewAt !== undefined && this.o.clock.now() >= this.renewAt;
  }

  /**
   * Renews the certificate with a new key, saves it and presents it from now on (`renewed`). A
   * server that no longer signs agent certificates (mutual TLS turned off) answers 404: the
   * certificate is dropped (`dropped`). Any other failure plans a retry and throws (the caller
   * decides what a refusal means).
   */
  async renew(): Promise<'renewed' | 'dropped'> {
    try {
      const request = await createCertificateRequest('eim-agent');
      const r = await this.o.client.renewCertificate(request.csr);
      const c = agentCertificate(request.key, r.certificate);
      this.o.store.save(c);
      this.use(c);
      this.o.log.info(`renewed the client certificate (valid until ${new Date(c.notAfter).toISOString()}); saved ${this.o.store.location}`);
      return 'renewed';
    } catch (e) {
      if (isEimError(e) && e.code === 'not_found') {
        this.forget();
        this.o.log.info(`the server no longer signs agent certificates (${e.message}): deleted ${this.o.store.location}`);
        return 'dropped';
      }
      const retryAfter = Number((e as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds ?? 0) * 1000;
      this.renewAt = this.o.clock.now() + Math.max(retryAfter, this.o.retryMs);
      throw e;
    }
  }

  /** Deletes the certificate and key (the server refused them: the agent enrols again). */
  forget(): void {
    this.o.store.remove();
    this.use(undefined);
  }

  private use(c: AgentCertificate | undefined): void {
    this.o.client.useCertificate(c && { cert: c.cert, key: c.key });
    if (!c) {
      this.renewAt = undefined;
      return;
    }
    const lifetime = Math.max(0, c.notAfter - c.notBefore);
    const left = c.notAfter - Date.now();
    this.renewAt = this.o.clock.now() + Math.max(0, left - lifetime * (0.3 + 0.2 * this.o.random()));
  }
}
