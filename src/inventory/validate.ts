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
  const problems = [...check.Errors(value)].filter((e) => e.keyword !== 'boolean').slice(0, 5).map((e) => {
    const path = where + e.instancePath.replace(/\//g, '.');
    const extra = (e.params as { additionalProperties?: string[] }).additionalProperties;
    if (extra) return `${path} has unknown field(s) ${extra.map((x) => `"${x}"`).join(', ')}`;
    const secret = isSecretPointer(e.instancePath, secrets);
    return `${path} ${e.message}${secret ? ' (value not shown)' : ''}`;
  });
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
