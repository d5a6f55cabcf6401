// printable.ts itself: this file stays clear of the schemas, so `eim --help` stays fast.
import { printable } from '../api/printable.ts';
import { UsageError } from './usage-error.ts';

/** Exit codes of every `eim` command. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

/**
 * Prints anything an action threw as one `error: …` line on stderr and returns the exit code:
 * the server's message and code for an EimError, 2 for a UsageError, 1 otherwise. Control
 * characters in the message (a server's, or data it quotes) show escaped (printable), newlines
 * too, so it stays one line. Never a stack trace, except with `EIM_DEBUG=1`.
 */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (process.env.EIM_DEBUG === '1' && e instanceof Error) stderr.write(`${e.stack}\n`);
  const line = (text: string) => stderr.write(`error: ${printable(text)}\n`);
  if (e instanceof UsageError) {
    line(e.message);
    return EXIT.usage;
  }
  // Duck-typed rather than `isEimError` so this file does not load the schemas: `eim --help` stays fast.
  const err = e as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  if (err?.name === 'EimError' && typeof err.code === 'string') {
    line(`${String(err.message)} (${err.code})`);
    return EXIT.error;
  }
  line(err && typeof err.message === 'string' ? err.message : String(e));
  return EXIT.error;
}
