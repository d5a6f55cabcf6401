import type { KindDef, Resource } from '../../api/index.ts';
import { columnsFor } from './kind-columns.ts';
import { type Cell, renderTable } from './table.ts';
import type { Terminal } from './terminal.ts';

export interface ResourceTableOptions {
  wide: boolean;
  allProjects: boolean;
  /** A first column (watch: the event type), one value per row, at least `width` wide. */
  lead?: { header: string; values: Cell[]; width?: number };
  /** Line up under an earlier table (its widths) and print no header. */
  after?: readonly number[];
}

/**
 * Prints resources of one kind as a table fitted to the terminal; returns the column widths
 * so later rows (watch) line up.
 * @example printResourceTable(out, hostDef, page.items, { wide: false, allProjects: false })
 */
export function printResourceTable(out: Terminal, def: KindDef, items: readonly Resource[], o: ResourceTableOptions): number[] {
  const now = Date.now();
  const cols = columnsFor(def, o);
  const headers = [...(o.lead ? [o.lead.header] : []), ...cols.map((c) => c.header)];
  const rows = items.map((r, i) => [...(o.lead ? [o.lead.values[i]] : []), ...cols.map((c) => c.value(r, now))]);
  const keep = ['NAME', 'ID'].map((h) => headers.indexOf(h));
  const minWidths = o.after ?? (o.lead?.width ? [o.lead.width] : undefined);
  const { lines, widths } = renderTable(headers, rows, out, { keep, header: !o.after, minWidths });
  for (const l of lines) out.line(l);
  return widths;
}
