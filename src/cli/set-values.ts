import { UsageError } from './usage-error.ts';

/** The user-writable part of a resource that `--set` and `--label` build up. */
export interface WritableFields {
  name?: string;
  labels?: Record<string, string | null>;
  spec?: Record<string, unknown>;
}

/** The part of a JSON schema `--set` reads to type a value. */
export interface FieldSchema {
  type?: string;
  enum?: readonly unknown[];
  properties?: Record<string, FieldSchema>;
  items?: FieldSchema;
  anyOf?: readonly FieldSchema[];
}

export interface SetOptions {
  /** The value is the text as typed, whatever the field (`--set-string`). */
  asString?: boolean;
  /** The kind's spec schema: values are read by the type of the field they go to. */
  spec?: unknown;
}

/**
 * Applies one `--set PATH=VALUE` to `into`. PATH is `spec.a.b` (or just `a.b`, which means
 * spec), `labels.KEY` or `name`. VALUE is read by the type of the field in the kind's schema
 * (`spec`): a string field takes the text as typed (`22.04` stays `"22.04"`), a number field a
 * number, a boolean field true or false, an object or array field JSON (an array of strings also
 * `a,b,c`); `null` removes the field. A field the schema does not know: JSON when it parses, else
 * the text. `asString` keeps the text whatever the field.
 * @example applySet(fields, 'spec.profileVersion=22.04', { spec: osDef.spec }) // fields.spec.profileVersion === '22.04'
 */
export function applySet(into: WritableFields, expr: string, o: SetOptions = {}): WritableFields {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set ${expr}: expected PATH=VALUE, e.g. --set spec.desiredState=onboarded`);
  const path = expr.slice(0, eq).trim().split('.');
  const raw = expr.slice(eq + 1);
  if (path.some((p) => p === '')) throw new UsageError(`--set ${expr}: the path has an empty segment`);
  if (path[0] === 'name' && path.length === 1) {
    into.name = raw;
  } else if (path[0] === 'labels') {
    if (path.length !== 2) throw new UsageError(`--set ${expr}: a label path is labels.KEY`);
    into.labels = { ...into.labels, [path[1]]: !o.asString && raw === 'null' ? null : raw };
  } else if (path[0] === 'status') {
    throw new UsageError(`--set ${expr}: status is written by managers, not users; set spec fields`);
  } else {
    const specPath = path[0] === 'spec' ? path.slice(1) : path;
    if (specPath.length === 0) throw new UsageError(`--set ${expr}: name a field under spec, e.g. spec.siteId`);
    const value = o.asString ? raw : typedValue(raw, schemaAt(o.spec as FieldSchema | undefined, specPath), `spec.${specPath.join('.')}`);
    into.spec = setPath(into.spec ?? {}, specPath, value);
  }
  return into;
}

/**
 * Applies one `--label KEY=VALUE`, or `KEY-` to remove the label (a merge patch `null`).
 * @example applyLabel({}, 'line=3') // { labels: { line: '3' } }
 */
export function applyLabel(into: WritableFields, expr: string, allowRemove: boolean): WritableFields {
  if (allowRemove && /^[^=]+-$/.test(expr)) {
    into.labels = { ...into.labels, [expr.slice(0, -1)]: null };
    return into;
  }
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new UsageError(`--label ${expr}: expected KEY=VALUE${allowRemove ? ' or KEY- to remove it' : ''}`);
  into.labels = { ...into.labels, [expr.slice(0, eq)]: expr.slice(eq + 1) };
  return into;
}

/** JSON when the text parses as JSON, else the text itself. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The schema of the field at `path` under `schema`, or undefined when the schema does not say. */
export function schemaAt(schema: FieldSchema | undefined, path: readonly string[]): FieldSchema | undefined {
  let s = schema;
  for (const key of path) {
    s = s?.anyOf?.find((x) => x.properties?.[key]) ?? s;
    s = s?.properties?.[key];
    if (!s) return undefined;
  }
  return s;
}

/** What kind of value a field takes: the `--set` reading of its schema. */
function kindOf(s: FieldSchema | undefined): 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'any' {
  if (!s) return 'any';
  if (s.enum) return s.enum.every((v) => typeof v === 'string') ? 'string' : 'any';
  if (s.anyOf) {
    const kinds = new Set(s.anyOf.map(kindOf));
    return kinds.size === 1 ? [...kinds][0] : 'any';
  }
  switch (s.type) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
    case 'object':
    case 'array':
      return s.type;
    default:
      return 'any';
  }
}

function typedValue(raw: string, schema: FieldSchema | undefined, field: string): unknown {
  if (raw === 'null') return null;
  const kind = kindOf(schema);
  const bad = (what: string, example: string): never => {
    throw new UsageError(`--set ${field}=${raw}: ${field} is ${what}, e.g. --set ${field}=${example} (null removes it)`);
  };
  switch (kind) {
    case 'string':
      return raw;
    case 'number':
    case 'integer': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) bad(kind === 'integer' ? 'a whole number' : 'a number', kind === 'integer' ? '60' : '52.5');
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') bad('true or false', 'true');
      return raw === 'true';
    case 'array': {
      const parsed = parseValue(raw);
      if (Array.isArray(parsed)) return parsed;
      // A list of strings also reads as a,b,c: `--set spec.groups=cpu,memory`.
      if (kindOf(schema?.items) === 'string') return raw === '' ? [] : raw.split(',').map((x) => x.trim());
      return bad('a list in JSON', `'[1,2]'`);
    }
    case 'object': {
      const parsed = parseValue(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
      return bad('an object in JSON', `'{"key":"value"}'`);
    }
    default:
      return parseValue(raw);
  }
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = obj[head];
  const base = child && typeof child === 'object' && !Array.isArray(child) ? (child as Record<string, unknown>) : {};
  return { ...obj, [head]: setPath(base, rest, value) };
}

/** Collects a repeatable option's values (commander's argParser for `--set a --set b`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
