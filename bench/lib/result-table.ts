import { fmt, fmtRatio, type ResultRow, verdict } from './result-row.ts';

const HEADERS = ['metric', 'dialect', 'value', 'baseline', 'target', 'result', 'notes'];

function cells(r: ResultRow): string[] {
  const baseline = r.baseline ? `${fmt(r.baseline.value)} ${r.unit} ${r.baseline.label} (${fmtRatio(r.value / r.baseline.value)})` : '—';
  const target = r.target ? `${r.target.op === '>=' ? '≥' : '≤'} ${fmt(r.target.value)} ${r.unit}${r.target.label ? ` (${r.target.label})` : ''}` : '—';
  return [r.metric, r.dialect, `${fmt(r.value)} ${r.unit}`, baseline, target, verdict(r), r.notes ?? ''];
}

/**
 * The results as a fixed-width text table for the terminal.
 * @example process.stdout.write(textTable(rows))
 */
export function textTable(rows: ResultRow[]): string {
  const all = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => [...r[i]].length)));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join('  ').trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n') + '\n';
}

/** The results as a Markdown table. */
export function markdownTable(rows: ResultRow[]): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`)].join('\n') + '\n';
}
