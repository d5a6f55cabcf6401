import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EimError, isEimError } from '../api/index.ts';

/** Fastify's own request errors, mapped onto the contract's codes. */
const FASTIFY_CODES: Record<string, (e: FastifyError) => EimError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new EimError('payload_too_large', 'the request body is larger than the server accepts (1 MiB); split the request'),
  FST_ERR_CTP_INVALID_JSON_BODY: (e) => new EimError('invalid_argument', `the body is not valid JSON: ${e.message}`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new EimError('invalid_argument', 'the body is empty; send a JSON object'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new EimError('invalid_argument', 'unsupported Content-Type; send application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new EimError('invalid_argument', 'Content-Length does not match the body'),
  FST_ERR_VALIDATION: (e) => new EimError('invalid_argument', e.message),
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

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toEimError(error);
  if (e.code === 'internal' || e.code === 'unavailable') request.log.error({ err: e.cause ?? error, url: request.url, method: request.method }, e.message);
  const retryAfter = e.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  void reply.code(e.status).type('application/json').send(JSON.stringify(e.toJSON()));
}
