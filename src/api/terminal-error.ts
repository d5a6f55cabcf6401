/**
 * Ends every terminal message, and marks it: a resource whose owned triple says `error`, ends with
 * this and has `observedGeneration === generation` is left alone. Being in the stored status, the
 * mark survives restarts; the status schemas are closed, so the message is the only place for it.
 */
export const TERMINAL_SUFFIX = ' (not retried until the spec changes)';
