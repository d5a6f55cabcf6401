import { printable } from '../../api/printable.ts';
import type { Style, Terminal } from './terminal.ts';

/** A table cell: text, optionally styled (the style never counts towards the width). */
export type Cell = string | { text: string; style?: Style };

const GAP = '   ';
const MIN_WIDTH = 4;
/** How narrow a long column gets before the others start giving way too. */
const LONG_FLOOR = 24;

export const cellText = (c: Cell): string => (typeof c === 'string' ? c : c.text);

export interface TableOptions {
  /** Print the header row. @default true */
  header?: boolean;
  /** Make columns at least this wide: rows printed later (watch) line up with an earlier table. */
  minWidths?: readonly number[];
  /** Columns truncated only when the others cannot give way any more (names, ids). */
  keep?: readonly number[];
  /** Columns of long free text (status messages): they give way first, down to LONG_FLOOR characters. */
  long?: readonly number[];
}

/**
 * Aligned columns that fit `out.width`: the widest columns give way first and truncated cells end
 * in `…`. Control characters in cells show as escapes (printable), measured as they show, so
 * columns line up whatever the data holds. Returns the lines and the widths used.
 * @example renderTable(['NAME', 'ID'], [['edge-01', 'host-0a1b2c3d']], out).lines.forEach((l) => out.line(l))
 */
export function renderTable(headers: string[], rows: Cell[][], out: Pick<Terminal, 'width' | 'paint'>, o: TableOptions = {}): { lines: string[]; widths: number[] } {
  const shown = rows.map((r) => r.map((c): Cell => (typeof c === 'string' ? printable(c) : { ...c, text: printable(c.text) })));
  const natural = headers.map((h, i) => Math.max(h.length, o.minWidths?.[i] ?? 0, ...shown.map((r) => cellText(r[i] ?? '').length)));
  const { widths: w, gap } = fit(natural, out.width, new Set(o.keep), new Set(o.long));
  const render = (cells: Cell[], headerRow: boolean) =>
    cells
      .map((c, i) => {
        const text = truncate(cellText(c), w[i]);
        const padded = i === cells.length - 1 ? text : text.padEnd(w[i]);
        const style = headerRow ? 'bold' : typeof c === 'string' ? undefined : c.style;
        // Style only the text, not the padding, so colour codes never shift columns.
        return style ? out.paint(style, text) + padded.slice(text.length) : padded;
      })
      .join(gap)
      .trimEnd();
  const lines = o.header === false ? [] : [render(headers, true)];
  for (const r of shown) lines.push(render(r, false));
  return { lines, widths: w };
}

/**
 * Narrows the gap, then shrinks the widest columns one character at a time until the row fits
 * `width`: the `long` ones first (down to LONG_FLOOR), then all but the `keep` ones, then those.
 */
function fit(natural: number[], width: number | undefined, keep: ReadonlySet<number>, long: ReadonlySet<number> = new Set()): { widths: number[]; gap: string } {
  const w = [...natural];
  const total = (gap: number) => w.reduce((a, b) => a + b, 0) + gap * (w.length - 1);
  if (width === undefined || total(GAP.length) <= width) return { widths: w, gap: GAP };
  const gap = GAP.slice(1);
  const passes: ((i: number) => boolean)[] = [(i) => long.has(i) && w[i] > LONG_FLOOR, (i) => !keep.has(i), () => true];
  for (const may of passes) {
    while (total(gap.length) > width) {
      let widest = -1;
      for (let i = 0; i < w.length; i++) if (may(i) && w[i] > MIN_WIDTH && (widest < 0 || w[i] > w[widest])) widest = i;
      if (widest < 0) break;
      w[widest]--;
    }
  }
  return { widths: w, gap };
}

/** `text` cut to `width` characters, the last one an ellipsis when anything was cut. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : width <= 1 ? '…'.slice(0, width) : `${text.slice(0, width - 1)}…`;
}
