import { printable } from '../../api/printable.ts';
import type { BulkOutcome } from '../run-bounded.ts';
import type { Terminal } from './terminal.ts';

/**
 * `N changed, M unchanged, K failed`, then one line per failure with the server's message and
 * code. Returns true when nothing failed.
 * @example printBulkSummary(ctx.out, ctx.err, outcome, (h) => `host/${h.name} (${h.id})`)
 */
export function printBulkSummary<T>(out: Terminal, err: Terminal, o: BulkOutcome<T>, label: (item: T) => string, verb = 'changed'): boolean {
  const failed = o.failed.length;
  const parts = [`${o.changed.length} ${verb}`, `${o.unchanged.length} unchanged`, `${failed} failed`];
  out.line(failed ? parts.map((p, i) => (i === 2 ? out.paint('red', p) : p)).join(', ') : parts.join(', '));
  for (const f of o.failed) {
    const e = f.error as { message?: string; code?: string };
    err.line(`  ${printable(`${label(f.item)}: ${e.message ?? String(f.error)}${e.code ? ` (${e.code})` : ''}`)}`);
  }
  return failed === 0;
}
