import { sql, type RawBuilder } from 'kysely';
import { EimError } from '../api/errors.ts';
import { type Comparator, type FilterNode, type FilterValue, INHERITED_LABELS, MAX_WILDCARD_LENGTH, type OrderTerm } from '../api/filter.ts';

export type SqlDialectName = 'sqlite' | 'postgres';

/** The SQL function SQLite's filters match wildcards with: `globMatch`, registered on every connection (sqlite/sqlite-functions.ts). */
export const SQLITE_GLOB_FUNCTION = 'eim_glob';

type Sql = RawBuilder<unknown>;
type Bool = RawBuilder<boolean>;

/** How one field reads in SQL. Every predicate may be NULL when the field is missing; callers coalesce. */
interface Slot {
  /** The field holds something other than null. */
  present: Sql;
  /** `pred(text)` when the field holds a string, compared in UTF-8 byte order. */
  text(pred: (text: Sql) => Sql): Sql;
  number(cmp: Comparator, n: number): Sql;
  bool(b: boolean): Sql;
  /** ORDER BY keys: missing/null, false, true, numbers, strings, then objects and arrays. */
  order(dir: Sql): Sql[];
  /** A condition an index can serve, true whenever the field equals the string (where there is one). */
  contains?(value: string): Sql;
}

const COLUMNS: Record<string, { column: string; type: 'text' | 'number' }> = {
  id: { column: 'id', type: 'text' },
  kind: { column: 'kind', type: 'text' },
  name: { column: 'name', type: 'text' },
  createdAt: { column: 'created_at', type: 'text' },
  updatedAt: { column: 'updated_at', type: 'text' },
  revision: { column: 'revision', type: 'number' },
  generation: { column: 'generation', type: 'number' },
};
const JSON_COLUMNS = ['labels', 'spec', 'status'];
/** Fields read from another column than their name: `inheritedLabels.k` (status.inheritedLabels.k) from inherited_labels. */
const RENAMED_JSON: Record<string, string> = { [INHERITED_LABELS]: 'inherited_labels' };
const OPS: Record<Comparator, Sql> = { '=': sql`=`, '!=': sql`<>`, '<': sql`<`, '<=': sql`<=`, '>': sql`>`, '>=': sql`>=` };

/**
 * A parsed filter as a WHERE condition, with the semantics of `evaluateFilter`. Every value and
 * JSON path is a bound parameter. The result is parenthesized, so it can be ANDed as it is.
 * Throws EimError `invalid_argument` for a value with `*` longer than MAX_WILDCARD_LENGTH.
 * @example db.selectFrom('eim_resources').where(compileFilter(parseFilter('labels.line = 3')!, 'sqlite'))
 */
export function compileFilter(node: FilterNode, dialect: SqlDialectName): RawBuilder<boolean> {
  return sql<boolean>`(${condition(node, dialect)})`;
}

/**
 * The list after ORDER BY, ending with `id` so the order is total. JSON fields sort missing/null
 * first, then false, true, numbers, strings, objects and arrays; strings in UTF-8 byte order.
 * @example db.selectFrom('eim_resources').orderBy(compileOrderBy([{ field: ['name'], desc: true }], 'postgres'))
 */
export function compileOrderBy(terms: OrderTerm[], dialect: SqlDialectName): RawBuilder<unknown> {
  const keys = terms.flatMap((t) => slot(t.field, dialect).order(t.desc ? sql`DESC` : sql`ASC`));
  return sql.join([...keys, ...slot(['id'], dialect).order(sql`ASC`)]);
}

function condition(node: FilterNode, d: SqlDialectName): Bool {
  switch (node.op) {
    case 'and':
    case 'or':
      if (node.args.length === 0) return node.op === 'and' ? sql`TRUE` : sql`FALSE`;
      return sql.join(node.args.map((a) => sql`(${condition(a, d)})`), node.op === 'and' ? sql` AND ` : sql` OR `);
    case 'not':
      return sql`NOT (${condition(node.arg, d)})`;
    case 'has':
      return known(slot(node.field, d).present);
    case 'cmp':
      return comparison(node.field, slot(node.field, d), node.cmp, node.value, d);
  }
}

/** SQL's NULL (a missing field) becomes false, so that NOT is plain negation as in evaluateFilter. */
const known = (e: Sql): Bool => sql`coalesce(${e}, FALSE)`;
const either = (a: Sql, b: Sql): Bool => sql`(${known(a)} OR ${known(b)})`;

function comparison(field: string[], s: Slot, cmp: Comparator, v: FilterValue, d: SqlDialectName): Bool {
  if (!Object.hasOwn(OPS, cmp)) throw new TypeError(`compileFilter: unknown comparator ${String(cmp)}`);
  if (cmp === '=' || cmp === '!=') {
    if (v.type === 'string' && v.value.includes('*') && v.value.length > MAX_WILDCARD_LENGTH) {
      throw new EimError(
        'invalid_argument',
        `filter: the value compared with ${field.join('.')} has "*" and ${v.value.length} characters ("${[...v.value].slice(0, 24).join('')}…"); a value with "*" may have at most ${MAX_WILDCARD_LENGTH} characters: match a shorter part of it`,
      );
    }
    const eq = equals(s, v, d);
    return cmp === '=' ? eq : sql`NOT (${eq})`;
  }
  if (v.type === 'number') return known(s.number(cmp, v.value));
  if (v.type === 'string') return known(s.text((t) => sql`${t} ${OPS[cmp]} ${v.value}`));
  return sql`FALSE`;
}

function equals(s: Slot, v: FilterValue, d: SqlDialectName): Bool {
  switch (v.type) {
    case 'null': return sql`NOT ${known(s.present)}`;
    case 'number': return either(s.number('=', v.value), s.text((t) => sql`${t} = ${v.raw}`));
    case 'bool': return either(s.bool(v.value), s.text((t) => sql`${t} = ${String(v.value)}`));
    case 'string':
      if (!v.value.includes('*')) {
        const eq = known(s.text((t) => sql`${t} = ${v.value}`));
        // The same test as containment, which the label columns' GIN indexes serve (PostgreSQL).
        return s.contains ? sql`(${s.contains(v.value)} AND ${eq})` : eq;
      }
      if (/^[^*]*\*+$/.test(v.value)) {
        // `prefix*`: GLOB and LIKE compare the prefix once. SQLite's LIKE ignores case, so GLOB
        // there; escape everything but `*` in both dialects.
        if (d === 'sqlite') return known(s.text((t) => sql`${t} GLOB ${v.value.replace(/[[?]/g, '[$&]')}`));
        return known(s.text((t) => sql`${t} LIKE ${v.value.replace(/[\\%_]/g, '\\$&').replaceAll('*', '%')}`));
      }
      // After a star, GLOB and LIKE try the next literal run at every position of the field: a
      // row costs (field × pattern) length, seconds for `*aaa…ab*` over 250 kB. SQLite calls
      // globMatch instead (substring searches, linear); PostgreSQL runs a regular expression, which
      // its DFA matches without backtracking (its cost per row grows with the pattern's length,
      // which MAX_WILDCARD_LENGTH bounds).
      if (d === 'sqlite') return known(s.text((t) => sql`${sql.raw(SQLITE_GLOB_FUNCTION)}(${v.value}, ${t})`));
      return known(s.text((t) => sql`${t} ~ ${globRegex(v.value)}`));
  }
}

/**
 * A wildcard pattern as a PostgreSQL regular expression (ARE) matching the whole string: `*` is
 * `.*` (which, without the newline-sensitive flags, also matches newlines) and every ASCII
 * character but letters and digits is escaped (a backslash before one of them means the character
 * itself). Other characters have no meaning in a regular expression.
 * @example globRegex('edge-*.b') // '^edge\\-.*\\.b$'
 */
function globRegex(pattern: string): string {
  return `^${pattern.split(/\*+/).map((run) => run.replace(ASCII_NOT_ALNUM, '\\$&')).join('.*')}$`;
}
const ASCII_NOT_ALNUM = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/g;

function slot(field: string[], d: SqlDialectName): Slot {
  const [head, ...path] = field;
  if (path.length === 0 && Object.hasOwn(COLUMNS, head)) return columnSlot(COLUMNS[head].column, COLUMNS[head].type, d);
  const column = Object.hasOwn(RENAMED_JSON, head) ? RENAMED_JSON[head] : JSON_COLUMNS.includes(head) ? head : undefined;
  if (path.length > 0 && column) return d === 'sqlite' ? sqliteJsonSlot(column, path) : postgresJsonSlot(column, path);
  throw new TypeError(`compileFilter: field ${JSON.stringify(field)} is not a column, labels.<key>, inheritedLabels.<key>, spec.<path> or status.<path>`);
}

function columnSlot(column: string, type: 'text' | 'number', d: SqlDialectName): Slot {
  const c = sql.ref(column);
  const text = d === 'postgres' ? sql`${c} COLLATE "C"` : c;
  return {
    present: sql`${c} IS NOT NULL`,
    text: (pred) => (type === 'text' ? pred(text) : sql`FALSE`),
    number: (cmp, n) => (type === 'number' ? sql`${c} ${OPS[cmp]} ${d === 'postgres' ? sql`CAST(${n} AS numeric)` : n}` : sql`FALSE`),
    bool: () => sql`FALSE`,
    order: (dir) => [sql`${type === 'text' ? text : c} ${dir}`],
  };
}

function sqliteJsonSlot(column: string, path: string[]): Slot {
  if (path.some((p) => p.includes('"'))) throw new TypeError(`compileFilter: field name ${JSON.stringify(path)} contains a quote`);
  const c = sql.ref(column);
  const p = '$' + path.map((seg) => `."${seg}"`).join('');
  const type = sql`json_type(${c}, ${p})`;
  const value = sql`json_extract(${c}, ${p})`;
  return {
    present: sql`${type} <> 'null'`,
    text: (pred) => sql`${type} = 'text' AND ${pred(value)}`,
    number: (cmp, n) => sql`${type} IN ('integer', 'real') AND ${value} ${OPS[cmp]} ${n}`,
    bool: (b) => sql`${type} = ${b ? 'true' : 'false'}`,
    order: (dir) => [
      sql`CASE ${type} WHEN 'false' THEN 1 WHEN 'true' THEN 2 WHEN 'integer' THEN 3 WHEN 'real' THEN 3 WHEN 'text' THEN 4 WHEN 'object' THEN 5 WHEN 'array' THEN 5 ELSE 0 END ${dir}`,
      sql`CASE WHEN ${type} IN ('integer', 'real') THEN ${value} END ${dir}`,
      sql`CASE WHEN ${type} = 'text' THEN ${value} END ${dir}`,
    ],
  };
}

function postgresJsonSlot(column: string, path: string[]): Slot {
  const c = sql.ref(column);
  // `#>` indexes arrays with integer-like steps; evaluateFilter never does, so require an object there.
  const guards = path.flatMap((seg, i) => (/^-?\d+$/.test(seg) ? [sql`jsonb_typeof(${c} #> ${path.slice(0, i)}::text[]) = 'object'`] : []));
  const guarded = (e: Sql): Sql => (guards.length === 0 ? e : sql`CASE WHEN ${sql.join(guards, sql` AND `)} THEN ${e} END`);
  const json = guarded(sql`(${c} #> ${path}::text[])`);
  const text = sql`${guarded(sql`(${c} #>> ${path}::text[])`)} COLLATE "C"`;
  const type = sql`jsonb_typeof(${json})`;
  return {
    present: sql`${type} <> 'null'`,
    text: (pred) => sql`${type} = 'string' AND ${pred(text)}`,
    number: (cmp, n) => sql`${type} = 'number' AND ${json} ${OPS[cmp]} to_jsonb(CAST(${n} AS numeric))`,
    bool: (b) => sql`${json} = to_jsonb(CAST(${b} AS boolean))`,
    ...(path.length === 1 && (column === 'labels' || column === 'inherited_labels') ? { contains: (v: string) => sql`${c} @> jsonb_build_object(CAST(${path[0]} AS text), CAST(${v} AS text))` } : {}),
    order: (dir) => [
      sql`CASE ${type} WHEN 'boolean' THEN CASE WHEN ${json} = 'true'::jsonb THEN 2 ELSE 1 END WHEN 'number' THEN 3 WHEN 'string' THEN 4 WHEN 'object' THEN 5 WHEN 'array' THEN 5 ELSE 0 END ${dir}`,
      sql`CASE WHEN ${type} = 'number' THEN ${json} END ${dir}`,
      sql`CASE WHEN ${type} = 'string' THEN ${text} END ${dir}`,
    ],
  };
}
