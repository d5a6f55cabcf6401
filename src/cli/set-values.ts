import { UsageError } from './usage-error.ts';

/** The user-writable part of a resource that `--set` and `--label` build up. */
export interface WritableFields {
  name?: string;
  labels?: Record<string, string | null>;
  spec?: Record<string, unknown>;
}

/**
 * Applies one `--set PATH=VALUE` to `into`. PATH is `spec.a.b` (or just `a.b`, which means
 * spec), `labels.KEY` or `name`. VALUE is JSON when it parses as JSON (`3`, `true`, `null`,
 * `["a"]`, `{"x":1}`), a string otherwise; `asString` keeps it a string.
 * @example applySet(fields, 'spec.desiredPowerState=on') // fields.spec.desiredPowerState === 'on'
 */
export function applySet(into: WritableFields, expr: string, asString = false): WritableFields {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set ${expr}: expected PATH=VALUE, e.g. --set spec.desiredState=onboarded`);
  const path = expr.slice(0, eq).trim().split('.');
  const raw = expr.slice(eq + 1);
  if (path.some((p) => p === '')) throw new UsageError(`--set ${expr}: the path has an empty segment`);
  const value = asString ? raw : parseValue(raw);
  if (path[0] === 'name' && path.length === 1) {
    if (typeof value !== 'string') throw new UsageError(`--set ${expr}: a name is a string`);
    into.name = value;
  } else if (path[0] === 'labels') {
    if (path.length !== 2) throw new UsageError(`--set ${expr}: a label path is labels.KEY`);
    into.labels = { ...into.labels, [path[1]]: value === null ? null : String(value) };
  } else if (path[0] === 'status') {
    throw new UsageError(`--set ${expr}: status is written by managers, not users; set spec fields`);
  } else {
    const specPath = path[0] === 'spec' ? path.slice(1) : path;
    if (specPath.length === 0) throw new UsageError(`--set ${expr}: name a field under spec, e.g. spec.siteId`);
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

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = obj[head];
  const base = child && typeof child === 'object' && !Array.isArray(child) ? (child as Record<string, unknown>) : {};
  return { ...obj, [head]: setPath(base, rest, value) };
}

/** Collects a repeatable option's values (commander's argParser for `--set a --set b`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
