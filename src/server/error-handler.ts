import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EimError, isEimError } from '../api/index.ts';
import { isStalePlan } from '../store/index.ts';

/** What a request's errors may name: the body limit of the route it was for. */
export interface ErrorContext {
  /** The route's body limit in bytes. @default 1 MiB */
  bodyLimit?: number;
}

/** `1 MiB`, `512 KiB`, `65536 bytes`. */
const bytes = (n: number) => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`);

const tooLarge = (limit = 1024 * 1024) =>
  new EimError('payload_too_large', `the request body is larger than this route accepts (${bytes(limit)}); send less (split the request, or fewer items per call)`, { details: { limitBytes: limit } });

/** Fastify's own request errors, mapped onto the contract's codes. Their messages never echo the URL. */
const FASTIFY_CODES: Record<string, (e: FastifyError, c: ErrorContext) => EimError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, c) => tooLarge(c.bodyLimit),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => new EimError('invalid_argument', `the body is not valid JSON: ${e.message}`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new EimError('invalid_argument', 'the body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new EimError('invalid_argument', 'unsupported Content-Type; send application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new EimError('invalid_argument', 'Content-Length does not match the body'),
  FST_ERR_VALIDATION: (e) => new EimError('invalid_argument', e.message),
  FST_ERR_BAD_URL: () => new EimError('invalid_argument', 'the URL is not valid: a path segment has a malformed %-escape'),
  FST_ERR_MAX_PARAM_LENGTH: () => new EimError('invalid_argument', 'a path parameter is longer than 100 characters; ids look like host-0a1b2c3d and names have at most 128 characters'),
};

/** Turns anything a handler threw into the contract's error body; unknown errors become `internal` and are logged. */
export function toEimError(error: unknown, context: ErrorContext = {}): EimError {
  if (isEimError(error)) return error;
  const fe = error as FastifyError;
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return mapped(fe, context);
  if (fe instanceof SyntaxError || (fe?.statusCode === 400 && fe.message)) return new EimError('invalid_argument', fe.message);
  if (fe?.statusCode === 413) return tooLarge(context.bodyLimit);
  if (isUnavailable(error)) return new EimError('unavailable', 'the store is not reachable right now; retry shortly', { cause: error });
  return new EimError('internal', 'an internal error occurred; it has been logged', { cause: error });
}

/** Errors of a connection to the store (a socket's, or PostgreSQL's class 08 and shutdowns), and a store too busy or full. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03', '53300', 'SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR']);
/** pg's own errors for a connection that broke or closed under a query, which carry no code. */
const PG_CONNECTION_LOST = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

function isUnavailable(e: unknown): boolean {
  if (isStalePlan(e)) return true;
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return UNAVAILABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code);
  return typeof message === 'string' && PG_CONNECTION_LOST.test(message);
}

/**
 * What of an error may reach the log. A database error's message, detail and context quote the
 * data of the row (PostgreSQL's `where` holds the JSON being written: SSH keys, cloud-init), so
 * only its code and the names of what it concerns are kept; other errors keep type, message and stack.
 * @example loggableError(pgError) // { type: 'DatabaseError', code: '22P05', table: 'eim_resources' }
 */
export function loggableError(e: unknown): Record<string, unknown> {
  if (typeof e !== 'object' || e === null) return { type: typeof e };
  const err = e as { name?: string; code?: unknown; severity?: unknown; message?: string; stack?: string; constraint?: unknown; table?: unknown; column?: unknown; routine?: unknown };
  const type = err.constructor?.name ?? err.name ?? 'Error';
  const sqlstate = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && err.severity !== undefined;
  const sqlite = typeof err.code === 'string' && err.code.startsWith('SQLITE_');
  if (sqlstate || sqlite) {
    const out: Record<string, unknown> = { type, code: err.code };
    for (const k of ['severity', 'constraint', 'table', 'column', 'routine'] as const) if (typeof err[k] === 'string') out[k] = err[k];
    return out;
  }
  return { type, ...(typeof err.code === 'string' ? { code: err.code } : {}), message: err.message, stack: err.stack };
}

/**
 * The one error handler: the contract's body for the caller; `internal` and `unavailable` are
 * logged with the route pattern and method, never the URL, the body or a database error's data.
 */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toEimError(error, { bodyLimit: request.routeOptions?.bodyLimit });
  if (e.code === 'internal' || e.code === 'unavailable') {
    request.log.error({ err: loggableError(e.cause ?? error), route: request.routeOptions?.url ?? 'unmatched', method: request.method }, e.message);
  }
  const retryAfter = e.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  void reply.code(e.status).type('application/json').send(JSON.stringify(e.toJSON()));
}

/** A request Node's HTTP parser refused before Fastify saw it, in the contract's words (never its raw bytes). */
const CLIENT_ERRORS: Record<string, { message: string; reason: string }> = {
  HPE_HEADER_OVERFLOW: { reason: 'header-too-large', message: 'the request line and headers are larger than the server accepts (16 KiB); send long values (filters, ids) in fewer or shorter parameters' },
  ERR_HTTP_REQUEST_TIMEOUT: { reason: 'timeout', message: 'the request did not arrive completely in time; send it again' },
};

/**
 * Fastify's `clientErrorHandler`: a malformed or oversized request head (or one too slow to arrive)
 * gets the contract's error body (400 `invalid_argument`, `details.reason` saying which), then the
 * connection closes. Fastify's default answers a body of its own shape and logs the error with the
 * raw bytes of the request, Authorization header included, at trace level; this logs nothing.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A connection that never sent a byte gets no answer, only closed (whichever timer saw it first).
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && (socket as { bytesRead?: number }).bytesRead === 0) {
    socket.destroy();
    return;
  }
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { reason: 'malformed', message: 'the request is not valid HTTP/1.1; check the request line, headers and Content-Length' };
  const body = JSON.stringify(new EimError('invalid_argument', known.message, { details: { reason: known.reason } }).toJSON());
  if (socket.writable) socket.write(`HTTP/1.1 400 Bad Request\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}
