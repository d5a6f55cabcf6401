import type { ColumnType } from 'kysely';

/** JSON columns: TEXT on SQLite (we parse), jsonb on PostgreSQL (pg parses). Written as JSON text. */
export type JsonColumn = ColumnType<unknown, string, string>;

export interface ResourcesTable {
  id: string;
  project: string;
  kind: string;
  name: string;
  labels: JsonColumn;
  spec: JsonColumn;
  status: JsonColumn;
  /** status.inheritedLabels again ({} when none), for filters and groupings on them. */
  inherited_labels: JsonColumn;
  /** Hosts: their category (hostCategory of the row as written); null for other kinds. */
  host_category: string | null;
  /**
   * The resource's size: name, labels, spec and status as JSON, in UTF-8 bytes (what
   * `maxResourceBytes` bounds), written with the row. A list page's byte budget reads it on
   * PostgreSQL, where jsonb has no cheap byte length (pg_column_size is the compressed size).
   * SQLite measures octet_length of the columns instead (from the record header alone) and never
   * reads it: there it is null for rows written before migration 0017.
   */
  size_bytes: number | null;
  revision: number;
  generation: number;
  created_at: string;
  updated_at: string;
}

/** The event log. `data` is the event exactly as sent to watchers, so replay never re-serialises. */
export interface EventsTable {
  revision: number;
  project: string;
  kind: string;
  id: string;
  type: string;
  at: string;
  data: string;
}

/** Reverse index of references: who points at `to_id`. Kept in the write's transaction. */
export interface RefsTable {
  from_id: string;
  to_id: string;
  project: string;
  owner: number;
}

export interface MetaTable {
  id: number;
  revision: number;
  compacted_revision: number;
  leader_epoch: number;
}

export interface ProjectsTable {
  name: string;
  created_at: string;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  project: string;
  subject: string;
  role: string;
  host_id: string | null;
  auto_register: number;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** Write-only spec fields of one resource (JSON in the shape of its spec); never in the event log. */
export interface SecretsTable {
  id: string;
  project: string;
  data: string;
}

export interface Database {
  eim_secrets: SecretsTable;
  eim_signing_keys: SigningKeysTable;
  eim_tokens: TokensTable;
  eim_resources: ResourcesTable;
  eim_events: EventsTable;
  eim_refs: RefsTable;
  eim_meta: MetaTable;
  eim_projects: ProjectsTable;
}
