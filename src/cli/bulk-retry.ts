import type { Resource } from '../api/index.ts';
import { printable } from '../api/printable.ts';
import type { CliContext } from './cli-context.ts';
import { confirm } from './confirm.ts';
import { printBulkSummary } from './output/bulk-summary.ts';
import { plural } from './output/plural.ts';
import { ProgressBar } from './output/progress-bar.ts';
import { parkedError, RETRY_LABEL, requestRetry } from './retry.ts';
import { runBounded } from './run-bounded.ts';

const CONCURRENCY = 8;

/**
 * `eim instance retry` and `eim host retry` after selecting: keeps the selected resources a
 * manager parked after an unrecoverable failure, lists them with their error, asks (unless
 * `--yes`; never without a terminal), then sets RETRY_LABEL on each, 8 at a time.
 * @example await bulkRetry(ctx, 'Instance', 'instance', selected, { dryRun: true, bySelector: true })
 */
export async function bulkRetry(ctx: CliContext, kind: 'Instance' | 'Host', noun: string, selected: readonly Resource[], o: { dryRun?: boolean; yes?: boolean; bySelector: boolean }): Promise<void> {
  const label = (r: Resource) => `${noun}/${r.name} (${r.id})`;
  const parked = selected.filter((r) => parkedError(r));
  for (const r of selected) if (!parkedError(r) && !o.bySelector) ctx.out.line(`${label(r)}: not in an unrecoverable error: nothing to retry`);
  if (parked.length === 0) return ctx.out.line(`no selected ${noun} is in an unrecoverable error in project ${ctx.project}: nothing to retry`);
  for (const r of parked) {
    const e = parkedError(r)!;
    ctx.out.line(`${o.dryRun ? 'would retry' : 'to retry'}: ${printable(`${label(r)}: ${e.field}: ${e.message}`)}`);
  }
  if (o.dryRun) return ctx.out.line(`${plural(parked.length, noun)} would be retried (dry run: nothing was written)`);
  if (o.bySelector && !(await confirm(`retry ${plural(parked.length, noun)} in project ${ctx.project}?`, o.yes))) {
    ctx.err.line('aborted: nothing was changed');
    process.exitCode = 1;
    return;
  }
  const inv = await ctx.client();
  const bar = new ProgressBar(ctx.err, parked.length, 20);
  const outcome = await runBounded(parked, CONCURRENCY, (r) => requestRetry(inv, ctx.project, kind, r), () => bar.tick());
  bar.done();
  if (!printBulkSummary(ctx.out, ctx.err, outcome, label, 'retried')) process.exitCode = 1;
  if (outcome.changed.length > 0) ctx.out.line(`their managers try again now (label ${RETRY_LABEL} set); follow with: eim watch ${kind === 'Host' ? 'hosts' : 'instances'}`);
}
