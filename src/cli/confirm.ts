import { createInterface } from 'node:readline/promises';
import { UsageError } from './usage-error.ts';

/**
 * Asks before a change to many resources. `--yes` answers for the user; on a terminal the user
 * is asked; anywhere else (a script, CI) the command refuses with a usage error (exit 2), because
 * nobody can answer and silence must not mean yes.
 * @example if (!(await confirm(`delete ${n} hosts?`, o.yes))) return
 */
export async function confirm(question: string, yes: boolean | undefined, io: { stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream } = process): Promise<boolean> {
  if (yes) return true;
  if (!io.stdin.isTTY) throw new UsageError(`${question.replace(/\?$/, '')}: refusing without --yes, since stdin is not a terminal to ask on`);
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
