import { createHash } from 'node:crypto';
import { EimError } from '../api/index.ts';

/** What a page token is bound to: the same query must come back with it. */
export const queryHash = (parts: readonly unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 12);

/**
 * Encodes a list position as an opaque token.
 * @example encodePageToken(20, queryHash(['Host', 'default', '', ''])) // 'eyJvIjoyMC...'
 */
export function encodePageToken(offset: number, hash: string): string {
  return Buffer.from(JSON.stringify({ o: offset, h: hash })).toString('base64url');
}

/** Decodes a page token made for the query with `hash`; anything else is `invalid_argument`. */
export function decodePageToken(token: string, hash: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const p = parsed as { o?: unknown; h?: unknown } | undefined;
  if (!p || typeof p.o !== 'number' || !Number.isSafeInteger(p.o) || p.o < 0 || p.o > 1e9 || typeof p.h !== 'string') {
    throw new EimError('invalid_argument', 'pageToken is not a token this server issued; pass the nextPageToken of the previous page, unchanged');
  }
  if (p.h !== hash) {
    throw new EimError('invalid_argument', 'pageToken belongs to a different query; keep filter and orderBy the same while paging, or start again without pageToken');
  }
  return p.o;
}
