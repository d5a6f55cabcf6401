import type { InventoryEvent } from '../../api/index.ts';
import type { Style, Terminal } from './terminal.ts';

const TYPE_STYLE: Record<string, Style> = { CREATED: 'green', UPDATED: 'yellow', DELETED: 'red' };

/**
 * One line per event: `REV TYPE KIND NAME (ID) by ACTOR`; `kindLabel` names the kind.
 * @example eventLine(out, ev, 'host') // '1042 UPDATED host edge-01 (host-0a1b2c3d) by admin (admin)'
 */
export function eventLine(out: Terminal, ev: InventoryEvent, kindLabel: string): string {
  return `${ev.revision} ${out.paint(TYPE_STYLE[ev.type], ev.type)} ${kindLabel} ${ev.object?.name ?? '?'} (${ev.id}) by ${ev.actor}`;
}
