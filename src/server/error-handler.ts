import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EimError, isEimError } from '../api/index.ts';

/** Fastify's own request errors, mapped onto the contract's codes. Their messages never echo the URL. */
const FASTIFY_CODES: Record<string, (e: FastifyError) => EimError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new EimError('payload_too_large', 'the request body is larger than the server accepts (1 MiB); split the request'),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => new EimError('invalid_argument', `the body is not valid JSON: ${e.message}`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new EimError('invalid_argument', 'the body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new EimError('invalid_argument', 'unsupported Content-Type; send application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new EimError('invalid_argument', 'Content-Length does not match the body'),
  FST_ERR_VALIDATION: (e) => new EimError('invalid_argument', e.message),
  FST_ERR_BAD_URL: () => new EimError('invalid_argument', 'the URL is not valid: a path segment has a malformed %-escape'),
  FST_ERR_MAX_PARAM_LENGTH: () => new EimError('invalid_argument', 'a path parameter is longer than 100 characters; ids look like host-0a1b2c3d and names have at most 128 characters'),
};

/** Turns anything a handler threw into the contract's error body; unknown errors become `internal` and are logged. */
export function toEimError(error: unknown): EimError {
  if (isEimError(error)) return error;
  const fe = error as FastifyError;
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return mapped(fe);
  if (fe instanceof SyntaxError || (fe?.statusCode === 400 && fe.message)) return new EimError('invalid_argument', fe.message);
  if (fe?.statusCode === 413) return new EimError('payload_too_large', 'the request body is too large');
  if (isUnavailable(error)) return new EimError('unavailable', 'the store is not reachable right now; retry shortly', { cause: error });
  return new EimError('internal', 'an internal error occurred; it has been logged', { cause: error });
}

function isUnavailable(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '53300', 'SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR'].includes(code);
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
  const e = toEimError(error);
  if (e.code === 'internal' || e.code === 'unavailable') {
    request.log.error({ err: loggableError(e.cause ?? error), route: request.routeOptions?.url ?? 'unmatched', method: request.method }, e.message);
  }
  const retryAfter = e.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  void reply.code(e.status).type('application/json').send(JSON.stringify(e.toJSON()));
}
