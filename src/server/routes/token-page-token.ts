import { EimError } from '../../api/index.ts';
import type { TokenKey } from '../../store/index.ts';

const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longer than any token encodeTokenPageToken makes (a 128-character project name and a key). */
const MAX_LENGTH = 512;

/**
 * The `nextPageToken` of a project's token list: the last record's (createdAt, id), bound to the
 * project, as opaque base64url.
 * @example encodeTokenPageToken('acme', { createdAt: '2026-11-26T10:00:00.000Z', id: '11952e75-44b6-44cc-9ae4-c6381988ca29' })
 */
export function encodeTokenPageToken(project: string, key: TokenKey): string {
  return Buffer.from(JSON.stringify({ p: project, c: key.createdAt, i: key.id })).toString('base64url');
}

/**
 * The key a page token of `project`'s token list holds. A token that is not one encodeTokenPageToken
 * made (anyone can write base64), or one made for another project, is `invalid_argument`.
 */
export function decodeTokenPageToken(token: string, project: string): TokenKey {
  let parsed: unknown;
  try {
    parsed = token.length <= MAX_LENGTH ? JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const t = parsed as { p?: unknown; c?: unknown; i?: unknown } | null | undefined;
  // The key goes into the query as parameters; it must still look like what a list hands out.
  if (!t || typeof t !== 'object' || typeof t.p !== 'string' || typeof t.c !== 'string' || !CREATED_AT.test(t.c) || typeof t.i !== 'string' || !TOKEN_ID.test(t.i)) {
    throw new EimError('invalid_argument', 'pageToken is not a token this server issued; pass the nextPageToken of the previous page, unchanged', { details: { field: 'pageToken' } });
  }
  if (t.p !== project) {
    throw new EimError('invalid_argument', `pageToken belongs to another project's token list; page project "${project}" with its own nextPageToken, or start again without pageToken`, { details: { field: 'pageToken' } });
  }
  return { createdAt: t.c, id: t.i };
}
