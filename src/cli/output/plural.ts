/**
 * A count with its noun in the right number: `1 host`, `2 hosts`, `0 hosts`. `many` for nouns
 * that do not just take an s (`1 policy`, `2 policies`).
 * @example plural(1, 'host') // '1 host'
 */
export function plural(n: number, noun: string, many?: string): string {
  return `${n} ${n === 1 ? noun : (many ?? (/(s|x|ch|sh)$/.test(noun) ? `${noun}es` : /[^aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`))}`;
}
