import { EimError } from '../../api/index.ts';
import type { NodeConfigItemResult } from '../../api/node-config.ts';

/**
 * Bytes of an agent's node-config report (`status.nodeConfig.items`) kept on its Host. The schema
 * lets a report reach megabytes (128 items, each up to 32 `wouldRun` lines of 1,024 characters),
 * while a Host holds 256 KiB in all: a report that filled it would leave no room for the managers'
 * and users' writes to that host (each refused 413 until the agent sent a smaller one).
 */
export const NODE_CONFIG_REPORT_MAX_BYTES = 32 * 1024;

const SHORT_LINE = 160;
const SHORT_LIST = 4;
const SHORT_MESSAGE = 256;

const bytesOf = (items: readonly NodeConfigItemResult[]) => Buffer.byteLength(JSON.stringify(items));
/** `s` in at most `n` UTF-16 units, the last an ellipsis when cut; never half a surrogate pair (a lone one is refused on the way to the store). */
const cut = (s: string, n: number) => {
  if (s.length <= n) return s;
  const end = /[\uD800-\uDBFF]/.test(s[n - 2]!) ? n - 2 : n - 1;
  return `${s.slice(0, end)}…`;
};

/**
 * The items to store: as reported when they fit in `maxBytes` (as JSON); else with each `wouldRun`
 * cut to its first lines (and a last one saying how many more) and each line and message shortened.
 * Still too large (too many items): payload_too_large (413).
 * @example boundReportedItems(report.items) // the items, or shortened ones
 */
export function boundReportedItems(items: readonly NodeConfigItemResult[], maxBytes = NODE_CONFIG_REPORT_MAX_BYTES): NodeConfigItemResult[] {
  if (bytesOf(items) <= maxBytes) return [...items];
  const short = items.map((i) => ({
    ...i,
    ...(i.message !== undefined ? { message: cut(i.message, SHORT_MESSAGE) } : {}),
    ...(i.wouldRun !== undefined
      ? { wouldRun: [...i.wouldRun.slice(0, SHORT_LIST).map((l) => cut(l, SHORT_LINE)), ...(i.wouldRun.length > SHORT_LIST ? [`… ${i.wouldRun.length - SHORT_LIST} more`] : [])] }
      : {}),
  }));
  const bytes = bytesOf(short);
  if (bytes > maxBytes) {
    throw new EimError('payload_too_large', `the node-config report takes ${bytes} bytes with its wouldRun lines and messages shortened; at most ${maxBytes} are kept on a host (report fewer items)`);
  }
  return short;
}
