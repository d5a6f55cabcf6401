import { ALL_PROJECTS, type Caller, EimError, type KindDef, kindByName, kindByPath } from '../api/index.ts';

/** The caller the auth hook attached. */
export function callerOf(req: { caller?: Caller }): Caller {
  if (!req.caller) throw new EimError('unauthenticated', 'missing Authorization: Bearer <token>');
  return req.caller;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** A query parameter as a whole number, or undefined; anything else is `invalid_argument`. */
export function intParam(value: unknown, name: string, min = 0): number | undefined {
  if (value === undefined || value === '') return undefined;
  const s = String(value);
  if (!/^-?\d{1,16}$/.test(s) || Number(s) < min) throw new EimError('invalid_argument', `${name} must be a whole number ≥ ${min} (got "${s.slice(0, 32)}")`);
  return Number(s);
}

/** A query parameter given at most once, as a string; a repeated one (an array) is `invalid_argument`. */
export function stringParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new EimError('invalid_argument', `${name} may be given only once`);
  return value;
}

/** `If-Match: "42"` (also W/"42" or 42) as a revision. */
export function ifMatchOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,16})"?\s*$/.exec(Array.isArray(header) ? header[0] : header);
  if (!m) throw new EimError('invalid_argument', 'If-Match must be a revision in quotes, like If-Match: "42"');
  return Number(m[1]);
}

/** `kinds=hosts,instances` (REST paths or kind names) as kind names. */
export function kindsParam(value: unknown): string[] | undefined {
  if (value === undefined || value === '') return undefined;
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((k) => {
      const def: KindDef | undefined = kindByPath(k) ?? kindByName(k);
      if (!def) throw new EimError('invalid_argument', `unknown kind "${k.slice(0, 40)}" in kinds; use collection names like hosts, instances, sites`);
      return def.kind;
    });
}

/** The project path parameter, or every project for the cross-project routes. */
export const projectParam = (params: unknown): string => (params as { project?: string }).project ?? ALL_PROJECTS;

/** The bearer token of a request (the auth hook has already verified it); `unauthenticated` without one. */
export function bearerToken(req: { headers: Record<string, string | string[] | undefined> }): string {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) throw new EimError('unauthenticated', 'missing or malformed Authorization header: send "Authorization: Bearer <token>"');
  return m[1];
}
