// `eim agent` as the real program builds it (a global --server), for process-level tests, until
// the command is wired into src/cli/program.ts.
import { Command, Option } from 'commander';
import { registerAgentCommand } from '../../cli/commands/agent-command.ts';
import { reportError } from '../../cli/report-error.ts';

const program = new Command('eim').exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program.addOption(new Option('--server <url>', 'eim server URL').env('EIM_SERVER'));
registerAgentCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e);
}
