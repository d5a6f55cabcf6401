import { CONTROL_CHARS, CONTROL_RE, escapeControl } from '../../api/printable.ts';
import type { Terminal } from './terminal.ts';

/** The `-o` formats of commands that print resources. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What YAML may hold raw and a terminal shows as it is: the block scalars' newlines, tabs. */
const CONTROL_BUT_LAYOUT = new RegExp(`(?![\\n\\t])[${CONTROL_CHARS}]`);
const CONTROL_BUT_LAYOUT_ALL = new RegExp(CONTROL_BUT_LAYOUT.source, 'g');

/**
 * JSON text with each control character a terminal would act on as a `\uXXXX` escape: JSON.stringify
 * escapes C0 but leaves DEL, C1, bidi controls and the line separators raw. They occur only inside
 * strings, so a parser reads the same value; the newlines of indentation stay.
 * @example jsonForTerminal(JSON.stringify({ m: 'a\u202eb' })) // '{"m":"a\\u202eb"}'
 */
export function jsonForTerminal(json: string): string {
  return json.replace(CONTROL_RE, (c) => (c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * A value as YAML a terminal shows as it is: each string holding a control character (other than
 * a newline or tab) is double-quoted, the one style with escapes, and the characters the yaml
 * library leaves raw there (DEL, C1, bidi controls, separators) are escaped (`\x9b`, `\u202e`).
 * A YAML parser reads the same value.
 * @example await yamlForTerminal({ m: 'a\u202eb' }) // 'm: "a\\u202eb"\n'
 */
export async function yamlForTerminal(value: unknown): Promise<string> {
  const { Document, visit } = await import('yaml');
  const doc = new Document(value);
  visit(doc, {
    Scalar: (_key, node) => {
      // A leading byte order mark opening the document would be dropped by a parser: quoted, it is kept.
      if (typeof node.value === 'string' && (CONTROL_BUT_LAYOUT.test(node.value) || node.value.startsWith('\ufeff'))) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 }).replace(CONTROL_BUT_LAYOUT_ALL, escapeControl);
}

/**
 * Prints a value as indented JSON or as YAML (`yaml` is loaded only when asked for), either with
 * no raw control character for the terminal to act on (see jsonForTerminal, yamlForTerminal).
 * @example await printStructured(out, { items }, 'yaml')
 */
export async function printStructured(out: Terminal, value: unknown, format: 'json' | 'yaml'): Promise<void> {
  if (format === 'json') return out.line(jsonForTerminal(JSON.stringify(value, null, 2)));
  out.write(await yamlForTerminal(value));
}
