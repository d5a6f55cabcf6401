import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { SqlDialectName } from './filter-sql.ts';
import { leaseMigrations } from './lease-migrations.ts';
import { telemetryMigrations } from './telemetry-migrations.ts';
import { hostCategory } from '../api/host-category.ts';

/**
 * The one migration set of both stores. Column types differ only where the databases do: JSON is
 * TEXT on SQLite and jsonb on PostgreSQL; revisions are 64-bit on both.
 */
function migrations(dialect: SqlDialectName): Record<string, Migration> {
  const json = dialect === 'postgres' ? sql`jsonb` : sql`text`;
  const int64 = dialect === 'postgres' ? sql`bigint` : sql`integer`;
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('eim_meta')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('revision', int64, (c) => c.notNull())
          .addColumn('compacted_revision', int64, (c) => c.notNull())
          .execute();
        await db.insertInto('eim_meta').values({ id: 1, revision: 0, compacted_revision: 0 }).execute();
        await db.schema
          .createTable('eim_projects')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('eim_resources')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('labels', json, (c) => c.notNull())
          .addColumn('spec', json, (c) => c.notNull())
          .addColumn('status', json, (c) => c.notNull())
          .addColumn('revision', int64, (c) => c.notNull())
          .addColumn('generation', int64, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('eim_resources_name').unique().on('eim_resources').columns(['project', 'kind', 'name']).execute();
        await db.schema
          .createTable('eim_events')
          .addColumn('revision', int64, (c) => c.primaryKey())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('eim_events_project').on('eim_events').columns(['project', 'revision']).execute();
        await db.schema.createIndex('eim_events_id').on('eim_events').columns(['id', 'revision']).execute();
        await db.schema
          .createTable('eim_refs')
          .addColumn('from_id', 'text', (c) => c.notNull())
          .addColumn('to_id', 'text', (c) => c.notNull())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('owner', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('eim_refs_pk', ['from_id', 'to_id'])
          .execute();
        await db.schema.createIndex('eim_refs_to').on('eim_refs').columns(['to_id']).execute();
      },
    },
    '0002_auth': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('eim_signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('private_jwk', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('eim_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('host_id', 'text')
          .addColumn('auto_register', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema.createIndex('eim_tokens_project').on('eim_tokens').columns(['project']).execute();
        await db.schema.createIndex('eim_tokens_host').on('eim_tokens').columns(['host_id']).execute();
      },
    },
    '0003_list_order': {
      async up(db: Kysely<any>) {
        // Lists are in name order (byte order, as ORDER BY compiles it): an index that matches lets
        // a page seek instead of sorting the kind's rows, also across projects.
        if (dialect === 'postgres') {
          await sql`create index eim_resources_order on eim_resources (project, kind, (name collate "C"), (id collate "C"))`.execute(db);
          await sql`create index eim_resources_kind_order on eim_resources (kind, (name collate "C"), (id collate "C"))`.execute(db);
        } else {
          await db.schema.createIndex('eim_resources_kind_order').on('eim_resources').columns(['kind', 'name', 'id']).execute();
        }
      },
    },
    '0004_host_identity': {
      async up(db: Kysely<any>) {
        // Enrolment and the uniqueness check find a host by uuid or serial number through these
        // (the expressions must stay those of HOST_IDENTITY_SQL in kysely-store.ts). The uuid
        // is compared through lower(), so uuids stored in upper case before it was normalised match too.
        if (dialect === 'postgres') {
          await sql`create index eim_hosts_uuid on eim_resources (project, lower(spec->>'uuid')) where kind = 'Host'`.execute(db);
          await sql`create index eim_hosts_serial on eim_resources (project, (spec->>'serialNumber')) where kind = 'Host'`.execute(db);
        } else {
          await sql`create index eim_hosts_uuid on eim_resources (project, lower(json_extract(spec, '$.uuid'))) where kind = 'Host'`.execute(db);
          await sql`create index eim_hosts_serial on eim_resources (project, json_extract(spec, '$.serialNumber')) where kind = 'Host'`.execute(db);
        }
      },
    },
    ...telemetryMigrations(dialect),
    ...leaseMigrations(dialect),
    '0012_inherited_labels': {
      async up(db: Kysely<any>) {
        // status.inheritedLabels again, in a column of its own (written with every row, see toRow
        // in kysely-store.ts): `inheritedLabels.k` filters read a small document, as `labels.k`
        // do, not the whole status. On PostgreSQL both label columns get a GIN index, which
        // serves equality (compiled to a containment test too, see filter-sql.ts).
        if (dialect === 'postgres') {
          await sql`alter table eim_resources add column inherited_labels jsonb not null default '{}'::jsonb`.execute(db);
          await sql`update eim_resources set inherited_labels = status->'inheritedLabels' where jsonb_typeof(status->'inheritedLabels') = 'object'`.execute(db);
          await sql`create index eim_resources_labels on eim_resources using gin (labels jsonb_path_ops)`.execute(db);
          await sql`create index eim_resources_inherited_labels on eim_resources using gin (inherited_labels jsonb_path_ops)`.execute(db);
        } else {
          await sql`alter table eim_resources add column inherited_labels text not null default '{}'`.execute(db);
          await sql`update eim_resources set inherited_labels = json_extract(status, '$.inheritedLabels') where json_type(status, '$.inheritedLabels') = 'object'`.execute(db);
        }
        // A host's category (api/host-category.ts) as of its last write, so the fleet summary
        // groups a small column instead of reading eight fields out of every host's status.
        await sql`alter table eim_resources add column host_category text`.execute(db);
        await db.schema.createIndex('eim_resources_host_category').on('eim_resources').columns(['project', 'kind', 'host_category']).execute();
        // The summary per site reads this index alone (its expression is HOSTS_BY_SITE_SQL's in host-summary-sql.ts).
        if (dialect === 'postgres') await sql`create index eim_hosts_site_category on eim_resources (project, (spec->>'siteId'), host_category) where kind = 'Host'`.execute(db);
        else await sql`create index eim_hosts_site_category on eim_resources (project, json_extract(spec, '$.siteId'), host_category) where kind = 'Host'`.execute(db);
        for (let after = ''; ; ) {
          const rows = (await sql<{ id: string; generation: unknown; status: unknown }>`select id, generation, status from eim_resources where kind = 'Host' and id > ${after} order by id limit 1000`.execute(db)).rows;
          if (rows.length === 0) break;
          for (const r of rows) {
            const status = (typeof r.status === 'string' ? JSON.parse(r.status) : r.status) as Record<string, unknown>;
            await sql`update eim_resources set host_category = ${hostCategory({ generation: Number(r.generation), status })} where id = ${r.id}`.execute(db);
          }
          after = rows[rows.length - 1].id;
        }
      },
    },
    '0013_secrets': {
      async up(db: Kysely<any>) {
        // Write-only spec fields (an alert receiver's HMAC secret, SMTP password, header values):
        // one row per resource, written in the resource's transaction, never in the event log.
        await db.schema
          .createTable('eim_secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0015_token_order': {
      async up(db: Kysely<any>) {
        // A page of a project's tokens seeks to its (created_at, id) key instead of sorting all of
        // the project's records; the index also serves every lookup by project, so the old one goes.
        await db.schema.createIndex('eim_tokens_order').on('eim_tokens').columns(['project', 'created_at', 'id']).execute();
        await db.schema.dropIndex('eim_tokens_project').execute();
      },
    },
    '0016_leader_epoch': {
      async up(db: Kysely<any>) {
        // Which holder of the managers lock is the current one (PostgreSQL, several servers): a
        // server that takes the lock moves it on, and writes made for an older holder are refused.
        await db.schema.alterTable('eim_meta').addColumn('leader_epoch', int64, (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0017_resource_size': {
      async up(db: Kysely<any>) {
        // A list page's byte budget reads each row's size before its body (see list-page.ts):
        // PostgreSQL from this column, measured here once for the rows already stored (as jsonb's
        // text: a space after each separator, so a little over what is sent). SQLite measures its text columns
        // directly and keeps the column only for the shared write path: not filled in here.
        // Null (a row a server of the previous version wrote meanwhile) counts as the largest a
        // resource may be.
        await sql`alter table eim_resources add column size_bytes integer`.execute(db);
        if (dialect === 'postgres') {
          await sql`update eim_resources set size_bytes = octet_length(name) + octet_length(labels::text) + octet_length(spec::text) + octet_length(status::text)`.execute(db);
        }
      },
    },
  };
}

/** Brings a database up to the newest schema; safe to call on every start (and from several processes on PostgreSQL). */
export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialectName): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'eim_migrations', migrationLockTableName: 'eim_migrations_lock' });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
