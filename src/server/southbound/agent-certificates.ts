import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EimError, type Resource } from '../../api/index.ts';
import { type AgentCa, type CheckedCsr, hostUri, type IssuedCertificate, projectUri } from './agent-ca.ts';

export interface AgentCertificatesOptions {
  ca: AgentCa;
  /** Reads a host by id (the store's primary-key read): is it still admitted? */
  host: (id: string) => Promise<Resource | undefined>;
}

/** What a connection's client certificate says, checked once per connection. */
type Peer = { hostId: string; project: string; notAfter: number } | { refusal: EimError };

/** Hosts remembered as admitted (in this process; a Host event of the watch moves one out). */
const MAX_KNOWN = 200_000;
/** Hosts remembered as revoked; past it, forgotten (the store is asked again). */
const MAX_REVOKED = 100_000;

/** The reason in the 401's details when the client certificate is missing, untrusted or expired: enrol again. */
export const CLIENT_CERTIFICATE_REASON = 'client-certificate';

/**
 * Mutual TLS for agents, the server's side: it signs agents' certificates (AgentCa) and admits a
 * southbound call only with a client certificate of the agent CA that is valid now, bound to the
 * host and project of the call's agent token, whose host is not untrusted, being deleted, or gone.
 *
 * The TLS layer requests client certificates on every connection (`requestCert`, not rejecting
 * those without one, so /v1 users need none) and verifies them against the agent CA alone; this
 * class reads the verdict per connection (once) and the binding and the host per call. The host's
 * state comes from the shared store (and this process's watch): every server sharing the database
 * refuses an invalidated or deleted host's certificates, whatever their validity.
 */
export class AgentCertificates {
  private readonly peers = new WeakMap<Socket, Peer>();
  private readonly known = new Map<string, string>();
  private readonly revoked = new Set<string>();

  constructor(private readonly options: AgentCertificatesOptions) {}

  get ca(): AgentCa {
    return this.options.ca;
  }

  /** Checks a certificate request (`invalid_argument` when it is missing or unusable). */
  async checkCsr(csr: string | undefined, what = 'enrolment'): Promise<CheckedCsr> {
    if (csr === undefined) {
      throw new EimError('invalid_argument', `this server requires mutual TLS for agents: the ${what} must carry csr, a certificate signing request for the agent's key (an agent of this version sends one over https)`);
    }
    return this.options.ca.checkCsr(csr);
  }

  issue(csr: CheckedCsr, hostId: string, project: string): Promise<IssuedCertificate> {
    return this.options.ca.issue(csr, hostId, project);
  }

  /**
   * Admits a southbound call of `agent` (from its token) on `socket`; throws `unauthenticated` (a
   * missing, untrusted or expired certificate carries details.reason `client-certificate`; a
   * revoked host none) or `permission_denied` (another host's certificate). Answers when the
   * certificate expires (ms).
   */
  async admit(socket: Socket, agent: { project: string; hostId: string }): Promise<number> {
    const peer = this.peerOf(socket);
    if ('refusal' in peer) throw peer.refusal;
    if (peer.notAfter <= this.options.ca.now()) throw refusal('expired', 'the client certificate has expired');
    if (peer.hostId !== agent.hostId || peer.project !== agent.project) {
      throw new EimError('permission_denied', `the client certificate is for host ${peer.hostId} (project ${peer.project}), the agent token for host ${agent.hostId} (project ${agent.project}): an agent uses its own certificate with its own token`);
    }
    await this.assertHostAdmitted(agent.hostId, agent.project);
    return peer.notAfter;
  }

  /** The host was invalidated or deleted (seen on this process's watch): refuse its certificates from now on. */
  hostRevoked(hostId: string): void {
    this.known.delete(hostId);
    if (this.revoked.size >= MAX_REVOKED) this.revoked.clear(); // forgotten ones are read from the store again
    this.revoked.add(hostId);
  }

  private async assertHostAdmitted(hostId: string, project: string): Promise<void> {
    if (!this.revoked.has(hostId)) {
      if (this.known.get(hostId) === project) return;
      const host = await this.options.host(hostId);
      const desired = (host?.spec as { desiredState?: string } | undefined)?.desiredState;
      if (host && host.project === project && desired !== 'untrusted' && desired !== 'deleted') {
        // Invalidated while it was being read: the watch has marked it revoked already.
        if (this.revoked.has(hostId)) throw revokedHost(hostId);
        if (this.known.size >= MAX_KNOWN) this.known.clear();
        this.known.set(hostId, project);
        return;
      }
      this.hostRevoked(hostId);
    }
    throw revokedHost(hostId);
  }

  private peerOf(socket: Socket): Peer {
    let peer = this.peers.get(socket);
    if (!peer) {
      peer = readPeer(socket as TLSSocket, this.options.ca.cert);
      this.peers.set(socket, peer);
    }
    return peer;
  }
}

function readPeer(socket: TLSSocket, ca: X509Certificate): Peer {
  if (typeof socket.getPeerCertificate !== 'function') return { refusal: refusal('missing', 'this server requires mutual TLS for agents, and the call did not come over TLS') };
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.raw) return { refusal: refusal('missing', 'this server requires mutual TLS for agents: the call carried no client certificate') };
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown');
    if (code === 'CERT_HAS_EXPIRED') return { refusal: refusal('expired', 'the client certificate has expired') };
    if (code === 'CERT_NOT_YET_VALID') {
      // Signed by a server whose clock runs ahead of this one's by more than certificates are backdated.
      return { refusal: refusal('untrusted', "the client certificate is not valid yet (CERT_NOT_YET_VALID): the server that signed it has a clock ahead of this server's by more than 5 minutes; set the servers' clocks (NTP)") };
    }
    return { refusal: refusal('untrusted', `the client certificate was not signed by this server's agent CA (${code})`) };
  }
  const x = new X509Certificate(cert.raw);
  if (!x.checkIssued(ca)) return { refusal: refusal('untrusted', "the client certificate was not signed by this server's agent CA") };
  // Our CA wrote these names (and only these): one host and one project.
  const names = (x.subjectAltName ?? '').split(', ');
  const host = names.filter((n) => n.startsWith(`URI:${hostUri('')}`)).map((n) => n.slice(`URI:${hostUri('')}`.length));
  const project = names.filter((n) => n.startsWith(`URI:${projectUri('')}`)).map((n) => n.slice(`URI:${projectUri('')}`.length));
  if (names.length !== 2 || host.length !== 1 || project.length !== 1 || !/^host-[0-9a-f]{8}$/.test(host[0]) || !/^[a-z0-9-]+$/.test(project[0])) {
    return { refusal: refusal('untrusted', 'the client certificate is not an agent certificate (one host and one project name)') };
  }
  return { hostId: host[0], project: project[0], notAfter: Date.parse(x.validTo) };
}

function refusal(problem: 'missing' | 'untrusted' | 'expired', message: string): EimError {
  const next =
    problem === 'expired'
      ? 'an agent offline for longer than its certificate lives enrols again (eim agent with an enrollment token)'
      : 'enrol the agent again (eim agent with an enrollment token) to get a certificate';
  return new EimError('unauthenticated', `${message}; ${next}`, { details: { reason: CLIENT_CERTIFICATE_REASON, problem } });
}

const revokedHost = (hostId: string) =>
  new EimError('unauthenticated', `host ${hostId} is untrusted, being deleted or gone: its agent certificates are refused; re-admitting the machine needs a new registration and enrolment`);
