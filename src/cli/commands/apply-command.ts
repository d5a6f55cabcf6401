import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { printable } from '../../api/printable.ts';
import { CliContext } from '../cli-context.ts';
import { collect } from '../set-values.ts';
import { plural } from '../output/plural.ts';
import { UsageError } from '../usage-error.ts';

/** `eim apply -f FILE|-`: make the inventory hold what YAML/JSON files say, idempotently by name. */
export function registerApplyCommand(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from YAML or JSON, idempotently by name: prints created, configured or unchanged for each')
    .requiredOption('-f, --filename <file>', 'a YAML or JSON file, or - for stdin (repeatable)', collect)
    .addHelpText(
      'after',
      `
Each document (separate them with ---) is one resource, a list of them, or { items: [...] }:
  kind: site                 # REST path, singular or kind name
  name: berlin-1             # resources are matched by name, per kind and project
  project: default           # optional: the --project otherwise
  labels: { tier: edge }
  spec:
    regionId: name:eu        # a reference may name its target: name:<name> or { name: <name> }

Documents are applied in file order, so a reference may name a resource defined above it.
A resource that exists is patched (If-Match of the revision read) only where its spec or labels
differ from the document; fields the document leaves out are kept, null removes one.

Examples:
  eim apply -f fleet.yaml
  eim get sites -o yaml | eim apply -f -
  cat <<'YAML' | eim apply -f -
  kind: region
  name: eu
  spec: {}
  ---
  kind: site
  name: berlin-1
  spec: { regionId: name:eu }
  ---
  kind: host
  name: edge-01
  labels: { line: "3" }
  spec: { siteId: name:berlin-1, serialNumber: "SN0001" }
  YAML`,
    )
    .action((o: { filename: string[] }, cmd: Command) =>
      CliContext.run(cmd, async (ctx) => {
        const { parseManifests } = await import('../manifest.ts');
        const manifests = o.filename.flatMap((f) => parseManifests(read(f), f === '-' ? '<stdin>' : f));
        if (manifests.length === 0) throw new UsageError(`no resources in ${o.filename.join(', ')}`);
        const { Applier } = await import('../applier.ts');
        const applier = new Applier(await ctx.client(), ctx.project);
        for (const m of manifests) applier.check(m);
        let failed = 0;
        for (const m of manifests) {
          try {
            ctx.out.line(`${applier.label(m)} ${await applier.apply(m)}`);
          } catch (e) {
            failed++;
            const err = e as { message?: string; code?: string };
            ctx.err.line(`error: ${printable(`${applier.label(m)} (${m.source}): ${err.message}${err.code ? ` (${err.code})` : ''}`)}`);
          }
        }
        if (failed > 0) {
          ctx.err.line(`${failed} of ${plural(manifests.length, 'resource')} failed`);
          process.exitCode = 1;
        }
      }),
    );
}

function read(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
