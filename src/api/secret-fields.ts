import { EimError } from './errors.ts';

/**
 * What a write-only spec field shows once it holds a secret: GET, list, watch and events carry
 * this instead of the value, which is stored apart from the resource. Sending it back (a fetched
 * manifest applied again, a merge patch of other fields) keeps the stored secret.
 */
export const SECRET_SET = '(set)';

/** Secret values of one resource, in the shape of its spec (`{ webhook: { hmacSecret: … } }`). */
export type SecretValues = Record<string, unknown>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Every (path, value) of the spec a write-only path names; `*` stands for each key of an object
 * (`webhook.headers.*`: every header's value).
 */
function visit(spec: Obj, paths: readonly string[], fn: (path: string[], value: unknown) => void): void {
  const walk = (v: unknown, rest: string[], at: string[]) => {
    if (rest.length === 0) return fn(at, v);
    if (!isObj(v)) return;
    const [head, ...tail] = rest;
    if (head === '*') for (const k of Object.keys(v)) walk(v[k], tail, [...at, k]);
    else if (head in v) walk(v[head], tail, [...at, head]);
  };
  for (const p of paths) walk(spec, p.split('.'), []);
}

const getAt = (o: unknown, path: readonly string[]): unknown => path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
function setAt(o: Obj, path: readonly string[], value: unknown): void {
  let at = o;
  for (const k of path.slice(0, -1)) at = (isObj(at[k]) ? at[k] : (at[k] = {})) as Obj;
  at[path[path.length - 1]] = value;
}

/**
 * Separates a spec's secrets from what is stored in the resource: each secret value becomes
 * SECRET_SET in `stored` and goes to `secrets`. A value that is SECRET_SET already keeps the
 * secret in `previous`; with none there, it is `invalid_argument` (a write-only field needs the secret).
 * @example splitSecrets({ webhook: { url: 'https://x', hmacSecret: 's3' } }, ['webhook.hmacSecret']) // { stored: { webhook: { url, hmacSecret: '(set)' } }, secrets: { webhook: { hmacSecret: 's3' } } }
 */
export function splitSecrets(spec: Obj, paths: readonly string[], previous: SecretValues = {}): { stored: Obj; secrets: SecretValues } {
  const stored = structuredClone(spec);
  const secrets: SecretValues = {};
  visit(spec, paths, (path, value) => {
    if (value === undefined || value === null) return;
    if (value === SECRET_SET) {
      const kept = getAt(previous, path);
      if (typeof kept !== 'string') throw new EimError('invalid_argument', `spec.${path.join('.')} is write-only: send the secret itself ("${SECRET_SET}" only keeps one already stored)`);
      setAt(secrets, path, kept);
    } else setAt(secrets, path, value);
    setAt(stored, path, SECRET_SET);
  });
  return { stored, secrets };
}

/**
 * The spec with its secrets put back (for the manager that uses them, never for a response).
 * @example revealSecrets(stored, { webhook: { hmacSecret: 's3' } }).webhook.hmacSecret // 's3'
 */
export function revealSecrets<T extends Obj>(stored: T, secrets: SecretValues | undefined): T {
  const out = structuredClone(stored) as Obj;
  const put = (s: unknown, at: string[]) => {
    if (!isObj(s)) {
      if (getAt(out, at) === SECRET_SET) setAt(out, at, s);
      return;
    }
    for (const [k, v] of Object.entries(s)) put(v, [...at, k]);
  };
  if (secrets) put(secrets, []);
  return out as T;
}

/** Whether `path` (`/webhook/headers/Authorization`, a JSON pointer of a spec) is one of the write-only paths. */
export function isSecretPointer(pointer: string, paths: readonly string[]): boolean {
  const segs = pointer.split('/').filter((s) => s !== '');
  return paths.some((p) => {
    const ps = p.split('.');
    return ps.length <= segs.length && ps.every((x, i) => x === '*' || x === segs[i]);
  });
}
