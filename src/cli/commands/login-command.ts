import { resolve } from 'node:path';
import type { Command } from 'commander';
import { saveConfig } from '../cli-config.ts';
import { CliContext } from '../cli-context.ts';

/** `eim login`: checks the token against the server, then saves server, token and project. */
export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('check a token against the server, then save server, token and project in the config file')
    .addHelpText(
      'after',
      `
Uses the global --server, --token, --project and --ca-file (or EIM_SERVER, EIM_TOKEN, EIM_PROJECT,
EIM_CA_FILE); what is not given is kept from the current config, so "eim login --project acme"
switches projects. --ca-file is saved as an absolute path: later commands trust that CA for an
https server (besides Node's root certificates).
The config file is $EIM_CONFIG, else $XDG_CONFIG_HOME/eim/config.json, else
~/.config/eim/config.json, written with mode 0600. Later commands take server, token and project
from it; flags and EIM_* variables override it.

Examples:
  eim login --server http://127.0.0.1:8080 --token "$(cat .eim/admin.token)"
  eim login --server https://eim.example.com --token "$TOKEN" --project acme
  eim login --server https://eim.internal:8443 --token "$TOKEN" --ca-file ./ca.pem
  eim login --server https://eim-1:8443,https://eim-2:8443 --token "$TOKEN"   # either may answer`,
    )
    .action((_o, cmd: Command) => CliContext.run(cmd, login, { tolerateBrokenConfig: true }));
}

async function login(ctx: CliContext): Promise<void> {
  const inv = await ctx.client();
  // Any authenticated read proves the token; the project list also tells us what it may see.
  const { items } = await inv.transport.json<{ items: { name: string }[] }>({ method: 'GET', path: '/v1/projects', idempotent: true });
  const { server, servers, token, project, caFile } = ctx.connection;
  // Several servers (--server a,b) are all saved: later commands move to the next one that answers.
  const all = servers && servers.length > 1 ? servers : undefined;
  saveConfig({ server: all ? all.join(',') : server, token, project, ...(caFile ? { caFile: resolve(caFile) } : {}) }, ctx.connection.configPath);
  const names = items.map((p) => p.name);
  const answered = inv.transport.server;
  ctx.out.line(`logged in to ${answered}${all ? ` (one of ${all.length} servers, all saved)` : ''} (project ${project}); saved ${ctx.connection.configPath}`);
  if (!names.includes(project)) {
    ctx.err.line(`warning: project "${project}" is not among those this token may see (${names.join(', ') || 'none'}); pass --project to pick one`);
  }
}
