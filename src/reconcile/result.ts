/**
 * What one reconcile decided, as a discriminated union on `type`:
 * - `done`: the resource matches its intent; its backoff is forgotten.
 * - `requeueAfter`: fine for now, look again after `ms` (polling something outside the inventory).
 * - `retry`: a recoverable failure; tried again with per-key backoff, status shows `in_progress`.
 * - `terminal`: an unrecoverable failure; status shows `error` with the error's message, and the
 *   resource is left alone until its generation changes (the user edits it).
 * @example return isTransient(e) ? retry(e) : terminal(new Error(`image ${url} is not reachable: fix spec.imageUrl`))
 */
export type Result =
  | { readonly type: 'done' }
  | { readonly type: 'requeueAfter'; readonly ms: number }
  | { readonly type: 'retry'; readonly error: Error }
  | { readonly type: 'terminal'; readonly error: Error };

const DONE: Result = Object.freeze({ type: 'done' });

/** The resource matches its intent. @example return done() */
export const done = (): Result => DONE;

/** Look again after `ms`. @example return requeueAfter(30_000) */
export const requeueAfter = (ms: number): Result => {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`requeueAfter: ms must be a finite number ≥ 0 (got ${ms})`);
  return Object.freeze({ type: 'requeueAfter', ms });
};

/** A recoverable failure: try again with backoff. @example return retry(new Error('agent did not answer'))  */
export const retry = (error: unknown): Result => Object.freeze({ type: 'retry', error: asError(error) });

/**
 * An unrecoverable failure: its message becomes the status message as is, so say what failed and
 * what the user can do.
 * @example return terminal(new Error('OS image checksum mismatch for os-0a1b2c3d: correct its sha256 or upload the image again'))
 */
export const terminal = (error: unknown): Result => Object.freeze({ type: 'terminal', error: asError(error) });

/** Anything thrown, as an Error (keeping the original as its cause). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(typeof e === 'string' ? e : safeString(e), { cause: e });
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return String(v);
  }
}
