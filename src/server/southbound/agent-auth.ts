import type { FastifyRequest } from 'fastify';
import { type Caller, EimError } from '../../api/index.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { AgentCertificates } from './agent-certificates.ts';
import type { KeyedBuckets } from './southbound-limits.ts';

/** An agent's call, authenticated: its host and project come from its token (and certificate), never from the body. */
export interface AgentCaller {
  project: string;
  hostId: string;
  caller: Caller;
  token: string;
  /** With mutual TLS: when the client certificate of the call expires (ms). */
  certificateNotAfter?: number;
}

/**
 * Who is calling the southbound, the one way every southbound route asks: the bearer token, and for
 * agent calls its host-bound grant, the client certificate when mutual TLS is on (for that host, of
 * this server's agent CA, valid now, its host still admitted), then the route's per-host bucket.
 * Every agent route goes through `agent()`, so none can skip the certificate check.
 * @example const auth = new AgentAuth(tokens, certificates); const a = await auth.agent(req, heartbeats)
 */
export class AgentAuth {
  /** Each request's answer, so that a route's early check and its handler verify the token once. */
  private readonly verified = new WeakMap<FastifyRequest, Promise<{ caller: Caller; token: string }>>();
  /** Each request's admission, so that a route's check from the head and its handler admit it once. */
  private readonly identified = new WeakMap<FastifyRequest, Promise<AgentCaller>>();

  constructor(
    private readonly tokens: TokenService,
    private readonly certificates?: AgentCertificates,
  ) {}

  /** The bearer token and the caller it stands for (any role); asked again for the same request, the same answer. */
  bearer(req: FastifyRequest): Promise<{ caller: Caller; token: string }> {
    return once(this.verified, req, () => this.verify(req.headers.authorization));
  }

  private async verify(header: string | undefined): Promise<{ caller: Caller; token: string }> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) throw new EimError('unauthenticated', 'missing Authorization: Bearer <token> (an enrollment token to enroll, then the agent token it returned)');
    return { caller: await this.tokens.verify(m[1]), token: m[1] };
  }

  /** An agent token's call, admitted (certificate) and counted against `limit` for its host. */
  async agent(req: FastifyRequest, limit: KeyedBuckets): Promise<AgentCaller> {
    const a = await this.identify(req);
    limit.take(a.hostId);
    return a;
  }

  /**
   * An agent token's call, admitted (certificate), not yet counted against any rate: take the host's
   * rate token once the call is taken. Asked again for the same request, the same answer.
   */
  identify(req: FastifyRequest): Promise<AgentCaller> {
    return once(this.identified, req, () => this.admit(req));
  }

  /**
   * Lets go of the request's answers, for a request that stays open long after its last check (an
   * agent's stream, for days): the weak maps would hold them as long as the request lives.
   */
  forget(req: FastifyRequest): void {
    this.verified.delete(req);
    this.identified.delete(req);
  }

  private async admit(req: FastifyRequest): Promise<AgentCaller> {
    const { caller, token } = await this.bearer(req);
    const grant = caller.grants.find((g) => g.role === 'agent');
    if (!grant || !caller.hostId || !/^host-[0-9a-f]{8}$/.test(caller.hostId)) throw new EimError('permission_denied', 'this call needs an agent token (the one enrolment returned)');
    const certificateNotAfter = this.certificates ? await this.certificates.admit(req.raw.socket, { project: grant.project, hostId: caller.hostId }) : undefined;
    return { project: grant.project, hostId: caller.hostId, caller, token, ...(certificateNotAfter ? { certificateNotAfter } : {}) };
  }
}

/** The request's answer in `memo`, asked of `ask` the first time only. */
function once<T>(memo: WeakMap<FastifyRequest, Promise<T>>, req: FastifyRequest, ask: () => Promise<T>): Promise<T> {
  let answer = memo.get(req);
  if (!answer) {
    answer = ask();
    memo.set(req, answer);
  }
  return answer;
}
