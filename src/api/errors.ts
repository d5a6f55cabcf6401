/** The closed set of error codes of the API contract (ARCHITECTURE.md §5). */
export const ERROR_STATUS = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  failed_precondition: 409,
  revision_compacted: 410,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The longest error message a client is sent: what it says past this only echoes the request back. */
export const MAX_ERROR_MESSAGE = 1024;

/**
 * The one error type of eim. Thrown where the problem is known; the HTTP edge turns it into
 * `{ error: { code, message, details? } }` with the status of its code.
 *
 * @example throw new EimError('not_found', `host ${id} does not exist in project ${project}`)
 */
export class EimError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EimError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** The wire form. A message quoting the request (a filter, field names) is cut at MAX_ERROR_MESSAGE characters. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    const message = this.message.length > MAX_ERROR_MESSAGE ? `${this.message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : this.message;
    return { error: { code: this.code, message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** True for any EimError, also one that crossed a module boundary. */
export function isEimError(e: unknown): e is EimError {
  return e instanceof EimError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'EimError' && typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code in ERROR_STATUS);
}
