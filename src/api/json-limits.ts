import { EimError } from './errors.ts';

/**
 * How deep the JSON values of a resource may nest: labels, spec and status each count from their
 * own object (`spec` is level 1, `spec.params` level 2, …). Free-form objects (a command's
 * `params` and `details`, a telemetry `config`) hold anything JSON within this.
 */
export const MAX_JSON_DEPTH = 32;

/** How deep a request body may nest; checked on the raw text before it is parsed. */
export const MAX_BODY_DEPTH = 64;

/**
 * The largest resource the store accepts: name, labels, spec and status as stored JSON, in UTF-8
 * bytes. Well under the 1 MiB request body limit, so a page of events or a watch chunk holds many.
 */
export const MAX_RESOURCE_BYTES = 256 * 1024;

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// Without the `u` flag a regular expression works on UTF-16 code units, which is what this needs.
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What makes a string unstorable (PostgreSQL text and jsonb hold neither NUL nor unpaired UTF-16
 * surrogates; SQLite is held to the same rule), or undefined when it is fine.
 * @example textProblem('a\u0000b') // 'holds a NUL character (\\u0000)'
 */
export function textProblem(s: string): string | undefined {
  const m = UNSTORABLE.exec(s);
  if (!m) return undefined;
  return m[0] === '\0' ? 'holds a NUL character (\\u0000)' : `holds an unpaired UTF-16 surrogate (\\u${m[0].charCodeAt(0).toString(16)}) at character ${m.index}`;
}

/**
 * The first thing in a JSON value that cannot be stored: nesting deeper than `maxDepth`
 * (`{}` is depth 1, `{ "a": {} }` depth 2), or a key or string that `textProblem` refuses.
 * Iterative: a value nested a million levels deep is answered, not a stack overflow.
 * @example jsonProblem({ a: { b: 'x\u0000' } }, 32, 'spec') // 'spec.a.b holds a NUL character (\\u0000)'
 */
export function jsonProblem(value: unknown, maxDepth: number, where: string): string | undefined {
  // Writes call this on every spec, labels and status: a first pass without paths (no allocation
  // per value); only when it finds something is the value walked again to say where.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return describeProblem(value, maxDepth, where);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > maxDepth) return describeProblem(value, maxDepth, where);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        values.push(v[i]);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const k of Object.keys(v)) {
      if (UNSTORABLE.test(k)) return describeProblem(value, maxDepth, where);
      values.push((v as Record<string, unknown>)[k]);
      depths.push(depth + 1);
    }
  }
  return undefined;
}

/** The walk of `jsonProblem` that keeps paths, to name where the first problem is. */
function describeProblem(value: unknown, maxDepth: number, where: string): string | undefined {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: where }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) return `${path} ${p}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > maxDepth) return `${where} nests deeper than ${maxDepth} levels (at ${path.length > 120 ? `${path.slice(0, 120)}…` : path})`;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    for (const k of Object.keys(v)) {
      const p = textProblem(k);
      if (p) return `${path} has a key that ${p}`;
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: `${path}.${k.length > 40 ? `${k.slice(0, 40)}…` : k}` });
    }
  }
  return undefined;
}

/** Throws `invalid_argument` with `jsonProblem`'s answer, if any. */
export function assertStorableJson(value: unknown, where: string, maxDepth = MAX_JSON_DEPTH): void {
  const problem = jsonProblem(value, maxDepth, where);
  if (problem) throw new EimError('invalid_argument', `${problem}; ${hint(problem)}`);
}

const hint = (problem: string) =>
  problem.includes('nests deeper') ? 'flatten the value' : 'NUL characters and unpaired surrogates cannot be stored: remove them';

/**
 * Whether JSON text nests deeper than `max`, read without parsing it (brackets inside strings do
 * not count). Linear and iterative, so it runs safely before `JSON.parse` on any body.
 * @example jsonTextTooDeep('[[[1]]]', 2) // true
 */
export function jsonTextTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

// JSON.stringify writes NUL as \u0000 and an unpaired surrogate as \udXXX (a pair is written as
// is); preceded by an odd number of backslashes, that is an escape and not escaped text.
const UNSTORABLE_ESCAPE = /(\\+)u(0000|d[89a-f][0-9a-f]{2})/g;

/**
 * What makes JSON text (as `JSON.stringify` writes it) unstorable: a `\u0000` escape or an
 * unpaired surrogate escape. Nearly free when the text holds no `\u` at all.
 * @example serializedJsonProblem(JSON.stringify({ a: 'x\u0000' })) // 'holds a NUL character (\\u0000)'
 */
export function serializedJsonProblem(json: string): string | undefined {
  if (!json.includes('\\u')) return undefined;
  UNSTORABLE_ESCAPE.lastIndex = 0;
  for (let m = UNSTORABLE_ESCAPE.exec(json); m; m = UNSTORABLE_ESCAPE.exec(json)) {
    if (m[1].length % 2 === 1) return m[2] === '0000' ? 'holds a NUL character (\\u0000)' : `holds an unpaired UTF-16 surrogate (\\u${m[2]})`;
  }
  return undefined;
}
