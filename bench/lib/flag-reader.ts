/**
 * Reads parsed command-line values into numbers and choices; a bad value prints the message and
 * the program's usage and exits 2 (a usage error), for every bench program with options (parseBenchArgs makes one).
 * @example const f = new FlagReader(USAGE); const ms = f.seconds(values.duration, 300, '--duration')
 */
export class FlagReader {
  constructor(private readonly usage: string) {}

  /** Seconds as given, in milliseconds; `dflt` (seconds) when absent. */
  seconds(v: string | undefined, dflt: number, flag: string): number {
    if (v === undefined) return dflt * 1000;
    const n = Number(v);
    if (!(n > 0)) this.fail(`${flag} must be a positive number of seconds (got "${v}")`);
    return n * 1000;
  }

  /** A whole number ≥ 1. */
  whole(v: string | undefined, dflt: number, flag: string): number {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) this.fail(`${flag} must be a whole number ≥ 1 (got "${v}")`);
    return n;
  }

  oneOf<T extends string>(v: string, allowed: readonly T[], flag: string): T {
    if (!(allowed as readonly string[]).includes(v)) this.fail(`${flag} must be one of ${allowed.join(', ')} (got "${v}")`);
    return v as T;
  }

  fail(message: string): never {
    process.stderr.write(`${message}\n${this.usage}\n`);
    process.exit(2);
  }
}
