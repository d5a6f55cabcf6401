import { Command, Option } from 'commander';
import { registerAgentCommand } from './commands/agent-command.ts';
import { registerApplyCommand } from './commands/apply-command.ts';
import { registerCompleteCommand } from './commands/complete-command.ts';
import { registerCompletionCommand } from './commands/completion-command.ts';
import { registerCreateCommand } from './commands/create-command.ts';
import { registerDeleteCommand } from './commands/delete-command.ts';
import { registerDescribeCommand } from './commands/describe-command.ts';
import { registerGetCommand } from './commands/get-command.ts';
import { registerHostCommand } from './commands/host-command.ts';
import { registerInstanceCommand } from './commands/instance-command.ts';
import { registerLoginCommand } from './commands/login-command.ts';
import { registerManagersCommand } from './commands/managers-command.ts';
import { registerPatchCommand } from './commands/patch-command.ts';
import { registerProjectCommand } from './commands/project-command.ts';
import { registerServerCommand } from './commands/server-command.ts';
import { registerSimCommand } from './commands/sim-command.ts';
import { registerTokenCommand } from './commands/token-command.ts';
import { registerUpdateCommand } from './commands/update-command.ts';
import { registerWatchCommand } from './commands/watch-command.ts';
import { registerLogsCommand, registerTopCommand } from './commands/telemetry-commands.ts';
import { EXIT } from './report-error.ts';

/**
 * The whole `eim` command tree. Command files load the client, the schemas and YAML inside their
 * actions, so building the tree (and `eim --help`) stays cheap.
 * @example await buildProgram().parseAsync(process.argv)
 */
export function buildProgram(): Command {
  const program = new Command('eim');
  program
    .description('Edge infrastructure manager: intent down, policy down, discovery up.')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage and examples)')
    .configureHelp({ showGlobalOptions: true })
    // Before any .command(): subcommands inherit it. Help and --version exit 0, usage errors 2.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage))
    .addOption(
      new Option('--server <url>', 'eim server URL (default: from eim login); eim agent and eim sim take several (repeated or comma-separated) and fail over between them')
        .env('EIM_SERVER')
        .argParser((v: string, previous?: string) => (previous ? `${previous},${v}` : v)),
    )
    .addOption(new Option('--token <token>', 'bearer token (default: from eim login)').env('EIM_TOKEN'))
    .addOption(new Option('-p, --project <name>', 'project to work in (default: from eim login, else "default")').env('EIM_PROJECT'))
    .addOption(new Option('--ca-file <file>', "trust this CA (PEM) for an https server, besides Node's root certificates (default: from eim login)").env('EIM_CA_FILE'))
    .addHelpText(
      'after',
      `
Getting started:
  eim server &                                         # the control plane, on 127.0.0.1:8080
  eim login --server http://127.0.0.1:8080 --token "$(cat .eim/admin.token)"
  eim apply -f fleet.yaml                              # regions, sites, hosts from YAML
  eim get hosts -o wide
  eim host onboard --site site-0a1b2c3d --dry-run

Kinds are named by REST path (hosts), singular (host) or kind name (Host).
Exit codes: 0 ok, 1 error (the server's message on stderr), 2 usage.
Run "eim <command> --help" for a command's flags and examples.`,
    );

  registerLoginCommand(program);
  registerGetCommand(program);
  registerDescribeCommand(program);
  registerCreateCommand(program);
  registerApplyCommand(program);
  registerPatchCommand(program);
  registerDeleteCommand(program);
  registerWatchCommand(program);
  registerHostCommand(program);
  registerTopCommand(program);
  registerLogsCommand(program);
  registerInstanceCommand(program);
  registerUpdateCommand(program);
  registerTokenCommand(program);
  registerProjectCommand(program);
  registerCompletionCommand(program);
  registerCompleteCommand(program);
  registerServerCommand(program);
  registerManagersCommand(program);
  registerAgentCommand(program);
  registerSimCommand(program);
  return program;
}
