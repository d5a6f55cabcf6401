import type { ServerResponse } from 'node:http';
/**
 * Node keeps a response's head (its internal `_header`) for as long as the response lives, which
 * for an agent's stream is as long as the agent stays connected. Node builds it by concatenation:
 * a tree of about 40 string pieces, 1.2 KB. Reading one character of it makes V8 copy it into one
 * flat string (about 0.3 KB) in place; the pieces are then garbage. The string's text is the same,
 * so nothing Node does with it changes. A head not yet built, or a Node without `_header`, is left.
 * @example res.writeHead(200, headers); flattenHead(res)
 */
export function flattenHead(raw: ServerResponse): void {
  const head = (raw as unknown as { _header?: unknown })._header;
  if (typeof head === 'string') head.charCodeAt(0);
}
