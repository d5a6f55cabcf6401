import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { type Caller, EimError, type Grant, type Role } from '../../api/index.ts';

export interface OidcOptions {
  /** Expected `iss` of the external issuer's tokens. */
  issuer: string;
  /** Where its signing keys are published. */
  jwksUrl: string;
  /** Claim holding role names (dotted path). @default 'realm_access.roles' */
  rolesClaim?: string;
  /**
   * Accepted `aud` values: a token must name one of them. This, `authorizedParties`, or both must be
   * set: an issuer signs tokens for every application of its realm, and eim must accept only its own.
   */
  audience?: string | readonly string[];
  /** Accepted clients: the token's `azp` (Keycloak) or `client_id` (RFC 9068) must be one of them. */
  authorizedParties?: readonly string[];
}

/**
 * Keycloak-style role names: `<project>_im-rw` (editor), `<project>_im-r` (viewer),
 * `<project>_im-admin` (admin), `<project>_im-manager` (manager); `*` as the project means every
 * project. Other roles are ignored.
 */
const ROLE_SUFFIX: Record<string, Role> = { 'im-rw': 'editor', 'im-r': 'viewer', 'im-admin': 'admin', 'im-manager': 'manager' };

export function grantsFromRoles(roles: readonly string[]): Grant[] {
  const out: Grant[] = [];
  for (const r of roles) {
    const m = /^([a-z0-9-]+|\*)_(im-rw|im-r|im-admin|im-manager)$/.exec(r);
    if (m) out.push({ project: m[1], role: ROLE_SUFFIX[m[2]] });
  }
  return out;
}

/**
 * Checks OIDC options and fills their defaults; throws (with what to pass) when the issuer is
 * configured without an audience or authorized party.
 * @example compileOidcOptions({ issuer, jwksUrl, audience: 'eim' }).rolesClaim // 'realm_access.roles'
 */
export function compileOidcOptions(o: OidcOptions): Readonly<Required<Omit<OidcOptions, 'audience'>> & { audience: readonly string[] }> {
  const audience = (typeof o.audience === 'string' ? [o.audience] : [...(o.audience ?? [])]).filter((a) => a !== '');
  const authorizedParties = (o.authorizedParties ?? []).filter((p) => p !== '');
  if (audience.length === 0 && authorizedParties.length === 0) {
    throw new Error(
      `the OIDC issuer ${o.issuer} needs --oidc-audience (the 'aud' its tokens for eim carry) or --oidc-authorized-party (eim's client id, in 'azp' or 'client_id'), or both: ` +
        'without either, every token the issuer signs for any application of the realm would be accepted',
    );
  }
  return Object.freeze({ issuer: o.issuer, jwksUrl: o.jwksUrl, rolesClaim: o.rolesClaim ?? 'realm_access.roles', audience, authorizedParties });
}

/**
 * Verifies tokens of an external OIDC issuer against its JWKS and maps their roles to grants.
 * A token is accepted only when it names an accepted audience (and/or comes from an accepted
 * client), and only when it expires (`exp`).
 */
export class OidcVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  readonly options: ReturnType<typeof compileOidcOptions>;

  constructor(
    options: OidcOptions,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.options = compileOidcOptions(options);
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5000 });
  }

  async verify(token: string): Promise<{ caller: Caller; exp: number }> {
    const o = this.options;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: o.issuer,
        ...(o.audience.length > 0 ? { audience: [...o.audience] } : {}),
        requiredClaims: ['exp'],
        currentDate: this.now(),
      }));
    } catch (e) {
      throw new EimError('unauthenticated', refusal(e as { code?: string; claim?: string; reason?: string }, o.audience));
    }
    const party = typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : undefined;
    if (o.authorizedParties.length > 0 && (party === undefined || !o.authorizedParties.includes(party))) {
      throw new EimError('unauthenticated', `the token was issued to another client (${party ?? 'none named'} in azp/client_id); sign in through eim's client`);
    }
    let roles: unknown = payload;
    for (const part of o.rolesClaim.split('.')) roles = (roles as Record<string, unknown> | undefined)?.[part];
    const grants = grantsFromRoles(Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []);
    const subject = typeof payload.preferred_username === 'string' ? payload.preferred_username : payload.sub;
    if (!subject) throw new EimError('unauthenticated', 'the token names no subject');
    return { caller: { subject, grants }, exp: payload.exp! };
  }
}

/** What to tell the caller about a token jose refused (never the token itself). */
function refusal(e: { code?: string; claim?: string; reason?: string }, audience: readonly string[]): string {
  if (e.code === 'ERR_JWT_EXPIRED') return 'the token has expired; sign in again';
  if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'exp') return 'the token has no expiry (exp); eim accepts only tokens that expire';
  if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud') return `the token is not meant for this server: its audience (aud) is not ${audience.join(' or ')}`;
  return 'the token is not valid for this server (OIDC)';
}
