import { createHash } from 'node:crypto';
import { EimError } from '../api/index.ts';

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
const ID = /^[a-z]+-[0-9a-f]{8}$/;

/** What a page token is bound to: the same query must come back with it. */
export const queryHash = (parts: readonly unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 12);

/** Where the next page starts: how many items came before, the last (name, id) in name order, and the first page's total. */
export interface PagePosition {
  offset: number;
  /** The last item's name and id, when the list is in the default order: the next page seeks there. */
  after?: [string, string];
  total?: number;
}

/**
 * Encodes a list position as an opaque token.
 * @example encodePageToken({ offset: 20, after: ['edge-20', 'host-0a1b2c3d'], total: 120 }, queryHash(['Host', 'default', '', '']))
 */
export function encodePageToken(pos: PagePosition, hash: string): string {
  return Buffer.from(JSON.stringify({ o: pos.offset, h: hash, ...(pos.after ? { k: pos.after } : {}), ...(pos.total !== undefined ? { t: pos.total } : {}) })).toString('base64url');
}

/** Decodes a page token made for the query with `hash`; anything else is `invalid_argument`. */
export function decodePageToken(token: string, hash: string): PagePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const p = parsed as { o?: unknown; h?: unknown; k?: unknown; t?: unknown } | undefined;
  // A token is base64 anyone can write: the seek key must look like what a list hands out (a
  // resource name and id), never text the store cannot take (a NUL) or anything else.
  const keyOk = p?.k === undefined || (Array.isArray(p.k) && p.k.length === 2 && typeof p.k[0] === 'string' && NAME.test(p.k[0]) && typeof p.k[1] === 'string' && ID.test(p.k[1]));
  const totalOk = p?.t === undefined || (typeof p.t === 'number' && Number.isSafeInteger(p.t) && p.t >= 0);
  if (!p || typeof p.o !== 'number' || !Number.isSafeInteger(p.o) || p.o < 0 || p.o > 1e9 || typeof p.h !== 'string' || !keyOk || !totalOk) {
    throw new EimError('invalid_argument', 'pageToken is not a token this server issued; pass the nextPageToken of the previous page, unchanged');
  }
  if (p.h !== hash) {
    throw new EimError('invalid_argument', 'pageToken belongs to a different query; keep filter and orderBy the same while paging, or start again without pageToken');
  }
  return { offset: p.o, ...(p.k ? { after: p.k as [string, string] } : {}), ...(p.t !== undefined ? { total: p.t as number } : {}) };
}
