import { type Command, InvalidArgumentError, Option } from 'commander';
import { printable } from '../../api/printable.ts';
import { CliContext } from '../cli-context.ts';
import { jsonForTerminal } from '../output/structured-output.ts';

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};

/** `eim top hosts`: the busiest or fullest hosts by their latest samples. */
export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description('the busiest or fullest hosts, by their latest cpu, memory or disk use')
    .argument('<what>', 'hosts')
    .option('--filter <filter>', 'only these hosts (AIP-160, e.g. labels.line = "3" or spec.siteId = site-0a1b2c3d)')
    .addOption(new Option('--sort <metric>', 'cpu (busy %), memory (used %, as free counts it) or disk (the fullest filesystem, as df counts it)').choices(['cpu', 'memory', 'disk']).default('cpu'))
    .option('-n, --limit <n>', 'how many', positive, 10)
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Hosts that sent no sample in the last 15 minutes are left out. The values are the headline
metrics the server derives from what agents send (see README "Metrics and logs").

Examples:
  eim top hosts
  eim top hosts --sort disk --filter 'labels.line = "3"' -n 20`,
    )
    .action((what: string, o: { filter?: string; sort: string; limit: number; output: string }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        if (what !== 'hosts') throw new InvalidArgumentError(`eim top shows hosts (got "${what}")`);
        const inv = await ctx.client();
        const answer = await inv.transport.json<{ items: Record<string, string | number | undefined>[] }>({
          method: 'GET',
          path: `/v1/projects/${encodeURIComponent(ctx.project)}/hosts:top`,
          query: { sort: o.sort, limit: o.limit, ...(o.filter ? { filter: o.filter } : {}) },
          idempotent: true,
        });
        if (o.output === 'json') return ctx.out.line(jsonForTerminal(JSON.stringify(answer)));
        const { renderTable } = await import('../output/table.ts');
        const pct = (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} %` : '-');
        const rows = answer.items.map((h) => [String(h.name), pct(h.cpu_used_percent), pct(h.memory_used_percent), pct(h.disk_used_percent), String(h.lastSampleAt ?? '-')]);
        if (rows.length === 0) return ctx.out.line('no host sent a sample in the last 15 minutes (is a telemetry profile applied? eim describe host NAME)');
        for (const line of renderTable(['NAME', 'CPU', 'MEMORY', 'DISK', 'LAST SAMPLE'], rows, ctx.out).lines) ctx.out.line(line);
      }),
    );
}

/** `eim logs host NAME`: a host's log lines, newest last; --follow keeps printing. */
export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("a host's log lines as its agent collected them")
    .argument('<kind>', 'host')
    .argument('<name>', 'the host, by name or id')
    .addOption(new Option('--level <level>', 'this level and more severe ones').choices(['error', 'warn', 'info', 'debug']))
    .option('--since <when>', 'RFC 3339 time or a duration before now (15m, 2h)', '1h')
    .option('--grep <text>', 'only lines containing this text (literal, case-sensitive)')
    .option('-n, --limit <n>', 'at most this many lines (the newest)', positive, 100)
    .option('-f, --follow', 'keep printing lines as they are stored, also late ones with older times (asks every 2 s; Ctrl-C ends)')
    .addOption(new Option('-o, --output <format>', 'line or json').choices(['line', 'json']).default('line'))
    .addHelpText(
      'after',
      `
Examples:
  eim logs host edge-01 --level warn
  eim logs host edge-01 --since 15m --grep 'I/O error' --follow`,
    )
    .action((kind: string, name: string, o: { level?: string; since: string; grep?: string; limit: number; follow?: boolean; output: string }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        if (kind !== 'host' && kind !== 'hosts') throw new InvalidArgumentError(`eim logs shows a host's logs (got "${kind}")`);
        const inv = await ctx.client();
        const { findResource } = await import('../resource-lookup.ts');
        const { kindByName } = await import('../../api/index.ts');
        const host = await findResource(inv, ctx.project, kindByName('Host')!, name);
        type Line = { id: string; t: string; level: string; body: string; attributes?: Record<string, string> };
        const page = (q: { since?: string; afterId?: string; limit: number }) =>
          inv.transport.json<{ items: Line[]; cursor?: string }>({
            method: 'GET',
            path: `/v1/projects/${encodeURIComponent(ctx.project)}/hosts/${host.id}/logs`,
            query: { ...q, ...(o.level ? { level: o.level } : {}), ...(o.grep ? { q: o.grep } : {}) },
            idempotent: true,
          });
        const print = (l: Line) => {
          if (o.output === 'json') return ctx.out.line(jsonForTerminal(JSON.stringify(l)));
          const unit = l.attributes?.unit ?? l.attributes?.identifier;
          // An agent's log line may carry a program's colours or worse: shown, never obeyed.
          ctx.out.line(printable(`${l.t} ${l.level.toUpperCase().padEnd(5)} ${unit ? `${unit}: ` : ''}${l.body}`));
        };
        // Following goes by the order lines were stored, not by their time: a line an agent's buffer
        // delivers late carries an older time than the lines already printed. The cursor is taken
        // before the first page, so a line stored meanwhile is not missed (it may be in both: printed once).
        let cursor = o.follow ? (await page({ afterId: 'end', limit: 1 })).cursor : undefined;
        const first = (await page({ since: o.since, limit: o.limit })).items.reverse();
        first.forEach(print);
        if (!o.follow) return;
        if (cursor === undefined) throw new Error('this server gives no log cursor (afterId): upgrade it to follow logs');
        let printed = new Set(first.map((l) => l.id));
        for (;;) {
          await new Promise((r) => setTimeout(r, 2000));
          for (;;) {
            const fresh = await page({ afterId: cursor, limit: 1000 });
            for (const l of fresh.items) if (!printed.has(l.id)) print(l);
            cursor = fresh.cursor ?? cursor;
            if (fresh.items.length < 1000) break;
          }
          printed = new Set(); // the cursor is past every line of the first page now
        }
      }),
    );
}
