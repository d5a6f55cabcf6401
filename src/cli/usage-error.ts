/**
 * The command was called wrongly (a missing argument, an unknown kind, a bad `--set`): the CLI
 * prints the message and exits with 2, like commander's own usage errors. Fix the command line.
 * @example throw new UsageError('name the hosts: give IDs, --filter, --site or --region')
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
