/**
 * The characters a terminal acts on instead of showing, or that reorder what it shows (a regular
 * expression character class): C0 controls (newline and tab too), DEL, C1 controls (U+0080–U+009F,
 * an 8-bit CSI among them), the bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069) and the line and paragraph separators.
 */
export const CONTROL_CHARS = '\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

/** Every control character of CONTROL_CHARS (global: for replace). */
export const CONTROL_RE = new RegExp(`[${CONTROL_CHARS}]`, 'g');
const SHORT: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * One control character as a programmer writes it in a string: `\n`, `\t`, `\r`, else `\xHH` up
 * to U+00FF and `\uHHHH` above (the same escapes in YAML's double-quoted strings).
 * @example escapeControl('\x1b') // '\\x1b'
 */
export function escapeControl(c: string): string {
  const code = c.charCodeAt(0);
  return SHORT[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `text` safe to show on a terminal: each control character (CONTROL_CHARS) as its escape (see
 * escapeControl), so an escape sequence in data (a window title, a screen clear, a hyperlink, a
 * clipboard write, a cursor move) or a bidi override is seen, not obeyed. Text without one comes
 * back as it is; a backslash stays a backslash, so the result is for reading (JSON gives the exact
 * string) and printable(printable(s)) === printable(s).
 * @example printable('edge\x1b]0;pwned\x07') // 'edge\\x1b]0;pwned\\x07'
 */
export function printable(text: string): string {
  return text.replace(CONTROL_RE, escapeControl);
}
