import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { age } from '../output/age.ts';
import { printStructured } from '../output/structured-output.ts';
import { renderTable } from '../output/table.ts';

/** `eim project create|list|delete`. */
export function registerProjectCommand(program: Command): void {
  const project = program
    .command('project')
    .description('create, list and delete projects (tenants)')
    .addHelpText('after', '\nExamples:\n  eim project create acme\n  eim project list\n  eim project delete acme');
  project
    .command('create')
    .description('create a project (cluster admin)')
    .argument('<name>', 'lower-case letters, digits and dashes')
    .addHelpText('after', '\nExamples:\n  eim project create acme\n  eim token create --project acme --role editor')
    .action((name: string, _o: unknown, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        await inv.transport.json({ method: 'POST', path: '/v1/projects', body: { name } });
        ctx.out.line(`project/${name} created`);
      }),
    );
  project
    .command('list')
    .description('the projects this token may see')
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'))
    .addHelpText('after', '\nExamples:\n  eim project list\n  eim project list -o json')
    .action((o: { output: 'table' | 'json' | 'yaml' }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        const { items } = await inv.transport.json<{ items: { name: string; createdAt: string }[] }>({ method: 'GET', path: '/v1/projects', idempotent: true });
        if (o.output !== 'table') return printStructured(ctx.out, { items }, o.output);
        const now = Date.now();
        const rows = items.map((p) => [p.name === ctx.project ? { text: p.name, style: 'bold' as const } : p.name, p.createdAt, age(p.createdAt, now)]);
        for (const l of renderTable(['NAME', 'CREATED', 'AGE'], rows, ctx.out).lines) ctx.out.line(l);
      }),
    );
  project
    .command('delete')
    .description('delete an empty project (cluster admin)')
    .argument('<name>', 'the project')
    .addHelpText('after', '\nExamples:\n  eim project delete acme')
    .action((name: string, _o: unknown, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        await inv.transport.send({ method: 'DELETE', path: `/v1/projects/${encodeURIComponent(name)}`, idempotent: true });
        ctx.out.line(`project/${name} deleted`);
      }),
    );
}
