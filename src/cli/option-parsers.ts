import { InvalidArgumentError } from 'commander';

/** Commander argParser for a whole number ≥ 1 (a usage error, exit 2, otherwise). */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** Commander argParser for a revision: a whole number ≥ 0. */
export function revision(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a revision is a whole number ≥ 0');
  return n;
}
