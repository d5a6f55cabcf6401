import { randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ALL_PROJECTS, type Caller, EimError, type Grant, ROLES, type Role } from '../../api/index.ts';
import type { AuthStore, TokenRecord } from '../../store/index.ts';
import { type OidcOptions, OidcVerifier } from './oidc-verifier.ts';
import { TokenWatches } from './token-watches.ts';

type JoseKey = Awaited<ReturnType<typeof importJWK>>;

export interface TokenServiceOptions {
  auth: AuthStore;
  oidc?: OidcOptions;
  /** How often revocations made by other server processes are picked up. @default 2000 */
  revocationRefreshMs?: number;
  /** How long the record of an expired token is kept (the token list shows it), in ms. @default 7 days */
  keepExpiredMs?: number;
  /**
   * How often the records of tokens expired longer than `keepExpiredMs` are deleted, in ms; each
   * server does it, in batches. The first prune comes sooner (1–5 minutes after start, or this
   * period if shorter): a server restarted more often than this would otherwise never prune.
   * @default 1 hour
   */
  pruneEveryMs?: number;
  /**
   * This process is the only one that writes the store (SQLite: one server per file), so every
   * revocation is in its memory the moment it commits and `assertNotRevoked` need not read the
   * store. @default false
   */
  soleWriter?: boolean;
  now?: () => Date;
}

/** Records deleted by one statement of a prune; a prune goes on until a statement deletes fewer. */
const PRUNE_BATCH = 5000;

export interface IssueOptions {
  subject: string;
  grants: Grant[];
  /** Lifetime in seconds; no expiry when absent. */
  ttlSeconds?: number;
  hostId?: string;
  autoRegister?: boolean;
}

export interface IssuedToken {
  id: string;
  token: string;
  role: Role;
  expiresAt?: string;
}

const ISSUER = 'eim';
const CACHE_MAX = 50_000;
/** A JWT in the compact form, exactly: three base64url parts, no padding, nothing around them. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The roles a grant on every project (`*`) may carry: cluster admins and managers. */
export const ALL_PROJECTS_ROLES: readonly Role[] = ['admin', 'manager'];

/** The caller one of our tokens stands for, from its verified (or just signed) claims. */
function ownClaims(payload: JWTPayload): { caller: Caller; exp: number } {
  const grants = parseGrants(payload.grants);
  if (!payload.sub || !grants || !payload.jti) throw new EimError('unauthenticated', 'the token carries no subject or grants');
  // Issued before "*" was refused for these roles: an enrollment, agent, viewer or editor token for every project.
  const wide = grants.find((g) => g.project === ALL_PROJECTS && !ALL_PROJECTS_ROLES.includes(g.role));
  if (wide) throw new EimError('unauthenticated', `the token is a ${wide.role} token for "*", which is not a project; get a token for one project`);
  const caller: Caller = { subject: payload.sub, grants, tokenId: payload.jti };
  if (typeof payload.host === 'string') caller.hostId = payload.host;
  if (payload.ar === true) caller.autoRegister = true;
  return { caller, exp: payload.exp ?? Number.POSITIVE_INFINITY };
}

/**
 * eim's bearer tokens: EdDSA (Ed25519) JWTs signed with keys kept in the store, so every server
 * on one database verifies every other's tokens. Rotation adds a key (new tokens use it; old
 * tokens stay valid until they expire). Revocation is by token id or by bound host; it takes
 * effect at once in this process and within `revocationRefreshMs` in the others. Verified tokens
 * are cached, so a request costs a map lookup; so are the tokens this process signs.
 */
export class TokenService {
  private keys = new Map<string, { sign: JoseKey; verify: JoseKey; createdAt: string }>();
  private newestKid = '';
  private readonly cache = new Map<string, { caller: Caller; exp: number }>();
  /** Tokens being checked now: requests carrying one of them at the same time wait for that one check. */
  private readonly checking = new Map<string, Promise<{ caller: Caller; exp: number }>>();
  /** Signature checks this process made (a token's first request, or its first after the cache let it go). */
  signatureChecks = 0;
  private revoked = new Set<string>();
  /**
   * Ids revoked here, each with how many refreshes had started then: kept in `revoked` until a
   * refresh that started later (so read the store after the revocation committed) is applied.
   */
  private readonly revokedHere = new Map<string, number>();
  private refreshesStarted = 0;
  private refreshApplied = 0;
  private timer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private lastKeyReload = 0;
  private readonly oidc?: OidcVerifier;
  private readonly now: () => Date;
  private readonly revocationListeners = new Set<(ids: ReadonlySet<string>) => void>();
  /** The streams watching their tokens (guard). */
  private readonly watches: TokenWatches;

  private constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? (() => new Date());
    if (options.oidc) this.oidc = new OidcVerifier(options.oidc, this.now);
    const clock = {
      now: () => this.now().getTime(),
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
      clearTimeout: (t: unknown) => clearTimeout(t as NodeJS.Timeout),
    };
    this.watches = new TokenWatches(clock, expiredError);
  }

  /** Loads the signing keys (creating the first on a new store) and the revocation list. */
  static async open(options: TokenServiceOptions): Promise<TokenService> {
    const svc = new TokenService(options);
    await svc.loadKeys();
    if (svc.keys.size === 0) {
      await svc.rotate();
      await svc.loadKeys(); // another process may have created one at the same moment: take the newest
    }
    await svc.refreshRevocations();
    svc.timer = setInterval(() => void svc.refreshRevocations().catch(() => {}), options.revocationRefreshMs ?? 2000);
    svc.timer.unref();
    const every = options.pruneEveryMs ?? 3_600_000;
    // At a random point of the first minutes: servers started together do not all prune at once.
    const prune = (delay: number) => {
      svc.pruneTimer = setTimeout(() => {
        void svc.pruneExpired().catch(() => {});
        prune(every);
      }, delay);
      svc.pruneTimer.unref();
    };
    prune(Math.min(every, 60_000 + Math.random() * 240_000));
    return svc;
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.pruneTimer);
  }

  /**
   * Deletes the records of tokens expired for longer than `keepExpiredMs`, in batches; returns how
   * many went. Every server runs it (`pruneEveryMs`); two at once delete each record once.
   */
  async pruneExpired(): Promise<number> {
    const before = new Date(this.now().getTime() - (this.options.keepExpiredMs ?? 7 * 86_400_000)).toISOString();
    let deleted = 0;
    for (;;) {
      const n = await this.options.auth.deleteExpired(before, PRUNE_BATCH);
      deleted += n;
      if (n < PRUNE_BATCH) return deleted;
    }
  }

  /** Adds a new signing key and signs with it from now on. */
  async rotate(): Promise<string> {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    await this.options.auth.addSigningKey({
      kid,
      privateJwk: JSON.stringify(await exportJWK(pair.privateKey)),
      publicJwk: JSON.stringify(await exportJWK(pair.publicKey)),
      createdAt: this.now().toISOString(),
    });
    await this.loadKeys();
    return kid;
  }

  /** Signs a token and records it (for revocation). */
  async issue(o: IssueOptions): Promise<IssuedToken> {
    const { issued, record } = await this.sign(o);
    await this.options.auth.insertToken(record);
    return issued;
  }

  /**
   * Signs a token and returns the record that must be stored with it, without storing it: the
   * caller records it in its own write transaction (`WriteTx.insertToken`), so the token is
   * recorded exactly when the writes that hand it out commit. Hand the token out only after that
   * commit.
   */
  async sign(o: IssueOptions): Promise<{ issued: IssuedToken; record: TokenRecord }> {
    if (o.grants.length === 0) throw new EimError('invalid_argument', 'a token needs at least one grant');
    for (const g of o.grants) {
      if (g.project === ALL_PROJECTS && !ALL_PROJECTS_ROLES.includes(g.role)) {
        throw new EimError('invalid_argument', `"*" is not a project: a token for every project may only be an admin or manager token, not ${g.role}; issue it for one project`);
      }
    }
    const id = randomUUID();
    const key = this.keys.get(this.newestKid)!;
    const claims: Record<string, unknown> = { grants: o.grants.map((g) => `${g.project}:${g.role}`) };
    if (o.hostId) claims.host = o.hostId;
    if (o.autoRegister) claims.ar = true;
    let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: this.newestKid }).setIssuer(ISSUER).setSubject(o.subject).setJti(id).setIssuedAt();
    let expiresAt: string | undefined;
    if (o.ttlSeconds !== undefined) {
      const exp = Math.floor(this.now().getTime() / 1000) + o.ttlSeconds;
      jwt = jwt.setExpirationTime(exp);
      expiresAt = new Date(exp * 1000).toISOString();
    }
    const token = await jwt.sign(key.sign);
    // What verifying it would answer, known now: its first requests (an agent's, at once after
    // enrolment) skip the signature check, the costliest step of an enrolment storm. Read back from
    // the token itself and judged as a presented one is, so the two cannot differ.
    this.remember(token, ownClaims(decodeJwt(token)));
    const record: TokenRecord = {
      id,
      project: o.grants[0].project,
      subject: o.subject,
      role: o.grants[0].role,
      hostId: o.hostId,
      autoRegister: o.autoRegister ?? false,
      createdAt: this.now().toISOString(),
      expiresAt,
    };
    return { issued: { id, token, role: o.grants[0].role, expiresAt }, record };
  }

  /**
   * Revokes one token, every token bound to a host, every token bound to a host that no longer
   * exists (`hostGone`: deleted while no server heard it), or every token of a project (when it is
   * deleted); effective at once here, within `revocationRefreshMs` in the other processes.
   */
  async revoke(where: { id: string } | { hostId: string } | { hostGone: true } | { project: string; createdBefore?: string }): Promise<string[]> {
    const ids = await this.options.auth.revoke(where, this.now().toISOString());
    const fresh = new Set(ids.filter((id) => !this.revoked.has(id)));
    for (const id of ids) {
      this.revoked.add(id);
      this.revokedHere.set(id, this.refreshesStarted);
    }
    this.notifyRevoked(fresh);
    // Every server revokes a host's tokens when it sees the host invalidated or deleted; the first
    // one's UPDATE leaves the others nothing "newly" revoked, so they read the list now instead of
    // at the next refresh.
    if ('hostId' in where && ids.length === 0) await this.refreshRevocations();
    return ids;
  }

  /**
   * Calls `listener` with the ids of tokens newly known to be revoked: at once for a revocation made
   * through this service, within `revocationRefreshMs` for one made by another server on the same
   * store. Returns a function that removes the listener.
   */
  onRevoked(listener: (ids: ReadonlySet<string>) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  /**
   * Keeps watch over a token for a long-lived stream: calls `onInvalid` once, with the
   * `unauthenticated` error a new request would get, when the token is revoked (see onRevoked) or
   * reaches its expiry. Throws that error at once when the token is not valid now. Returns a
   * function that stops watching (call it when the stream ends).
   * @example const stop = await tokens.guard(token, (e) => endStream(e)); … stop()
   */
  async guard(token: string, onInvalid: (e: EimError) => void): Promise<() => void> {
    const verified = await this.verified(token);
    const { caller, exp } = verified;
    // The stream holds its request's copy of the token for as long as it is open (an agent's, for
    // days): the cache keeps that copy as its key rather than a second one of its own (~400 bytes).
    if (this.cache.get(token) === verified) {
      this.cache.delete(token);
      this.cache.set(token, verified);
    }
    const tokenId = caller.tokenId;
    // Revoked between the check above and now: no notification will come for it.
    if (tokenId && this.revoked.has(tokenId)) {
      onInvalid(revokedError());
      return () => {};
    }
    return this.watches.add(tokenId, exp * 1000, onInvalid);
  }

  /**
   * Throws the `unauthenticated` error of a revoked token when the caller's token is revoked in the
   * store, also by another server whose revocation this one has not heard of yet (that takes up to
   * `revocationRefreshMs`). For what outlives the request, such as minting a token: call it once
   * that is stored, so a revocation it misses came after it, as if the request had come first.
   * `minted`: the id of the token the request made, revoked before any error is thrown (also when
   * the store cannot be asked).
   * @example const issued = await tokens.issue(o); await tokens.assertNotRevoked(caller, issued.id)
   */
  async assertNotRevoked(caller: Caller, minted?: string): Promise<void> {
    try {
      await this.assertNotRevokedNow(caller);
    } catch (e) {
      if (minted !== undefined) await this.revoke({ id: minted });
      throw e;
    }
  }

  private async assertNotRevokedNow(caller: Caller): Promise<void> {
    const id = caller.tokenId;
    if (!id) return; // an OIDC token: its issuer revokes it, not us
    if (this.revoked.has(id)) throw revokedError();
    // Nobody else revokes: memory is the store (one read less per enrolment in a storm).
    if (this.options.soleWriter) return;
    if (!(await this.options.auth.getToken(id))?.revokedAt) return;
    this.revoked.add(id);
    this.notifyRevoked(new Set([id]));
    throw revokedError();
  }

  /** How many revoked tokens this process holds in memory (those not expired, and those revoked here since the last refresh). */
  get revokedCount(): number {
    return this.revoked.size;
  }

  /** The caller a token stands for; `unauthenticated` for anything not valid now. */
  async verify(token: string): Promise<Caller> {
    return (await this.verified(token)).caller;
  }

  private async verified(token: string): Promise<{ caller: Caller; exp: number }> {
    const nowS = this.now().getTime() / 1000;
    // Exactly the compact form, before the cache: `<token>==` or `<token>.` is another string, and
    // a lenient base64url decoder would otherwise take it for the same token.
    if (token.length > 8192) throw new EimError('unauthenticated', 'the token is too long to be one of ours');
    if (!COMPACT_JWS.test(token)) throw new EimError('unauthenticated', 'the token is not a JWT (three base64url parts joined by dots, nothing else); check that it was copied whole');
    const hit = this.cache.get(token);
    if (hit && hit.exp > nowS) {
      if (hit.caller.tokenId && this.revoked.has(hit.caller.tokenId)) throw revokedError();
      return hit;
    }
    // An agent's first requests (hardware, status, heartbeat, stream) come at once with its new
    // token, and a fleet's enrolments with one enrollment token: one check for all of them.
    let check = this.checking.get(token);
    if (!check) {
      check = this.check(token, nowS).finally(() => this.checking.delete(token));
      this.checking.set(token, check);
    }
    const verified = await check;
    if (verified.caller.tokenId && this.revoked.has(verified.caller.tokenId)) throw revokedError();
    return verified;
  }

  /** Checks a token's signature and claims, and caches what it stands for (a revoked one is not cached). */
  private async check(token: string, nowS: number): Promise<{ caller: Caller; exp: number }> {
    let verified: { caller: Caller; exp: number };
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new EimError('unauthenticated', 'the token is not a JWT; check that it was copied whole');
    }
    this.signatureChecks++;
    if (this.oidc && iss === this.oidc.options.issuer) verified = await this.oidc.verify(token);
    else verified = await this.verifyOwn(token, nowS);
    if (verified.caller.tokenId && this.revoked.has(verified.caller.tokenId)) throw revokedError();
    this.remember(token, verified);
    return verified;
  }

  private remember(token: string, verified: { caller: Caller; exp: number }): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, verified);
  }

  private async verifyOwn(token: string, nowS: number): Promise<{ caller: Caller; exp: number }> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new EimError('unauthenticated', 'the token is not a JWT; check that it was copied whole');
    }
    if (kid && !this.keys.has(kid) && Date.now() - this.lastKeyReload > 1000) await this.loadKeys(); // rotated by another process
    const key = kid ? this.keys.get(kid) : undefined;
    if (!key) throw new EimError('unauthenticated', 'the token was not signed by this server');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key.verify, { issuer: ISSUER, algorithms: ['EdDSA'], currentDate: new Date(nowS * 1000) }));
    } catch (e) {
      const expired = (e as { code?: string }).code === 'ERR_JWT_EXPIRED';
      // `details.reason` tells an agent that its token ran out (enrol again) rather than was revoked.
      throw expired ? expiredError() : new EimError('unauthenticated', 'the token is not valid for this server; check that it was copied whole');
    }
    return ownClaims(payload);
  }

  private async loadKeys(): Promise<void> {
    this.lastKeyReload = Date.now();
    const rows = await this.options.auth.signingKeys();
    for (const r of rows) {
      if (this.keys.has(r.kid)) continue;
      this.keys.set(r.kid, {
        sign: await importJWK(JSON.parse(r.privateJwk) as JWK, 'EdDSA'),
        verify: await importJWK(JSON.parse(r.publicJwk) as JWK, 'EdDSA'),
        createdAt: r.createdAt,
      });
    }
    const newest = rows.at(-1);
    if (newest) this.newestKid = newest.kid;
  }

  /**
   * Replaces the revocations held in memory by the store's list (revoked tokens not expired yet), so
   * they stay as few as the live revoked tokens: an expired token fails verification anyway.
   */
  private async refreshRevocations(): Promise<void> {
    const started = ++this.refreshesStarted;
    const ids = await this.options.auth.revokedIds(this.now().toISOString());
    if (started < this.refreshApplied) return; // a later read was applied already: it saw more than this one
    this.refreshApplied = started;
    const next = new Set(ids);
    const fresh = new Set(ids.filter((id) => !this.revoked.has(id)));
    for (const [id, at] of this.revokedHere) {
      // Revoked here before this read began: it is in the list unless it has expired.
      if (at < started) this.revokedHere.delete(id);
      else next.add(id); // revoked while the read ran: keep until the next one shows it
    }
    this.revoked = next;
    this.notifyRevoked(fresh);
  }

  private notifyRevoked(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    for (const id of ids) this.watches.revoke(id, revokedError);
    for (const listener of [...this.revocationListeners]) listener(ids);
  }
}

const revokedError = () => new EimError('unauthenticated', 'the token has been revoked; get a new one');
const expiredError = () => new EimError('unauthenticated', 'the token has expired; get a new one', { details: { reason: 'expired' } });

function parseGrants(v: unknown): Grant[] | undefined {
  if (!Array.isArray(v)) return undefined;
  // map: an array of the grants' number exactly (a push would reserve 16 places). Every cached
  // token holds its grants, an agent's for as long as the agent runs.
  const out = v.map(parseGrant);
  return out.every((g) => g !== undefined) ? (out as Grant[]) : undefined;
}

function parseGrant(g: unknown): Grant | undefined {
  if (typeof g !== 'string') return undefined;
  const i = g.lastIndexOf(':');
  const project = g.slice(0, i);
  const named = g.slice(i + 1);
  // The role's own constant, not the copy sliced from the token (one string for every token).
  const role = ROLES.find((r) => r === named);
  if (i <= 0 || !role || (project !== ALL_PROJECTS && !/^[a-z0-9-]+$/.test(project))) return undefined;
  return { project, role };
}
