import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { ALL_PROJECTS, type Caller, EimError, type Grant, ROLES, type Role } from '../api/index.ts';

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface IssueOptions {
  subject: string;
  grants: Grant[];
  /** Lifetime; no expiry when absent. */
  ttlSeconds?: number;
}

type JoseKey = Awaited<ReturnType<typeof importJWK>>;

const ISSUER = 'eim';
const CACHE_MAX = 50_000;

/**
 * Signs and verifies eim's bearer tokens: EdDSA (Ed25519) JWTs whose claims carry the caller's
 * grants. The key lives in `<data-dir>/signing-key.json` (0600). Verified tokens are cached until
 * they expire, so a request costs a map lookup.
 */
export class TokenIssuer {
  private readonly cache = new Map<string, { caller: Caller; exp: number }>();

  private constructor(
    private readonly key: StoredKey,
    private readonly privateKey: JoseKey,
    private readonly publicKey: JoseKey,
  ) {}

  /** Loads the signing key from the data dir, creating it on first start. */
  static async open(dataDir: string): Promise<TokenIssuer> {
    const file = join(dataDir, 'signing-key.json');
    let key: StoredKey;
    if (existsSync(file)) {
      key = JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
    } else {
      const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      key = { kid: randomUUID(), privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) };
      writeFileSync(file, JSON.stringify(key), { mode: 0o600, flag: 'wx' });
    }
    return new TokenIssuer(key, await importJWK(key.privateJwk, 'EdDSA'), await importJWK(key.publicJwk, 'EdDSA'));
  }

  /** Signs a token. @example await issuer.issue({ subject: 'ci', grants: [{ project: 'default', role: 'viewer' }], ttlSeconds: 3600 }) */
  async issue(options: IssueOptions): Promise<{ token: string; id: string; expiresAt?: string }> {
    const id = randomUUID();
    let jwt = new SignJWT({ grants: options.grants.map((g) => `${g.project}:${g.role}`) })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid })
      .setIssuer(ISSUER)
      .setSubject(options.subject)
      .setJti(id)
      .setIssuedAt();
    let expiresAt: string | undefined;
    if (options.ttlSeconds !== undefined) {
      const exp = Math.floor(Date.now() / 1000) + options.ttlSeconds;
      jwt = jwt.setExpirationTime(exp);
      expiresAt = new Date(exp * 1000).toISOString();
    }
    return { token: await jwt.sign(this.privateKey), id, expiresAt };
  }

  /** The caller a token stands for; `unauthenticated` for anything not valid now. */
  async verify(token: string): Promise<Caller> {
    const hit = this.cache.get(token);
    const now = Date.now() / 1000;
    if (hit && hit.exp > now) return hit.caller;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, algorithms: ['EdDSA'] }));
    } catch (e) {
      const expired = (e as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new EimError('unauthenticated', expired ? 'the token has expired; get a new one' : 'the token is not valid for this server; check that it was copied whole');
    }
    const grants = parseGrants(payload.grants);
    if (!payload.sub || !grants) throw new EimError('unauthenticated', 'the token carries no subject or grants');
    const caller: Caller = { subject: payload.sub, grants };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, { caller, exp: payload.exp ?? Number.POSITIVE_INFINITY });
    return caller;
  }
}

function parseGrants(v: unknown): Grant[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Grant[] = [];
  for (const g of v) {
    if (typeof g !== 'string') return undefined;
    const i = g.lastIndexOf(':');
    const project = g.slice(0, i);
    const role = g.slice(i + 1) as Role;
    if (i <= 0 || !ROLES.includes(role) || (project !== ALL_PROJECTS && !/^[a-z0-9-]+$/.test(project))) return undefined;
    out.push({ project, role });
  }
  return out;
}
