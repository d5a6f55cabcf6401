/** ANSI styles the CLI uses. */
export type Style = 'red' | 'green' | 'yellow' | 'blue' | 'cyan' | 'dim' | 'bold';

const SGR: Record<Style, [number, number]> = {
  red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22],
};

/** One output stream and what it can show. */
export interface Terminal {
  readonly isTTY: boolean;
  /** Colour only on a TTY, and never with NO_COLOR set. */
  readonly colour: boolean;
  /** Columns to fit into: the TTY's width, else `$COLUMNS`, else unbounded. */
  readonly width?: number;
  write(text: string): void;
  /** Writes `text` and a newline. */
  line(text?: string): void;
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
    write: (text) => void stream.write(text),
    line: (text = '') => void stream.write(`${text}\n`),
    paint: (style, text) => (colour && style && text ? `\x1b[${SGR[style][0]}m${text}\x1b[${SGR[style][1]}m` : text),
  };
}
