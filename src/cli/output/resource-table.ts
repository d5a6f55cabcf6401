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
  /** Names of referenced resources (a site's region, an instance's host); ids are shown without. */
  nameOf?: (id: string) => string | undefined;
  /** LocalAccount / CustomConfig with -o wide: how many hosts each reached (nodeConfigReach). */
  reach?: (id: string) => { hosts: number; applied: number; failed: number } | undefined;
}

/**
 * The ids the table's reference columns will show, so their names can be loaded first (one list
 * per kind, see ReferenceNames).
 * @example await names.load(referencedIds(hostDef, page.items, { wide: false, allProjects: false }))
 */
export function referencedIds(def: KindDef, items: readonly Resource[], o: { wide: boolean; allProjects: boolean }): Set<string> {
  const ids = new Set<string>();
  for (const c of columnsFor(def, o)) if (c.refs) for (const r of items) for (const id of c.refs(r)) ids.add(id);
  return ids;
}

/**
 * Prints resources of one kind as a table; returns the column widths so later rows (watch) line
 * up. A table is fitted to the terminal (long status messages give way first); `-o wide` prints
 * every cell in full.
 * @example printResourceTable(out, hostDef, page.items, { wide: false, allProjects: false })
 */
export function printResourceTable(out: Terminal, def: KindDef, items: readonly Resource[], o: ResourceTableOptions): number[] {
  const ctx = { now: Date.now(), nameOf: o.nameOf, wide: o.wide, reach: o.reach };
  const cols = columnsFor(def, o);
  const lead = o.lead ? 1 : 0;
  const headers = [...(o.lead ? [o.lead.header] : []), ...cols.map((c) => c.header)];
  const rows = items.map((r, i) => [...(o.lead ? [o.lead.values[i]] : []), ...cols.map((c) => c.value(r, ctx))]);
  const keep = ['NAME', 'ID'].map((h) => headers.indexOf(h));
  const long = cols.flatMap((c, i) => (c.long ? [i + lead] : []));
  const minWidths = o.after ?? (o.lead?.width ? [o.lead.width] : undefined);
  const fitTo = o.wide ? { width: undefined, paint: out.paint } : out;
  const { lines, widths } = renderTable(headers, rows, fitTo, { keep, long, header: !o.after, minWidths });
  for (const l of lines) out.line(l);
  return widths;
}
