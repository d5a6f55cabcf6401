import { type Command, Option } from 'commander';
import { CliContext } from '../cli-context.ts';
import { parseDuration } from '../duration.ts';
import { age } from '../output/age.ts';
import { printStructured } from '../output/structured-output.ts';
import { renderTable } from '../output/table.ts';

/** A token as GET /v1/projects/{p}/tokens lists it: everything but the token itself. */
interface TokenRecord {
  id: string;
  role: string;
  subject: string;
  hostId?: string;
  autoRegister: boolean;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
}

/** Records per request of `eim token list` (the most the server gives in one page). */
const TOKEN_PAGE = 1000;

interface CreateOptions {
  role: string;
  ttl?: string;
  hostId?: string;
  autoRegister?: boolean;
}

/** `eim token create|list|revoke`: the tokens of a project (admin). */
export function registerTokenCommand(program: Command): void {
  const token = program
    .command('token')
    .description('make, list and revoke tokens of a project (admin)')
    .addHelpText('after', '\nExamples:\n  eim token create --project acme --role viewer --ttl 24h\n  eim token list --project acme\n  eim token revoke 11952e75-44b6-44cc-9ae4-c6381988ca29 --project acme');
  token
    .command('create')
    .description('make a token for the project (--project) and print it alone on stdout')
    .requiredOption('--role <role>', 'viewer (read), editor (write specs), admin, manager (status writes), agent (one host), enrollment (enrol agents)')
    .option('--ttl <duration>', 'lifetime, e.g. 30s, 15m, 24h, 7d (default: the server\'s)')
    .option('--host-id <id>', 'bind an agent token to this host')
    .option('--auto-register', 'enrollment tokens: let agents register hosts nobody registered beforehand')
    .addHelpText(
      'after',
      `
The token id (for eim token revoke) and expiry go to stderr, so stdout holds the token alone.

Examples:
  eim token create --project acme --role viewer --ttl 24h > viewer.token
  eim token create --role enrollment --auto-register --ttl 7d
  eim token create --role agent --host-id host-0a1b2c3d`,
    )
    .action((o: CreateOptions, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const body = {
          role: o.role,
          ...(o.ttl !== undefined ? { ttlSeconds: parseDuration(o.ttl) } : {}),
          ...(o.hostId !== undefined ? { hostId: o.hostId } : {}),
          ...(o.autoRegister ? { autoRegister: true } : {}),
        };
        const inv = await ctx.client();
        const made = await inv.transport.json<{ id: string; token: string; role: string; expiresAt?: string }>({
          method: 'POST',
          path: `/v1/projects/${encodeURIComponent(ctx.project)}/tokens`,
          body,
        });
        ctx.out.line(made.token);
        ctx.err.line(`token ${made.id}: ${made.role} in project ${ctx.project}, ${made.expiresAt ? `expires ${made.expiresAt}` : 'never expires'}`);
      }),
    );
  token
    .command('list')
    .description('the tokens issued for the project: id, role, subject, bound host, created, expires, state (never the tokens themselves)')
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'))
    .addHelpText('after', '\nExamples:\n  eim token list\n  eim token list --project acme -o json | jq -r \'.items[] | select(.role == "enrollment") | .id\'')
    .action((o: { output: 'table' | 'json' | 'yaml' }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        // Every record, a bounded page per request, following nextPageToken to the end.
        const items: TokenRecord[] = [];
        for (let pageToken: string | undefined; ; ) {
          const page = await inv.transport.json<{ items: TokenRecord[]; nextPageToken?: string }>({
            method: 'GET',
            path: `/v1/projects/${encodeURIComponent(ctx.project)}/tokens`,
            query: { pageSize: TOKEN_PAGE, pageToken },
            idempotent: true,
          });
          items.push(...page.items);
          if (!page.nextPageToken) break;
          pageToken = page.nextPageToken;
        }
        if (o.output !== 'table') return printStructured(ctx.out, { items }, o.output);
        if (items.length === 0) return ctx.err.line(`no token in project ${ctx.project}`);
        // Hosts by name, as every other table shows them (the id where the host is gone).
        const { ReferenceNames } = await import('../reference-names.ts');
        const names = new ReferenceNames(inv, ctx.project);
        await names.load(new Set(items.flatMap((t) => (t.hostId ? [t.hostId] : []))));
        const now = Date.now();
        const nowIso = new Date(now).toISOString();
        const rows = items.map((t) => {
          const expired = t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now;
          const state = t.revokedAt ? { text: `revoked ${age(t.revokedAt, now)} ago`, style: 'red' as const } : expired ? { text: 'expired', style: 'dim' as const } : { text: 'active', style: 'green' as const };
          const expires = !t.expiresAt ? 'never' : expired ? `${age(t.expiresAt, now)} ago` : `in ${age(nowIso, Date.parse(t.expiresAt))}`;
          return [t.id, `${t.role}${t.autoRegister ? ' (auto-register)' : ''}`, t.subject, t.hostId ? (names.nameOf(t.hostId) ?? t.hostId) : '-', `${age(t.createdAt, now)} ago`, expires, state];
        });
        for (const l of renderTable(['ID', 'ROLE', 'SUBJECT', 'HOST', 'CREATED', 'EXPIRES', 'STATE'], rows, ctx.out, { keep: [0] }).lines) ctx.out.line(l);
      }),
    );
  token
    .command('revoke')
    .description('revoke a token at once, by its id')
    .argument('<id>', 'the token id eim token create printed')
    .addHelpText('after', '\nExamples:\n  eim token revoke 11952e75-44b6-44cc-9ae4-c6381988ca29 --project acme')
    .action((id: string, _o: unknown, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const inv = await ctx.client();
        await inv.transport.send({ method: 'DELETE', path: `/v1/projects/${encodeURIComponent(ctx.project)}/tokens/${encodeURIComponent(id)}`, idempotent: true });
        ctx.out.line(`token ${id} revoked`);
      }),
    );
}
