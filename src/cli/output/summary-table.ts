import { HOST_CATEGORIES, HOST_CATEGORY_LABELS, type HostSummary } from '../../api/index.ts';
import { renderTable } from './table.ts';
import type { Terminal } from './terminal.ts';

/**
 * The fleet summary as a table: one row per group (or one for the whole fleet), a column per
 * category, then the total; with groups, a TOTAL row last.
 * @example printSummaryTable(ctx.out, await inv.summarizeHosts('default', { groupBy: 'site' }))
 */
export function printSummaryTable(out: Terminal, s: HostSummary): void {
  const counts = (c: HostSummary['counts'], total: number) => [...HOST_CATEGORIES.map((k) => String(c[k])), String(total)];
  const head = s.groupBy ? [s.groupBy.toUpperCase()] : [];
  const headers = [...head, ...HOST_CATEGORIES.map((k) => HOST_CATEGORY_LABELS[k].toUpperCase()), 'TOTAL'];
  const rows = (s.groups ?? []).map((g) => [g.key === null ? '(none)' : g.name ? `${g.name} (${g.key})` : g.key, ...counts(g.counts, g.total)]);
  rows.push([...(s.groupBy ? ['TOTAL'] : []), ...counts(s.counts, s.total)]);
  for (const line of renderTable(headers, rows, out, { keep: [0] }).lines) out.line(line);
  if (s.truncated) out.line(`(more groups than shown: the largest are listed; narrow with --filter)`);
}
