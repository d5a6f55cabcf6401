import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

export interface SigningKeyRecord {
  kid: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: string;
}

/** What the server remembers of a token it issued (never the token itself). */
export interface TokenRecord {
  id: string;
  project: string;
  subject: string;
  role: string;
  hostId?: string;
  autoRegister: boolean;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
}

/** Where a token sits in a project's list: the list is in (createdAt, id) order. */
export interface TokenKey {
  createdAt: string;
  id: string;
}

/** The most token records one page holds. */
export const MAX_TOKEN_PAGE = 1000;

/** One page of a project's token records. */
export interface TokenPage {
  items: TokenRecord[];
  /** The last item's key, present only when more records follow: pass it as `after` for the next page. */
  next?: TokenKey;
}

/**
 * Signing keys and issued tokens, in the store so every server process on one database shares
 * them (rotation and revocation reach all of them).
 */
export class AuthStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  async signingKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.selectFrom('eim_signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdAt: r.created_at }));
  }

  async addSigningKey(k: SigningKeyRecord): Promise<void> {
    await this.db
      .insertInto('eim_signing_keys')
      .values({ kid: k.kid, private_jwk: k.privateJwk, public_jwk: k.publicJwk, created_at: k.createdAt })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await insertTokenRow(this.db, t, this.dialect);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const r = await this.db.selectFrom('eim_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /**
   * A page of the project's token records in (createdAt, id) order, those after `after` (a key
   * of this project's list: it only positions, the project filter stays). Reads one row more than
   * the page to tell whether more follow; the index eim_tokens_order lets it seek there.
   * @example const { items, next } = await auth.listTokens('acme', { pageSize: 100, after: previous.next })
   */
  async listTokens(project: string, page: { pageSize?: number; after?: TokenKey } = {}): Promise<TokenPage> {
    const size = page.pageSize ?? MAX_TOKEN_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_TOKEN_PAGE) throw new RangeError(`pageSize must be a whole number from 1 to ${MAX_TOKEN_PAGE} (got ${size})`);
    let q = this.db.selectFrom('eim_tokens').selectAll().where('project', '=', project);
    const after = page.after;
    if (after) q = q.where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'id'), '>', tuple(after.createdAt, after.id)));
    const rows = await q.orderBy('created_at').orderBy('id').limit(size + 1).execute();
    const items = rows.slice(0, size).map(toRecord);
    const last = items.at(-1);
    return { items, ...(rows.length > size && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}) };
  }

  /**
   * Revokes by token id, by bound host, the tokens bound to a host that is gone, or the tokens of a project (those created before
   * `createdBefore`, when given); returns the ids newly revoked.
   */
  async revoke(where: { id: string } | { hostId: string } | { hostGone: true } | { project: string; createdBefore?: string }, at: string): Promise<string[]> {
    let q = this.db.updateTable('eim_tokens').set({ revoked_at: at }).where('revoked_at', 'is', null);
    if ('id' in where) q = q.where('id', '=', where.id);
    else if ('hostId' in where) q = q.where('host_id', '=', where.hostId);
    else if ('hostGone' in where) {
      // Bound to a host that is not (or no longer) a Host of the token's project.
      q = q.where('host_id', 'is not', null).where((eb) =>
        eb.not(eb.exists(eb.selectFrom('eim_resources').select('eim_resources.id').whereRef('eim_resources.id', '=', 'eim_tokens.host_id').whereRef('eim_resources.project', '=', 'eim_tokens.project').where('eim_resources.kind', '=', 'Host'))),
      );
    } else {
      q = q.where('project', '=', where.project);
      if (where.createdBefore !== undefined) q = q.where('created_at', '<', where.createdBefore);
    }
    const rows = await q.returning('id').execute();
    return rows.map((r) => r.id);
  }

  /**
   * Deletes the records of tokens that expired before `before`, at most `limit` of them; returns how
   * many went. An expired token fails verification whatever its record says, so its record is only
   * history (the token list); without this, every renewal and enrolment would leave one row for good.
   */
  async deleteExpired(before: string, limit: number): Promise<number> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number ≥ 1 (got ${limit})`);
    const doomed = this.db.selectFrom('eim_tokens').select('id').where('expires_at', 'is not', null).where('expires_at', '<', before).limit(limit);
    const r = await this.db.deleteFrom('eim_tokens').where('id', 'in', doomed).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Ids of revoked tokens that have not expired yet (expired ones fail verification anyway). */
  async revokedIds(now: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('eim_tokens')
      .select('id')
      .where('revoked_at', 'is not', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
    return rows.map((r) => r.id);
  }
}

/** Records an issued token, in `db` or inside a write transaction (`WriteTx.insertToken`). */
export async function insertTokenRow(db: Kysely<Database> | Transaction<Database>, t: TokenRecord, dialect: 'sqlite' | 'postgres'): Promise<void> {
  // Fixed text (one per enrolment in a storm): Kysely's builder cost more than the insert.
  const values = [t.id, t.project, t.subject, t.role, t.hostId ?? null, t.autoRegister ? 1 : 0, t.createdAt, t.expiresAt ?? null];
  await db.executeQuery(CompiledQuery.raw(INSERT_TOKEN[dialect], values));
}

const INSERT_TOKEN = {
  sqlite: 'insert into "eim_tokens" ("id", "project", "subject", "role", "host_id", "auto_register", "created_at", "expires_at", "revoked_at") values (?, ?, ?, ?, ?, ?, ?, ?, null)',
  postgres: 'insert into "eim_tokens" ("id", "project", "subject", "role", "host_id", "auto_register", "created_at", "expires_at", "revoked_at") values ($1, $2, $3, $4, $5, $6, $7, $8, null)',
};

function toRecord(r: Database['eim_tokens'] extends infer T ? { [K in keyof T]: T[K] } : never): TokenRecord {
  return {
    id: r.id,
    project: r.project,
    subject: r.subject,
    role: r.role,
    ...(r.host_id ? { hostId: r.host_id } : {}),
    autoRegister: Number(r.auto_register) === 1,
    createdAt: r.created_at,
    ...(r.expires_at ? { expiresAt: r.expires_at } : {}),
    ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
  };
}
