import { EimError, MAX_BODY_DEPTH } from '../api/index.ts';

/**
 * Applies a JSON merge patch (RFC 7386): objects merge key by key, `null` removes a key, anything
 * else replaces. Returns a new value; neither input is changed. It recurses as deep as the patch's
 * objects go: a patch nested deeper than MAX_BODY_DEPTH is `invalid_argument`, never a stack overflow
 * (the Inventory refuses anything deeper than MAX_JSON_DEPTH before it gets here).
 * @example mergePatch({ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 } }) // { a: 1, b: { d: 3 } }
 */
export function mergePatch(target: unknown, patch: unknown, depth = 0): unknown {
  if (!isPlainObject(patch)) return patch;
  if (depth >= MAX_BODY_DEPTH) throw new EimError('invalid_argument', `the patch nests deeper than ${MAX_BODY_DEPTH} levels; flatten it`);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, depth + 1);
  }
  return out;
}

export { jsonEqual } from '../api/json-equal.ts';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
