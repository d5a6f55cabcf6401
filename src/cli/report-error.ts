import { UsageError } from './usage-error.ts';

/** Exit codes of every `eim` command. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/**
 * Prints anything an action threw as one `error: …` line on stderr and returns the exit code:
 * the server's message and code for an EimError, 2 for a UsageError, 1 otherwise. Never a stack
 * trace, except with `EIM_DEBUG=1`.
 */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (process.env.EIM_DEBUG === '1' && e instanceof Error) stderr.write(`${e.stack}\n`);
  if (e instanceof UsageError) {
    stderr.write(`error: ${e.message}\n`);
    return EXIT.usage;
  }
  // Duck-typed rather than `isEimError` so this file does not load the schemas: `eim --help` stays fast.
  const err = e as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  if (err?.name === 'EimError' && typeof err.code === 'string') {
    stderr.write(`error: ${String(err.message)} (${err.code})\n`);
    return EXIT.error;
  }
  stderr.write(`error: ${err && typeof err.message === 'string' ? err.message : String(e)}\n`);
  return EXIT.error;
}
