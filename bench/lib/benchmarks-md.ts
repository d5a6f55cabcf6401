import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces one `## ` section of a Markdown file (from its heading to the next `## ` heading),
 * appending it when absent and creating the file when missing. Other sections are left alone.
 * @example writeSection('BENCHMARKS.md', 'Inventory (issue 2)', body)
 */
export function writeSection(file: string, heading: string, body: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nWritten by the programs in bench/; each section says which command produced it.\n';
  const lines = old.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  const section = `## ${heading}\n\n${body.trimEnd()}\n`;
  if (start < 0) {
    writeFileSync(file, `${old.trimEnd()}\n\n${section}`);
    return;
  }
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n').trimEnd();
  const after = lines.slice(end).join('\n').trim();
  writeFileSync(file, `${before}\n\n${section}${after ? `\n${after}\n` : ''}`);
}
