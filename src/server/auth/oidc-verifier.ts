import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { type Caller, EimError, type Grant, type Role } from '../../api/index.ts';

export interface OidcOptions {
  /** Expected `iss` of the external issuer's tokens. */
  issuer: string;
  /** Where its signing keys are published. */
  jwksUrl: string;
  /** Claim holding role names (dotted path). @default 'realm_access.roles' */
  rolesClaim?: string;
  /** Expected `aud`, when set. */
  audience?: string;
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

/** Verifies tokens of an external OIDC issuer against its JWKS and maps their roles to grants. */
export class OidcVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(readonly options: OidcOptions) {
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5000 });
  }

  async verify(token: string): Promise<{ caller: Caller; exp: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.options.issuer, ...(this.options.audience ? { audience: this.options.audience } : {}) }));
    } catch (e) {
      const expired = (e as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new EimError('unauthenticated', expired ? 'the token has expired; sign in again' : 'the token is not valid for this server (OIDC)');
    }
    let roles: unknown = payload;
    for (const part of (this.options.rolesClaim ?? 'realm_access.roles').split('.')) roles = (roles as Record<string, unknown> | undefined)?.[part];
    const grants = grantsFromRoles(Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []);
    const subject = typeof payload.preferred_username === 'string' ? payload.preferred_username : payload.sub;
    if (!subject) throw new EimError('unauthenticated', 'the token names no subject');
    return { caller: { subject, grants }, exp: payload.exp ?? Number.POSITIVE_INFINITY };
  }
}
