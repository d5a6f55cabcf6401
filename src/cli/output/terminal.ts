// printable.ts itself, not api/index.ts: every command loads this file, and the schemas are not needed for `eim --help`.
import { CONTROL_CHARS, escapeControl, printable } from '../../api/printable.ts';

/** ANSI styles the CLI uses. */
export type Style = 'red' | 'green' | 'yellow' | 'blue' | 'cyan' | 'dim' | 'bold';

const SGR: Record<Style, [number, number]> = {
  red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22],
};

/** What a write looks at: paint's own SGR codes, and every control character (the layout's newlines and tabs among them). */
const GUARDED = new RegExp(`\\x1b\\[(?:${[...new Set(Object.values(SGR).flat())].join('|')})m|[${CONTROL_CHARS}]`, 'g');

/**
 * Text as it may reach a terminal: the layout's newlines and tabs, and paint's colour codes when
 * colouring, stay; every other control character shows as its escape (see printable). The last
 * line of defence: views make data printable before they lay it out, so this changes nothing unless
 * one missed a string (a newline in data it cannot tell from the layout's).
 * @example terminalText('ok\x1b]0;pwned\x07\n', false) // 'ok\\x1b]0;pwned\\x07\n'
 */
export function terminalText(text: string, colour: boolean): string {
  return text.replace(GUARDED, (m) => (m === '\n' || m === '\t' || (colour && m.length > 1) ? m : m.length > 1 ? printable(m) : escapeControl(m)));
}

/** One output stream and what it can show. */
export interface Terminal {
  readonly isTTY: boolean;
  /** Colour only on a TTY, and never with NO_COLOR set. */
  readonly colour: boolean;
  /** Columns to fit into: the TTY's width, else `$COLUMNS`, else unbounded. */
  readonly width?: number;
  /** Writes `text`: control characters other than newline and tab (and paint's colours) show escaped. */
  write(text: string): void;
  /** Writes `text` and a newline. */
  line(text?: string): void;
  /** Returns to the start of the line and writes `text` over it (a progress bar). */
  rewrite(text: string): void;
  paint(style: Style | undefined, text: string): string;
}

/**
 * The Terminal of a stream (stdout, stderr) under an environment.
 * @example const out = terminalOf(process.stdout); out.line(out.paint('green', 'ok'))
 */
export function terminalOf(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Terminal {
  const isTTY = stream.isTTY === true;
  const colour = isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  const fromEnv = Number(env.COLUMNS);
  const width = isTTY && stream.columns ? stream.columns : Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
  return {
    isTTY,
    colour,
    width,
    write: (text) => void stream.write(terminalText(text, colour)),
    line: (text = '') => void stream.write(`${terminalText(text, colour)}\n`),
    rewrite: (text) => void stream.write(`\r${terminalText(text, colour)}`),
    paint: (style, text) => (colour && style && text ? `\x1b[${SGR[style][0]}m${text}\x1b[${SGR[style][1]}m` : text),
  };
}
