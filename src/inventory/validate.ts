import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { EimError, isSecretPointer, Labels, Name } from '../api/index.ts';

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,62})$/;

/**
 * Checks a value against a schema; throws `invalid_argument` naming each wrong field and what it
 * should be. `where` prefixes the paths (`spec`).
 */
export function assertValid(schema: TSchema, value: unknown, where: string, secrets: readonly string[] = []): void {
  let check = compiled.get(schema);
  if (!check) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(value)) return;
  const errors = [...check.Errors(value)];
  const fields = (names: string[]) => `${names.slice(0, 10).map((x) => `"${x.slice(0, 64)}"`).join(', ')}${names.length > 10 ? `, … (${names.length} in all)` : ''}`;
  const problems = errors.filter((e) => e.keyword !== 'boolean').slice(0, 5).map((e) => {
    const path = where + e.instancePath.replace(/\//g, '.');
    const extra = (e.params as { additionalProperties?: string[] }).additionalProperties;
    if (extra) return `${path} has unknown field(s) ${fields(extra)}`;
    const secret = isSecretPointer(e.instancePath, secrets);
    return `${path} ${e.message}${secret ? ' (value not shown)' : ''}`;
  });
  // TypeBox stops at 8 errors, and an unknown field is first one "schema is false" error each: with
  // 8 or more, the summary naming them never comes. Name them from those errors instead.
  if (problems.length === 0) {
    const unknown = errors.filter((e) => e.keyword === 'boolean' && e.schemaPath.endsWith('additionalProperties'));
    const parent = (e: (typeof errors)[number]) => e.instancePath.slice(0, e.instancePath.lastIndexOf('/'));
    const at = unknown.length ? parent(unknown[0]) : '';
    const names = unknown.filter((e) => parent(e) === at).map((e) => e.instancePath.slice(at.length + 1));
    problems.push(names.length ? `${where}${at.replace(/\//g, '.')} has unknown field(s) ${fields(names)}${names.length === 8 ? ' and perhaps more' : ''}` : `${where} does not match its schema`);
  }
  throw new EimError('invalid_argument', `invalid ${where}: ${problems.join('; ')}`, { details: { problems } });
}

/** Validates a resource name. */
export function assertName(name: unknown): asserts name is string {
  assertValid(Name, name, 'name');
}

/** Validates labels: string values, keys of letters, digits and `._/-`. */
export function assertLabels(labels: unknown): asserts labels is Record<string, string> {
  assertValid(Labels, labels, 'labels');
  for (const k of Object.keys(labels as object)) {
    if (!LABEL_KEY.test(k)) throw new EimError('invalid_argument', `invalid labels: key "${k.slice(0, 80)}" must start with a letter or digit and hold only letters, digits and . _ / - (at most 63 characters)`);
  }
}
