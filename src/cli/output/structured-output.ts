import type { Terminal } from './terminal.ts';

/** The `-o` formats of commands that print resources. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * Prints a value as indented JSON or as YAML (`yaml` is loaded only when asked for).
 * @example await printStructured(out, { items }, 'yaml')
 */
export async function printStructured(out: Terminal, value: unknown, format: 'json' | 'yaml'): Promise<void> {
  if (format === 'json') return out.line(JSON.stringify(value, null, 2));
  const { stringify } = await import('yaml');
  out.write(stringify(value, { lineWidth: 0 }));
}
