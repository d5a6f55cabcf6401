import { type Kysely, sql } from 'kysely';
import type { FilterNode } from '../api/filter.ts';
import { compileFilter } from './filter-sql.ts';
import type { Database } from './schema.ts';

/** Group a kind's resources by some fields and count each group. */
export interface CountByQuery {
  kind: string;
  /** undefined: every project. */
  project?: string;
  /**
   * Paths: a column (`project`, `name`, `id`, `generation`, `revision`, `hostCategory`: a host's
   * category as stored with it) or a field under `spec`,
   * `status`, `labels` or `inheritedLabels` (`['status', 'hostStatus', 'message']`). At most 16.
   */
  fields: readonly (readonly string[])[];
  /** Only the resources this filter takes (compiled to SQL, values as parameters). */
  filter?: FilterNode;
}

export interface CountRow {
  /** The fields' values in the query's order (null where a resource has no such field). */
  values: unknown[];
  count: number;
}

const COLUMNS: Record<string, string> = { project: 'project', name: 'name', id: 'id', generation: 'generation', revision: 'revision', hostCategory: 'host_category' };
const JSON_COLUMNS = new Set(['spec', 'status', 'labels', 'inheritedLabels']);
/** `inheritedLabels` is kept in a column of its own (see migration 0012). */
const COLUMN_OF: Record<string, string> = { inheritedLabels: 'inherited_labels' };
const MAX_FIELDS = 16;

/**
 * One aggregate query: `SELECT <fields>, count(*) … GROUP BY <fields>`. The rows cost what the
 * distinct combinations cost, not what the resources do, so counting 10,000 hosts by status
 * reads a handful of rows. JSON fields come back as JSON text and are parsed here, so both
 * dialects answer the same values; paths are bound parameters.
 * @example await countBy(db, 'sqlite', { kind: 'Host', fields: [['project'], ['status', 'hostStatus', 'message']] })
 */
export async function countBy(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', q: CountByQuery): Promise<CountRow[]> {
  if (q.fields.length === 0 || q.fields.length > MAX_FIELDS) throw new TypeError(`countBy: between 1 and ${MAX_FIELDS} fields`);
  const exprs = q.fields.map((f) => fieldExpr(f, dialect));
  const selected = sql.join(exprs.map((e, i) => sql`${e.sql} AS ${sql.ref(`f${i}`)}`));
  // By position: PostgreSQL does not see that two expressions with their own bound parameters are equal.
  const positions = sql.join(exprs.map((_, i) => sql.raw(String(i + 1))));
  const scope = q.project === undefined ? sql`kind = ${q.kind}` : sql`kind = ${q.kind} AND project = ${q.project}`;
  const where = q.filter ? sql`${scope} AND ${compileFilter(q.filter, dialect)}` : scope;
  const { rows } = await sql<Record<string, unknown>>`SELECT ${selected}, count(*) AS n FROM eim_resources WHERE ${where} GROUP BY ${positions}`.execute(db);
  return rows.map((r) => ({ values: exprs.map((e, i) => e.read(r[`f${i}`])), count: Number(r.n) }));
}

function fieldExpr(field: readonly string[], dialect: 'sqlite' | 'postgres') {
  const [head, ...path] = field;
  if (path.length === 0 && Object.hasOwn(COLUMNS, head)) {
    const numeric = head === 'generation' || head === 'revision';
    return { sql: sql.ref(COLUMNS[head]), read: (v: unknown) => (numeric && v !== null ? Number(v) : v) };
  }
  if (path.length === 0 || !JSON_COLUMNS.has(head)) throw new TypeError(`countBy: ${JSON.stringify(field)} is not a column or a field under spec, status or labels`);
  const read = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));
  const column = sql.ref(COLUMN_OF[head] ?? head);
  if (dialect === 'postgres') return { sql: sql`(${column} #> ${[...path]}::text[])::text`, read };
  if (path.some((p) => p.includes('"'))) throw new TypeError(`countBy: field name ${JSON.stringify(path)} contains a quote`);
  // `->` answers JSON text (true stays true, not 1), NULL where the path is missing.
  return { sql: sql`(${column} -> ${'$' + path.map((p) => `."${p}"`).join('')})`, read };
}
